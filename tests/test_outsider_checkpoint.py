"""A checkpoint that loads but whose fields no trainer writes (a string for NumPy's RNG key or for
the history, a step past the epoch's end), and a refused legacy-format pickle: each is the one-line
CheckpointError naming the file and what it is, the file left as it is."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from tests.support.training import tiny_cfg
from vt_core.train import train
from vt_core.train.state import CheckpointError

CFG = ("train.epochs=2", "train.warmup_epochs=0")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A two-epoch run whose checkpoint is put back mid-run (epoch 1 of 2, result.json gone)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    train(tiny_cfg(*CFG), out, progress=False)
    (out / "result.json").unlink()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    ckpt["epoch"], ckpt["history"] = 1, ckpt["history"][:1]
    torch.save(ckpt, out / "checkpoint.pt")
    return out


def _broken_copy(trained: Path, tmp_path: Path, change) -> Path:
    out = tmp_path / "run"
    shutil.copytree(trained, out)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    change(ckpt)
    torch.save(ckpt, out / "checkpoint.pt")
    return out


@pytest.mark.parametrize(("name", "change", "named"), [
    ("numpy key a string", lambda c: c["rng"]["numpy"].__setitem__("key", "abc"), "AttributeError"),
    ("history a string", lambda c: c.__setitem__("history", "abc"), "'history'"),
    ("step 10^9", lambda c: c.__setitem__("step", 10**9), "'step'"),
    ("epoch a float", lambda c: c.__setitem__("epoch", 1.5), "'epoch'"),
    ("best a list", lambda c: c.__setitem__("best", [1, 2]), "'best'"),
    ("acc a string value", lambda c: c["acc"].__setitem__("n", "many"), "acc.n"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_wrong_field_types_are_the_one_line_checkpoint_error(trained: Path, tmp_path: Path, name, change,
                                                             named) -> None:
    out = _broken_copy(trained, tmp_path, change)
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(CheckpointError) as e:
        train(tiny_cfg(*CFG), out, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and str(out / "checkpoint.pt") in msg and named in msg, msg
    assert "not a checkpoint this trainer wrote" in msg and "to train from scratch" in msg
    assert (out / "checkpoint.pt").read_bytes() == before


class Payload:
    def __reduce__(self):
        return os.system, ("true",)


@pytest.mark.parametrize("legacy", [True, False], ids=["torch legacy format", "bare pickle"])
def test_refused_legacy_pickle_says_what_it_is(tmp_path: Path, legacy: bool) -> None:
    out = tmp_path / "run"
    out.mkdir()
    if legacy:
        torch.save({"model": Payload()}, out / "checkpoint.pt", _use_new_zipfile_serialization=False)
    else:
        (out / "checkpoint.pt").write_bytes(pickle.dumps({"model": Payload()}, protocol=4))
    with pytest.raises(CheckpointError) as e:
        train(tiny_cfg(*CFG), out, progress=False)
    msg = str(e.value)
    assert "\n" not in msg and "truncated" not in msg, msg
    assert "legacy (non-zip) format" in msg and "posix.system" in msg and "nothing in it was run" in msg, msg
