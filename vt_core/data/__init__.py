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

from ..config import DataConfig
from ..overrides import ConfigError
from .bundle import ArrayImages, DataBundle, TensorImages
from .probes import PROBES, Probe, generate
from .transforms import PROBE_STATS, build_mixup, channel_stats, check_in_chans, data_stats, normalise_tensors

DATASETS: dict[str, str] = {
    "cifar10": "CIFAR-10, torchvision's format: data.root/cifar-10-batches-py/",
    "cifar100": "CIFAR-100, torchvision's format: data.root/cifar-100-python/",
    "imagefolder": "data.root/train/<class>/<images>, data.root/val/<class>/<images>",
}
TIMM_SPECS = "a timm.data.create_dataset spec (torch/<name>, hfds/<name>)"


def data_kind(name: str) -> str:
    """'probe', 'cifar', 'imagefolder' or 'timm'; a ConfigError listing the choices otherwise."""
    from .timm_datasets import is_timm_spec

    if name in PROBES:
        return "probe"
    if name in ("cifar10", "cifar100"):
        return "cifar"
    if name == "imagefolder":
        return "imagefolder"
    if is_timm_spec(name):
        return "timm"
    raise ConfigError(f"data.name: {name!r} is not a probe ({', '.join(PROBES)}), a dataset "
                      f"({', '.join(DATASETS)}) or {TIMM_SPECS}")


def dataset_num_classes(data: DataConfig) -> int:
    """Number of classes without loading images: probes and CIFAR are known (no disk access, so a
    grid can be planned away from its data), an ImageFolder counts its class folders (checking
    the layout), a timm spec builds its train split once (cached)."""
    kind = data_kind(data.name)
    if kind == "probe":
        return PROBES[data.name].num_classes
    if kind == "cifar":
        from .cifar import SPECS

        return SPECS[data.name].num_classes
    if kind == "imagefolder":
        from .imagefolder import scan

        return len(scan(data, samples=False).classes)
    from .timm_datasets import timm_num_classes

    return timm_num_classes(data)


def validate_data(data: DataConfig) -> None:
    """Every check ``load_data`` makes on names and paths, without reading the images (an
    ImageFolder is still listed and the first image of each class opened)."""
    kind = data_kind(data.name)
    if kind == "probe":
        _check_probe(data)
    elif kind == "cifar":
        from .cifar import cifar_folder

        cifar_folder(data)
    elif kind == "imagefolder":
        from .imagefolder import scan

        scan(data)
    else:
        from .timm_datasets import _check

        _check(data)


def _check_probe(data: DataConfig) -> None:
    if data.augment:
        raise ConfigError(f"data.augment: true, but probe {data.name!r} is an exact geometric construction that "
                          f"crops and flips would relabel; use data.augment=false (mixup/cutmix still apply)")


def load_data(data: DataConfig, *, img_size: int, in_chans: int = 3) -> DataBundle:
    """The train and val splits of ``data`` at the model's input size (see ``DataBundle``)."""
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
    _check_probe(data)
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
    "ArrayImages", "DATASETS", "DataBundle", "PROBES", "Probe", "TensorImages", "build_mixup", "data_kind",
    "dataset_num_classes", "load_data", "load_probe", "validate_data",
]
