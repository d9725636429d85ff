"""CIFAR's pickled batches are read through a restricted unpickler. The files are real CIFAR
format — ``pickle.dump`` of dicts holding NumPy arrays, as the dataset's authors did — at the
protocols in use, including the module path that the official files reference
(``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``, ``numpy.dtype``); a planted payload in
any of the files runs nothing and is a one-line error naming the file."""

from __future__ import annotations

import os
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest

from tests.support.datasets import expect_error, write_cifar10, write_cifar100
from vt_core.config import DataConfig
from vt_core.data import load_data
from vt_core.data.cifar import read_cifar
from vt_core.overrides import ConfigError

CIFAR10_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def trusted_load(path: Path):
    with open(path, "rb") as f:  # the test's own file: plain pickle, as a reference
        return pickle.load(f, encoding="latin1")


def globals_of(blob: bytes) -> set[str]:
    """The module.name pairs a pickle references (GLOBAL and STACK_GLOBAL opcodes)."""
    names, strings = set(), []
    for op, arg, _ in pickletools.genops(blob):
        if op.name == "GLOBAL":
            names.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            names.add(f"{strings[-2]}.{strings[-1]}")
        elif isinstance(arg, str):
            strings.append(arg)
    return names


def as_numpy1_wrote_it(path: Path) -> None:
    """The official files (Python 2, NumPy 1) name ``numpy.core.multiarray``; NumPy 2 writes
    ``numpy._core.multiarray``. A protocol-2 GLOBAL is a text line, so the name can be swapped."""
    path.write_bytes(path.read_bytes().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_real_format_batches_load(tmp_path: Path, protocol: int) -> None:
    root = write_cifar10(tmp_path / "data")
    folder = root / "cifar-10-batches-py"
    for name in CIFAR10_FILES:
        entry = trusted_load(folder / name)
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=protocol)
        if protocol == 2:
            as_numpy1_wrote_it(folder / name)
    if protocol == 2:
        assert "numpy.core.multiarray._reconstruct" in globals_of((folder / "data_batch_1").read_bytes())
    train, test, _ = read_cifar(DataConfig(name="cifar10", root=str(root)))
    raw = np.concatenate([trusted_load(folder / f"data_batch_{i}")["data"] for i in range(1, 6)])
    assert np.array_equal(train.data, raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert train.targets == sum((trusted_load(folder / f"data_batch_{i}")["labels"] for i in range(1, 6)), [])
    assert test.targets == trusted_load(folder / "test_batch")["labels"]
    assert tuple(train.classes) == tuple(trusted_load(folder / "batches.meta")["label_names"])


@pytest.mark.parametrize("name", ["data_batch_1", "test_batch", "batches.meta"])
def test_planted_payload_runs_nothing(tmp_path: Path, name: str) -> None:
    root = write_cifar10(tmp_path / "data")
    marker, bad = tmp_path / "payload-ran", root / "cifar-10-batches-py" / name
    with open(bad, "wb") as f:
        pickle.dump({"data": Payload(marker), "labels": [0, 1], "label_names": ["a"]}, f, protocol=2)
    with pytest.raises(ConfigError) as info:
        load_data(DataConfig(name="cifar10", root=str(root)), img_size=32)
    assert not marker.exists(), "reading the batch ran its payload"
    expect_error(DataConfig(name="cifar10", root=str(root)), str(bad), "posix.system")
    assert str(info.value) == expect_error(DataConfig(name="cifar10", root=str(root)), "is not a CIFAR pickle")


def test_planted_payload_in_cifar100_and_at_top_level(tmp_path: Path) -> None:
    root = write_cifar100(tmp_path / "data")
    marker, bad = tmp_path / "payload-ran", root / "cifar-100-python" / "train"
    with open(bad, "wb") as f:
        pickle.dump(Payload(marker), f)
    with pytest.raises(ConfigError):
        load_data(DataConfig(name="cifar100", root=str(root)), img_size=32)
    assert not marker.exists(), "reading the batch ran its payload"
    expect_error(DataConfig(name="cifar100", root=str(root)), str(bad), "posix.system")
