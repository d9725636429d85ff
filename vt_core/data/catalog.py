"""Which datasets a ``data.name`` can mean, and the checks that need no image: torch-free, so that a
grid is planned (names, class counts, paths) without importing torch.

The probes' generators live in ``vt_core.data.probes``; their names and class counts are held here
(``tests/test_imports.py`` checks the two agree).
"""

from __future__ import annotations

from ..config import DataConfig
from ..overrides import ConfigError

PROBE_NUM_CLASSES: dict[str, int] = {"arrangement": 4, "absolute": 4, "cross_window": 4, "multiscale": 4}
DATASETS: dict[str, str] = {
    "cifar10": "CIFAR-10, torchvision's format: data.root/cifar-10-batches-py/",
    "cifar100": "CIFAR-100, torchvision's format: data.root/cifar-100-python/",
    "imagefolder": "data.root/train/<class>/<images>, data.root/val/<class>/<images>",
}
TIMM_SPECS = "a timm.data.create_dataset spec (torch/<name>, hfds/<name>)"
TIMM_MAP_PREFIXES = ("torch", "hfds")
TIMM_ITERABLE_PREFIXES = ("hfids", "tfds", "wds")


def is_timm_spec(name: str) -> bool:
    prefix, sep, rest = name.partition("/")
    return bool(sep and rest) and prefix.lower() in TIMM_MAP_PREFIXES + TIMM_ITERABLE_PREFIXES


def data_kind(name: str) -> str:
    """'probe', 'cifar', 'imagefolder' or 'timm'; a ConfigError listing the choices otherwise."""
    if name in PROBE_NUM_CLASSES:
        return "probe"
    if name in ("cifar10", "cifar100"):
        return "cifar"
    if name == "imagefolder":
        return "imagefolder"
    if is_timm_spec(name):
        return "timm"
    raise ConfigError(f"data.name: {name!r} is not a probe ({', '.join(PROBE_NUM_CLASSES)}), a dataset "
                      f"({', '.join(DATASETS)}) or {TIMM_SPECS}")


def dataset_num_classes(data: DataConfig) -> int:
    """Number of classes without loading images: probes and CIFAR are known (no disk access, so a
    grid can be planned away from its data), an ImageFolder counts its class folders (checking
    the layout), a timm spec builds its train split once (cached)."""
    kind = data_kind(data.name)
    if kind == "probe":
        return PROBE_NUM_CLASSES[data.name]
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
        check_probe(data)
    elif kind == "cifar":
        from .cifar import cifar_folder

        cifar_folder(data)
    elif kind == "imagefolder":
        from .imagefolder import scan

        scan(data)
    else:
        from .timm_datasets import _check

        _check(data)


def check_probe(data: DataConfig) -> None:
    if data.augment:
        raise ConfigError(f"data.augment: true, but probe {data.name!r} is an exact geometric construction that "
                          f"crops and flips would relabel; use data.augment=false (mixup/cutmix still apply)")
