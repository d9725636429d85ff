"""Real dataset files written by tests: CIFAR batches, image folders, and the one-line error check."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vt_core.config import DataConfig
from vt_core.data import load_data
from vt_core.overrides import ConfigError


def expect_error(data: DataConfig, *fragments: str, img_size: int = 32, fn=None) -> str:
    """The call raises a ConfigError whose message is one line and contains every fragment."""
    with pytest.raises(ConfigError) as info:
        (fn or (lambda d: load_data(d, img_size=img_size)))(data)
    msg = str(info.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert str(f) in msg, f"{f!r} not in {msg!r}"
    return msg


def pickle_to(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def write_cifar10(root: Path, per_batch: int = 4, n_test: int = 6) -> Path:
    """A tiny but real-format cifar-10-batches-py: 5 train batches, a test batch, batches.meta."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        pickle_to(folder / f"data_batch_{i}", {
            "batch_label": f"training batch {i} of 5",
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            "filenames": [f"img_{i}_{j}.png" for j in range(per_batch)],
        })
    pickle_to(folder / "test_batch", {"batch_label": "testing batch 1 of 1",
                                   "data": rng.integers(0, 256, (n_test, 3072), dtype=np.uint8),
                                   "labels": [int(v) for v in rng.integers(0, 10, n_test)]})
    pickle_to(folder / "batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog",
                                                      "frog", "horse", "ship", "truck"],
                                      "num_cases_per_batch": per_batch, "num_vis": 3072})
    return root


def write_cifar100(root: Path, n_train: int = 12, n_test: int = 5) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, n in (("train", n_train), ("test", n_test)):
        pickle_to(folder / name, {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                "fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                                "coarse_labels": [int(v) for v in rng.integers(0, 20, n)]})
    pickle_to(folder / "meta", {"fine_label_names": [f"c{i}" for i in range(100)],
                              "coarse_label_names": [f"s{i}" for i in range(20)]})
    return root


def write_png(path: Path, size=(40, 30), mode="RGB", seed=0) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    chans = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
    arr = rng.integers(0, 256, (size[1], size[0], chans), dtype=np.uint8)
    Image.fromarray(arr.squeeze(-1) if chans == 1 else arr, mode).save(path)


def write_imagefolder(root: Path, classes=("cat", "dog", "fish"), per_class=3) -> Path:
    """train/ and val/ with one folder per class: PNGs and JPEGs of several sizes, a grayscale PNG,
    an RGBA PNG; upper-case extensions too."""
    k = 0
    for split, n in (("train", per_class), ("val", 2)):
        for c in classes:
            for j in range(n):
                k += 1
                ext, mode = [(".png", "RGB"), (".jpg", "RGB"), (".JPEG", "RGB")][j % 3]
                if split == "train" and c == "dog" and j == 0:
                    ext, mode = ".png", "L"  # grayscale
                if split == "val" and c == "fish" and j == 1:
                    ext, mode = ".png", "RGBA"
                write_png(root / split / c / f"{c}_{j}{ext}", size=(24 + 8 * j, 20 + 4 * j), mode=mode, seed=k)
    return root
