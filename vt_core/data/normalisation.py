"""Which mean / std / crop a run normalises with, decided once, when its config is resolved.

- probes: ``PROBE_STATS`` ([0, 1] → [-1, 1]; see vt_core.data.transforms for why not their pixel
  statistics);
- CIFAR (``cifar10``/``cifar100``, ``torch/cifar10``/``torch/cifar100``): their pixel statistics;
- image files without known statistics (``imagefolder``, any other timm spec): the model's own data
  config, resolved as timm's scripts resolve it (``timm.data.resolve_data_config``) from the
  pretrained config of the ``vt_<model.name>`` timm model (or, with ``train.init_from=timm:<tag>``,
  of those weights). So ``vt_core.train`` and timm's ``train.py`` given the same ``vt_`` model
  normalise an ImageFolder identically.

``data.mean`` / ``data.std`` given always win. For image files the resolved values are written into
the config (``data.mean``, ``data.std``, ``data.crop_pct``): config.yaml says what the run used, and
a run trained under the old ImageNet default keeps its own run id instead of being mistaken for one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import DataConfig, RunConfig
from .catalog import PROBE_NUM_CLASSES

if TYPE_CHECKING:
    from .transforms import Stats

_CIFAR = {"cifar10": "CIFAR10_STATS", "cifar100": "CIFAR100_STATS", "torch/cifar10": "CIFAR10_STATS",
          "torch/cifar100": "CIFAR100_STATS"}  # dataset → its statistics in vt_core.data.transforms


def has_known_stats(name: str) -> bool:
    """Whether the dataset brings documented statistics (probes, CIFAR): torch-free, for planning."""
    return name in PROBE_NUM_CLASSES or name.lower() in _CIFAR


def known_stats(name: str) -> "Stats | None":
    """The documented statistics of a dataset (probes, CIFAR), or None where the model decides."""
    from . import transforms

    if name in PROBE_NUM_CLASSES:
        return transforms.PROBE_STATS
    key = _CIFAR.get(name.lower())
    return getattr(transforms, key) if key else None


def model_data_config(cfg: RunConfig) -> dict[str, Any]:
    """timm's ``resolve_data_config`` for this run's model: the pretrained config of the timm weights
    in ``train.init_from`` (``timm:<arch>.<tag>``), else of ``vt_<model.name>`` (the config
    ``timm.create_model`` gives the model), else timm's defaults (a model without one)."""
    from timm.data import resolve_data_config
    from timm.models import get_pretrained_cfg

    from .. import timm_models

    spec = cfg.train.init_from
    name = spec[len("timm:"):] if spec.startswith("timm:") else timm_models.PREFIX + cfg.model.name
    pretrained = get_pretrained_cfg(name)
    m = cfg.model
    args = {"input_size": (m.in_chans, m.img_size, m.img_size)}
    # pretrained_cfg={} would fail timm's "at least one of" check; the input size alone gives its defaults
    return resolve_data_config(args, pretrained_cfg=pretrained.to_dict() if pretrained else None)


def resolve_normalisation(cfg: RunConfig) -> RunConfig:
    """``cfg`` with ``data.mean`` / ``data.std`` / ``data.crop_pct`` filled from the model's data
    config where the dataset has no known statistics and they are not given (idempotent)."""
    d = cfg.data
    if has_known_stats(d.name) or (d.mean and d.crop_pct):
        return cfg
    dc = model_data_config(cfg)
    over: dict[str, Any] = {}
    if not d.mean:
        over.update({"data.mean": list(dc["mean"]), "data.std": list(dc["std"])})
    if not d.crop_pct:
        over["data.crop_pct"] = float(dc["crop_pct"])
    return cfg.replace(over)


def used_stats(data: DataConfig) -> "Stats":
    """The statistics ``data`` normalises with, 3 channels (after ``resolve_normalisation``)."""
    if data.mean:
        mean, std = tuple(data.mean), tuple(data.std)
        return (mean * 3, std * 3) if len(mean) == 1 else (mean, std)
    known = known_stats(data.name)
    if known is None:  # an unresolved image-file config: what timm's defaults give
        from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

        return tuple(IMAGENET_DEFAULT_MEAN), tuple(IMAGENET_DEFAULT_STD)
    return known


def describe(cfg: RunConfig) -> dict[str, Any]:
    """What the run's images go through, for result.json, the log and ``--dry-run``: mean / std per
    input channel, the evaluation crop and interpolation (image files only), and where they come from."""
    from .transforms import channel_stats

    d = cfg.data
    mean, std = channel_stats(used_stats(d), cfg.model.in_chans)
    out: dict[str, Any] = {"mean": [round(v, 6) for v in mean], "std": [round(v, 6) for v in std],
                           "source": _source(cfg)}
    if d.name not in PROBE_NUM_CLASSES:  # image files (CIFAR: arrays) go through timm's transforms
        out.update(crop_pct=d.crop_pct or 1.0, interpolation=d.interpolation)
    return out


def _source(cfg: RunConfig) -> str:
    from timm.models import get_pretrained_cfg

    from .. import timm_models

    d, known = cfg.data, known_stats(cfg.data.name)
    if known is not None:
        return "data.mean/std" if d.mean else f"{d.name}'s documented statistics"
    dc = model_data_config(cfg)
    if d.mean and (tuple(d.mean), tuple(d.std)) != (tuple(dc["mean"]), tuple(dc["std"])):
        return "data.mean/std"
    spec = cfg.train.init_from
    whose = spec if spec.startswith("timm:") else timm_models.PREFIX + cfg.model.name
    if get_pretrained_cfg(whose.removeprefix("timm:")) is None:
        return f"timm's defaults: {whose} has no pretrained config"
    return f"the model's data config: timm.data.resolve_data_config of {whose}"


def line(cfg: RunConfig) -> str:
    """One log line: ``normalisation: mean [0.5, …] std [0.5, …] crop 1.0 bicubic (vt_vit_cpu's data config …)``."""
    n = describe(cfg)
    crop = f" crop_pct {n['crop_pct']} {n['interpolation']}" if "crop_pct" in n else ""
    return f"normalisation: mean {n['mean']} std {n['std']}{crop} ({n['source']})"
