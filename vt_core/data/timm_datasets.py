"""Datasets named by a ``timm.data.create_dataset`` spec, passed through as ``data.name``:
``torch/<name>`` (torchvision datasets timm knows: cifar10, cifar100, mnist, kmnist, fashion_mnist,
qmnist, places365, inaturalist, imagenet, image_folder) and ``hfds/<name>`` (Hugging Face datasets),
with ``data.root`` their folder. Nothing is downloaded (``download=False``). The splits are
``train`` and ``validation`` (timm maps the latter to val/valid/test as each source calls it).

The iterable kinds (``hfids/``, ``tfds/``, ``wds/``) are refused: the training loop draws seeded,
resumable batches by index, which needs map-style datasets of known length.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

import torch
from torch.utils.data import Dataset

from ..config import DataConfig
from ..overrides import ConfigError
from .bundle import DataBundle
from .catalog import TIMM_ITERABLE_PREFIXES as ITERABLE_PREFIXES
from .catalog import TIMM_MAP_PREFIXES as MAP_PREFIXES
from .normalisation import used_stats
from .paths import one_line
from .transforms import channel_stats, eval_transform, train_transform

SPLITS = ("train", "validation")


def _check(data: DataConfig) -> str:
    prefix = data.name.partition("/")[0].lower()
    if prefix in ITERABLE_PREFIXES:
        raise ConfigError(f"data.name: {data.name!r} is an iterable dataset; runs need map-style datasets of known "
                          f"length (use {', '.join(p + '/…' for p in MAP_PREFIXES)}, imagefolder, cifar10 or cifar100)")
    root = os.path.abspath(os.path.expanduser(data.root)) if data.root else ""
    if prefix == "torch":
        what = f"the folder of timm dataset {data.name!r}"
        if not root:
            raise ConfigError(f"data.root: empty (expected {what})")
        if not os.path.isdir(root):
            raise ConfigError(f"data.root: {root} {'is not a folder' if os.path.exists(root) else 'does not exist'} "
                              f"(expected {what})")
    elif root and not os.path.isdir(root):
        raise ConfigError(f"data.root: {root} does not exist (expected a cache folder for {data.name!r})")
    return root


def _create(data: DataConfig, root: str, split: str, transform: Callable | None, in_chans: int) -> Dataset:
    from timm.data import create_dataset

    kwargs: dict[str, Any] = dict(root=root or None, split=split, download=False, transform=transform)
    if data.name.partition("/")[0].lower() != "torch":
        kwargs["input_img_mode"] = "L" if in_chans == 1 else "RGB"
    try:
        return create_dataset(data.name, **kwargs)
    except Exception as e:  # noqa: BLE001 - timm / torchvision / datasets raise every kind of error
        raise ConfigError(f"data.name: timm's create_dataset({data.name!r}, root={root!r}, split={split!r}) failed: "
                          f"{type(e).__name__}: {one_line(e)}") from None


def _num_classes(ds: Dataset, name: str) -> int:
    classes = getattr(ds, "classes", None)
    if classes:
        return len(classes)
    reader = getattr(ds, "reader", None)
    for attr in ("class_to_idx", "label_names", "classes"):
        value = getattr(reader, attr, None)
        if value:
            return len(value)
    targets = getattr(ds, "targets", None)
    if targets is not None and len(targets):
        return int(torch.as_tensor(targets).max()) + 1
    raise ConfigError(f"data.name: cannot tell how many classes {name!r} has (its dataset lists no classes or targets)")


@functools.lru_cache(maxsize=8)
def _cached_num_classes(name: str, root: str) -> int:
    data = DataConfig(name=name, root=root)
    return _num_classes(_create(data, _check(data), "train", None, 3), name)


def timm_num_classes(data: DataConfig) -> int:
    return _cached_num_classes(data.name, data.root)


def load_timm(data: DataConfig, img_size: int, in_chans: int) -> DataBundle:
    root = _check(data)
    stats = used_stats(data)  # CIFAR's, else the model's data config's (vt_core.data.normalisation)
    train = _create(data, root, "train", train_transform(data, img_size, in_chans), in_chans)
    val_tf = eval_transform(img_size, in_chans, data.interpolation, data.crop_pct)
    val = _create(data, root, "validation", val_tf, in_chans)
    for split, ds in (("train", train), ("validation", val)):
        if not hasattr(ds, "__getitem__") or not hasattr(ds, "__len__"):
            raise ConfigError(f"data.name: {data.name!r} gives an iterable {split} split; runs need map-style datasets")
        if len(ds) == 0:
            raise ConfigError(f"data.root: {root} holds no {split} images for {data.name!r}")
    mean, std = channel_stats(stats, in_chans)
    classes = tuple(getattr(train, "classes", ()) or ())
    return DataBundle(train=train, val=val, num_classes=_num_classes(train, data.name), tensors=None, mean=mean,
                      std=std, classes=classes, name=data.name)
