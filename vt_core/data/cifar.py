"""CIFAR-10 / CIFAR-100 from the extracted python version of the official archives (the layout
torchvision reads). Nothing is ever downloaded.

``data.root`` is the folder holding ``cifar-10-batches-py/`` (``cifar-100-python/``), as for
torchvision, or that folder itself. The layout is checked before anything is read, and every file
is checked as it is read, so an error names the bad file (torchvision's MD5 check of the official
archives is not made: it would refuse any re-packed or subset copy).

The batches are pickles, and unpickling can run code, so they are read through ``BatchUnpickler``,
which admits only what the format needs: dicts, lists, strings, bytes, numbers, and NumPy arrays as
``pickle.dump`` writes them (``numpy.core.multiarray._reconstruct`` — ``numpy._core`` under NumPy
2 — ``numpy.ndarray``, ``numpy.dtype``; ``_frombuffer`` at protocol 5; ``_codecs.encode`` for
latin-1 bytes at protocol 2). A file that references anything else is refused before anything in
it runs. (The official files reference exactly ``numpy.core.multiarray._reconstruct``,
``numpy.ndarray`` and ``numpy.dtype``.)

Without augmentation the images become float32 tensors at the model's input size once, at load,
so that the training loop can index them on its device; when that copy would exceed
``IN_MEMORY_LIMIT`` bytes (large input sizes) or with augmentation, samples are transformed per
image instead (``tensors`` is None then).
"""

from __future__ import annotations

import codecs
import importlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..config import DataConfig
from ..overrides import ConfigError
from .bundle import ArrayImages, DataBundle, TensorImages
from .paths import one_line, root_dir
from .transforms import (
    CIFAR10_STATS,
    CIFAR100_STATS,
    Stats,
    channel_stats,
    data_stats,
    eval_transform,
    normalise_tensors,
    train_transform,
)

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


SPECS = {
    "cifar10": CifarSpec("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                         "batches.meta", "label_names", "labels", 10, CIFAR10_STATS),
    "cifar100": CifarSpec("cifar-100-python", ("train",), ("test",), "meta", "fine_label_names", "fine_labels", 100,
                          CIFAR100_STATS),
}


@dataclass
class CifarSplit:
    data: np.ndarray  # N×32×32×3 uint8 (HWC), as torchvision's CIFAR10.data
    targets: list[int]
    classes: tuple[str, ...]


def _numpy(module: str, name: str) -> Callable:
    """``numpy._core.<module>.<name>`` under NumPy 2, ``numpy.core.<module>.<name>`` under NumPy 1."""
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {module}.{name}")


def _latin1_encode(text: str, encoding: str = "latin1", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes (latin-1 only; other codecs refused)."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}, which a CIFAR batch never uses")
    return codecs.encode(text, "latin1", errors)


def _admitted() -> dict[str, Any]:
    reconstruct, frombuffer = _numpy("multiarray", "_reconstruct"), _numpy("numeric", "_frombuffer")
    admitted = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype, "_codecs.encode": _latin1_encode}
    for package in ("numpy.core", "numpy._core"):  # the path NumPy 1 wrote, and NumPy 2's
        admitted[f"{package}.multiarray._reconstruct"] = reconstruct
        admitted[f"{package}.numeric._frombuffer"] = frombuffer
    return admitted


class BatchUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` admits only the globals that a CIFAR batch references."""

    ADMITTED: dict[str, Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if BatchUnpickler.ADMITTED is None:
            BatchUnpickler.ADMITTED = _admitted()
        found = BatchUnpickler.ADMITTED.get(f"{module}.{name}")
        if found is None:
            raise pickle.UnpicklingError(f"refers to {module}.{name}, which a CIFAR batch never holds; "
                                         "not loaded, nothing in it was run")
        return found


def load_batch(path: Path) -> Any:
    """One CIFAR pickle through ``BatchUnpickler`` (latin-1 strings, as the Python 2 originals need)."""
    try:
        with open(path, "rb") as f:
            return BatchUnpickler(f, encoding="latin1").load()
    except Exception as e:  # noqa: BLE001 - any unpickling failure is the user's file
        raise ConfigError(f"data.root: {path} is not a CIFAR pickle ({one_line(e)})") from None


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


def _classes(folder: Path, spec: CifarSpec) -> tuple[str, ...]:
    path = folder / spec.meta
    entry = load_batch(path)
    if not isinstance(entry, dict) or spec.meta_key not in entry:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ConfigError(f"data.root: {path} has keys {keys}, expected '{spec.meta_key}' ({_layout(spec)})")
    return tuple(entry[spec.meta_key])


def _split(folder: Path, names: tuple[str, ...], spec: CifarSpec, classes: tuple[str, ...]) -> CifarSplit:
    arrays, targets = [], []
    for name in names:
        path = folder / name
        entry = load_batch(path)
        if not isinstance(entry, dict) or "data" not in entry or spec.label_key not in entry:
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ConfigError(f"data.root: {path} has keys {keys}, expected 'data' and '{spec.label_key}' "
                              f"({_layout(spec)})")
        arr, labels = np.asarray(entry["data"]), list(entry[spec.label_key])
        if arr.ndim != 2 or arr.shape[1] != 3072 or len(labels) != len(arr):
            raise ConfigError(f"data.root: {path} holds data of shape {arr.shape} with {len(labels)} labels, "
                              "expected N×3072 uint8 and N labels")
        arrays.append(arr)
        targets.extend(labels)
    data = np.concatenate(arrays).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # rows are R, G, B planes
    return CifarSplit(data, targets, classes)


def read_cifar(data: DataConfig) -> tuple[CifarSplit, CifarSplit, CifarSpec]:
    """The train and test splits (images as uint8 HWC arrays in ``.data``, labels in ``.targets``)."""
    root, spec = cifar_folder(data)
    folder = root / spec.folder
    classes = _classes(folder, spec)
    train, test = _split(folder, spec.train, spec, classes), _split(folder, spec.test, spec, classes)
    for split, ds in (("train", train), ("test", test)):
        labels = np.asarray(ds.targets)
        if len(labels) == 0:
            raise ConfigError(f"data.root: {folder} has no {split} images")
        if labels.min() < 0 or labels.max() >= spec.num_classes:
            raise ConfigError(f"data.root: {folder} has {split} labels in "
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
    train_set = ArrayImages(train.data, train.targets, train_transform(data, img_size, in_chans))
    val_set = ArrayImages(test.data, test.targets, eval_transform(img_size, in_chans, data.interpolation))
    return DataBundle(train=train_set, val=val_set, tensors=None, **common)
