"""CIFAR-10 / CIFAR-100 from torchvision's on-disk format (the extracted python pickles), read by
``torchvision.datasets.CIFAR10/100`` with ``download=False``. Nothing is ever downloaded.

``data.root`` is the folder holding ``cifar-10-batches-py/`` (``cifar-100-python/``), as for
torchvision, or that folder itself. The layout is checked before anything is read; torchvision's
MD5 check of the official archives is skipped (it would refuse any re-packed or subset copy, and
costs a pass over the files), and replaced by structural checks that name the bad file.

Without augmentation the images become float32 tensors at the model's input size once, at load,
so that the training loop can index them on its device; when that copy would exceed
``IN_MEMORY_LIMIT`` bytes (large input sizes) or with augmentation, samples are transformed per
image instead (``tensors`` is None then).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, CIFAR100

from ..config import DataConfig
from ..overrides import ConfigError
from .bundle import ArrayImages, DataBundle, TensorImages
from .paths import one_line, root_dir
from .transforms import CIFAR100_STATS, CIFAR10_STATS, Stats, channel_stats, data_stats, eval_transform, \
    normalise_tensors, train_transform

IN_MEMORY_LIMIT = 8 * 2**30  # bytes of float32 train + val images held as tensors


@dataclass(frozen=True)
class CifarSpec:
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    meta: str
    meta_key: str
    label_key: str
    num_classes: int
    stats: Stats
    base: type


SPECS = {
    "cifar10": CifarSpec("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                         "batches.meta", "label_names", "labels", 10, CIFAR10_STATS, CIFAR10),
    "cifar100": CifarSpec("cifar-100-python", ("train",), ("test",), "meta", "fine_label_names", "fine_labels", 100,
                          CIFAR100_STATS, CIFAR100),
}


def _layout(spec: CifarSpec) -> str:
    name = "CIFAR-10" if spec.num_classes == 10 else "CIFAR-100"
    files = ", ".join((*_ranges(spec.train), *spec.test, spec.meta))
    return f"torchvision's {name} layout: {spec.folder}/ with {files}"


def _ranges(names: tuple[str, ...]) -> tuple[str, ...]:
    return ("data_batch_1..5",) if len(names) == 5 else names


def cifar_folder(data: DataConfig) -> tuple[Path, CifarSpec]:
    """The folder that holds ``cifar-10-batches-py/`` (or ``cifar-100-python/``), checked file by file."""
    spec = SPECS[data.name]
    root = root_dir(data.root, f"a folder holding {spec.folder}/ ({_layout(spec)})")
    if root.name == spec.folder:  # data.root may name the batches folder itself
        root = root.parent
    folder = root / spec.folder
    if not folder.is_dir():
        raise ConfigError(f"data.root: {root} has no {spec.folder}/ (expected {_layout(spec)})")
    missing = [f for f in (*spec.train, *spec.test, spec.meta) if not (folder / f).is_file()]
    if missing:
        raise ConfigError(f"data.root: {folder} lacks {', '.join(missing)} (expected {_layout(spec)})")
    return root, spec


def _unverified(base: type, spec: CifarSpec) -> type:
    """torchvision's CIFAR class without the MD5 check of the official files."""

    class Unverified(base):  # type: ignore[misc, valid-type]
        def _check_integrity(self) -> bool:
            return True

        def _load_meta(self) -> None:
            with open(Path(self.root) / self.base_folder / spec.meta, "rb") as f:
                self.classes = pickle.load(f, encoding="latin1")[spec.meta_key]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    Unverified.__name__ = base.__name__
    return Unverified


def _diagnose(folder: Path, spec: CifarSpec, error: Exception) -> ConfigError:
    """Name the first file that is not a CIFAR pickle (torchvision only says that something failed)."""
    for name in (*spec.train, *spec.test, spec.meta):
        path = folder / name
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
        except Exception as e:  # noqa: BLE001 - any unpickling failure is the user's file
            return ConfigError(f"data.root: {path} is not a CIFAR pickle ({one_line(e)})")
        key = spec.meta_key if name == spec.meta else spec.label_key
        if not isinstance(entry, dict) or key not in entry or (name != spec.meta and "data" not in entry):
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            want = f"'{key}'" if name == spec.meta else f"'data' and '{key}'"
            return ConfigError(f"data.root: {path} has keys {keys}, expected {want} ({_layout(spec)})")
        if name != spec.meta:
            arr = np.asarray(entry["data"])
            if arr.ndim != 2 or arr.shape[1] != 3072 or len(entry[spec.label_key]) != len(arr):
                return ConfigError(f"data.root: {path} holds data of shape {arr.shape} with "
                                   f"{len(entry[spec.label_key])} labels, expected N×3072 uint8 and N labels")
    return ConfigError(f"data.root: {folder} could not be read as {_layout(spec)} ({one_line(error)})")


def read_cifar(data: DataConfig) -> tuple[CIFAR10, CIFAR10, CifarSpec]:
    """torchvision datasets of the train and test splits (images as uint8 HWC arrays in ``.data``)."""
    root, spec = cifar_folder(data)
    cls = _unverified(spec.base, spec)
    try:
        train, test = cls(str(root), train=True, download=False), cls(str(root), train=False, download=False)
    except Exception as e:  # noqa: BLE001
        raise _diagnose(root / spec.folder, spec, e) from e
    for split, ds in (("train", train), ("test", test)):
        labels = np.asarray(ds.targets)
        if len(labels) == 0:
            raise ConfigError(f"data.root: {root / spec.folder} has no {split} images")
        if labels.min() < 0 or labels.max() >= spec.num_classes:
            raise ConfigError(f"data.root: {root / spec.folder} has {split} labels in "
                              f"[{labels.min()}, {labels.max()}], expected 0..{spec.num_classes - 1}")
    return train, test, spec


def load_cifar(data: DataConfig, img_size: int, in_chans: int) -> DataBundle:
    train, test, spec = read_cifar(data)
    stats = data_stats(data, spec.stats)
    mean, std = channel_stats(stats, in_chans)
    n = len(train.data) + len(test.data)
    fits = n * in_chans * img_size * img_size * 4 <= IN_MEMORY_LIMIT
    common = dict(num_classes=spec.num_classes, mean=mean, std=std, classes=tuple(train.classes), name=data.name)
    if fits and not data.augment:
        ty, vy = torch.as_tensor(train.targets, dtype=torch.long), torch.as_tensor(test.targets, dtype=torch.long)
        tx = normalise_tensors(torch.from_numpy(train.data).permute(0, 3, 1, 2), img_size, stats, in_chans)
        vx = normalise_tensors(torch.from_numpy(test.data).permute(0, 3, 1, 2), img_size, stats, in_chans)
        return DataBundle(train=TensorImages(tx, ty), val=TensorImages(vx, vy), tensors=(tx, ty, vx, vy), **common)
    train_set = ArrayImages(train.data, train.targets, train_transform(data, img_size, stats, in_chans))
    val_set = ArrayImages(test.data, test.targets, eval_transform(img_size, stats, in_chans, data.interpolation))
    return DataBundle(train=train_set, val=val_set, tensors=None, **common)
