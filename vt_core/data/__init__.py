"""Datasets of a run, chosen by ``DataConfig``: ``data.name`` is

- a probe of the embedded default (``PROBES``: arrangement, absolute, cross_window, multiscale):
  procedural, generated from ``data.seed``, in memory, no files (see ``vt_core.data.probes``);
- ``cifar10`` / ``cifar100``: torchvision's on-disk format under ``data.root``;
- ``imagefolder``: ``data.root/train/<class>/*``, ``data.root/val/<class>/*`` (ImageNet, Imagenette,
  Tiny-ImageNet layouts);
- a ``timm.data.create_dataset`` spec (``torch/<name>``, ``hfds/<name>``) with ``data.root`` its folder.

``load_data`` returns a ``DataBundle``; a missing or malformed dataset, or an unknown name, raises
``ConfigError`` (one line naming the path or key and what was expected) before anything trains.
``validate_data`` runs those checks without reading the data; ``dataset_num_classes`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..config import DataConfig
from ..overrides import ConfigError
from .catalog import DATASETS, TIMM_SPECS, check_probe, data_kind, dataset_num_classes, validate_data

if TYPE_CHECKING:
    from .bundle import DataBundle

_LAZY = {  # torch-bound names, imported on first use (planning needs only the catalog above)
    "ArrayImages": ".bundle", "DataBundle": ".bundle", "TensorImages": ".bundle",
    "PROBES": ".probes", "Probe": ".probes", "generate": ".probes",
    "PROBE_STATS": ".transforms", "build_mixup": ".transforms", "channel_stats": ".transforms",
    "check_in_chans": ".transforms", "data_stats": ".transforms", "normalise_tensors": ".transforms",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_data(data: DataConfig, *, img_size: int, in_chans: int = 3) -> "DataBundle":
    """The train and val splits of ``data`` at the model's input size (see ``DataBundle``)."""
    from .transforms import check_in_chans

    if img_size < 1:
        raise ConfigError(f"model.img_size: {img_size} must be at least 1")
    check_in_chans(in_chans)
    kind = data_kind(data.name)
    if kind == "probe":
        return load_probe(data, img_size, in_chans)
    if kind == "cifar":
        from .cifar import load_cifar

        return load_cifar(data, img_size, in_chans)
    if kind == "imagefolder":
        from .imagefolder import load_imagefolder

        return load_imagefolder(data, img_size, in_chans)
    from .timm_datasets import load_timm

    return load_timm(data, img_size, in_chans)


def load_probe(data: DataConfig, img_size: int, in_chans: int = 3) -> DataBundle:
    """Generate the probe's train and val sets from ``data.seed`` (independent generators), then
    normalise and resize them once (whole-factor upscaling repeats pixels, keeping the cells)."""
    from .bundle import DataBundle, TensorImages
    from .probes import PROBES, generate
    from .transforms import PROBE_STATS, channel_stats, data_stats, normalise_tensors

    check_probe(data)
    probe = PROBES[data.name]
    tx8, ty, tmeta = generate(data.name, data.train_size, seed=data.seed, split="train")
    vx8, vy, vmeta = generate(data.name, data.val_size, seed=data.seed, split="val")
    stats = data_stats(data, PROBE_STATS)
    tx = normalise_tensors(tx8, img_size, stats, in_chans)
    vx = normalise_tensors(vx8, img_size, stats, in_chans)
    mean, std = channel_stats(stats, in_chans)
    return DataBundle(
        train=TensorImages(tx, ty, tmeta), val=TensorImages(vx, vy, vmeta), num_classes=probe.num_classes,
        tensors=(tx, ty, vx, vy), mean=mean, std=std, classes=probe.classes, name=data.name,
    )


__all__ = [
    "ArrayImages", "DATASETS", "DataBundle", "PROBES", "Probe", "TIMM_SPECS", "TensorImages", "build_mixup",
    "data_kind", "dataset_num_classes", "load_data", "load_probe", "validate_data",
]
