"""``checkpoint.pt`` is read with ``torch.load(weights_only=True)``: what the trainer saves reads back
that way (RNG states included), a checkpoint carrying a pickled payload runs nothing, and a
truncated one is a one-line error naming it and saying how to start over; and the temporary files
of interrupted writes are cleaned up at the next start of the run, by the process that holds its
lock."""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.training import cli, tiny_cfg, tiny_sets
from vt_core.run_folder import RunLock, run_state
from vt_core.train import RunBusy, train
from vt_core.train.rng import rng_state, seed_everything, set_rng_state

ONE_EPOCH = ["--preset", "vit_cpu", "--set", *tiny_sets("train.epochs=1", "train.warmup_epochs=0")]


class Payload:
    """Unpickling this runs a shell command that creates ``marker`` (what a hostile file would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def one_line_error(proc) -> str:
    err = proc.stderr.read().strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def draws() -> tuple:
    return random.random(), float(np.random.randn()), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_rng_states_round_trip_through_weights_only(tmp_path: Path) -> None:
    seed_everything(3)
    draws()
    np.random.randn()  # leaves a cached Gaussian in NumPy's state: it must come back too
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = draws()
    seed_everything(99)
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert draws() == expected


def test_saved_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", "train.ema=true"), out, progress=False)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["step"] == 0 and ckpt["global_step"] == 512 // 64
    assert ckpt["ema"] is not None and len(ckpt["history"]) == 1


@pytest.mark.slow
def test_planted_pickle_in_checkpoint_runs_nothing(tmp_path: Path) -> None:
    out, marker = tmp_path / "run", tmp_path / "payload-ran"
    out.mkdir()
    torch.save({"model": Payload(marker), "epoch": 0}, out / "checkpoint.pt")
    planted = (out / "checkpoint.pt").read_bytes()
    proc = cli(out, *ONE_EPOCH)
    code = proc.wait(timeout=300)
    assert not marker.exists(), "loading the checkpoint ran its payload"
    err = one_line_error(proc)
    assert code == 2 and str(out / "checkpoint.pt") in err and "posix.system" in err, err
    assert (out / "checkpoint.pt").read_bytes() == planted
    assert run_state(out) == "failed" and "checkpoint.pt" in (out / "error.txt").read_text()


@pytest.mark.slow
def test_truncated_checkpoint_is_one_line_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli(out, *ONE_EPOCH).wait(timeout=300) == 0
    (out / "result.json").unlink()  # as if the run had stopped after its last checkpoint
    ckpt = out / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    cut = ckpt.read_bytes()
    proc = cli(out, *ONE_EPOCH)
    assert proc.wait(timeout=300) == 2
    err = one_line_error(proc)
    assert str(ckpt) in err and f"delete {ckpt} to train from scratch" in err, err
    assert ckpt.read_bytes() == cut, "the truncated checkpoint was overwritten"
    # what the message says to do works
    ckpt.unlink()
    again = cli(out, *ONE_EPOCH)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert json.loads((out / "result.json").read_text())["status"] == "done"


def test_another_runs_checkpoint_is_refused(tmp_path: Path) -> None:
    from vt_core.train.state import CheckpointError

    train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0"), tmp_path / "a", progress=False)
    other = tmp_path / "b"
    other.mkdir()
    (other / "checkpoint.pt").write_bytes((tmp_path / "a" / "checkpoint.pt").read_bytes())
    with pytest.raises(CheckpointError, match="holds run .*, not this run") as info:
        train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", "model.pos=none", "model.pool=mean"), other,
              progress=False)
    assert "\n" not in str(info.value) and str(other / "checkpoint.pt") in str(info.value)


def test_temp_files_of_interrupted_writes_are_cleaned_at_the_next_start(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    ours = []
    for name in ("checkpoint.pt", "metrics.jsonl", "result.json", "config.yaml", "error.txt"):
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")  # as run_folder's atomic writes
        os.write(fd, b"half a write")
        os.close(fd)
        ours.append(Path(tmp))
    others = [out / "notes.tmp", out / ".checkpoint.pt.keep", out / ".other.abcd1234.tmp",
              out / "x.checkpoint.pt.abcd1234.tmp"]
    for path in others:
        path.write_text("not the trainer's")
    holder = RunLock(out)
    assert holder.acquire()
    try:
        with pytest.raises(RunBusy):
            train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0"), out, progress=False)
        assert all(p.exists() for p in ours), "cleaned without holding the lock"
    finally:
        holder.release()
    train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0"), out, progress=False)
    assert [p.name for p in ours if p.exists()] == []
    assert all(p.exists() for p in others)


@pytest.mark.gpu
def test_checkpoint_resumes_onto_cuda(tmp_path: Path) -> None:
    """``map_location`` puts every tensor on the GPU, the RNG states too; torch takes those back
    only as CPU tensors."""
    from vt_core.model import VisionTransformer
    from vt_core.train.recipe import build_recipe
    from vt_core.train.state import TrainState, load_checkpoint, save_checkpoint

    cfg, device = tiny_cfg("train.device=cuda"), torch.device("cuda", 0)
    model = VisionTransformer(cfg.model).to(device)
    recipe = build_recipe(cfg, model, steps_per_epoch=8, device=device)
    save_checkpoint(tmp_path / "checkpoint.pt", model=model, recipe=recipe, state=TrainState(epoch=1, global_step=8),
                    run_id=cfg.run_id())
    expected = (torch.rand(3).tolist(), torch.rand(3, device=device).tolist())
    torch.manual_seed(123)
    state = load_checkpoint(tmp_path / "checkpoint.pt", model=model, recipe=recipe, device=device, run_id=cfg.run_id())
    assert state is not None and (state.epoch, state.global_step) == (1, 8)
    assert (torch.rand(3).tolist(), torch.rand(3, device=device).tolist()) == expected
