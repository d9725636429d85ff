"""Where a run stands, and its one way into and out of ``checkpoint.pt``.

``TrainState`` is what the loop advances: the epoch in progress, the next step within it, the global
step, the epoch's running totals, the best validation accuracy and the history of epoch rows. A
checkpoint holds it next to the model, optimizer, scheduler and EMA weights and the RNG states;
``save_checkpoint`` and ``load_checkpoint`` are the only code that knows the checkpoint's keys.

A checkpoint is data, never code: it holds only tensors, numbers, strings, lists and dicts, and is
read with ``torch.load(weights_only=True)``, so a planted pickle payload is refused, not run. That,
a truncated file, or another run's checkpoint is a one-line ``CheckpointError`` naming the file and
saying how to start over; the file is left as it is.
"""

from __future__ import annotations

import pickle
import pickletools
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..overrides import ConfigError
from ..run_folder import atomic_torch_save
from .recipe import Recipe
from .rng import rng_state, set_rng_state


class CheckpointError(ConfigError):
    """``checkpoint.pt`` cannot be resumed from (unreadable, truncated, refused, another run's)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}; delete {path} to train from scratch")


@dataclass
class EpochTotals:
    """Sums over the epoch's steps so far (all ranks): summed loss·n, correct, n, seconds, grad norm."""

    loss: float = 0.0
    correct: float = 0.0
    n: float = 0.0
    time: float = 0.0
    grad_norm: float = 0.0


@dataclass
class Best:
    """The epoch (counted from 1) with the highest validation top-1; epoch -1 before the first."""

    top1: float = -1.0
    top5: float = 0.0
    epoch: int = -1


@dataclass
class TrainState:
    epoch: int = 0  # the epoch in progress, counted from 0
    step: int = 0  # the next step within that epoch
    global_step: int = 0  # optimizer updates so far
    totals: EpochTotals = field(default_factory=EpochTotals)
    best: Best = field(default_factory=Best)
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per finished epoch
    wall_s: float = 0.0  # wall seconds of the processes before this one (resumed runs), up to their checkpoint

    def finish_epoch(self, row: dict[str, Any]) -> None:
        """Record the epoch's row and move to the start of the next epoch."""
        self.history.append(row)
        if row["val_top1"] > self.best.top1:
            self.best = Best(row["val_top1"], row["val_top5"], self.epoch + 1)
        self.totals = EpochTotals()
        self.epoch, self.step = self.epoch + 1, 0

    def as_checkpoint(self, wall_s: float) -> dict[str, Any]:
        """``wall_s``: the run's wall seconds so far, this process's included."""
        return {"epoch": self.epoch, "step": self.step, "global_step": self.global_step, "acc": asdict(self.totals),
                "best": asdict(self.best), "history": self.history, "wall_s": wall_s}

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any], steps_per_epoch: int | None = None) -> "TrainState":
        """Raises ValueError naming the first field whose type or range no trainer writes."""
        _check_fields(ckpt, steps_per_epoch)
        return cls(ckpt["epoch"], ckpt["step"], ckpt["global_step"], EpochTotals(**ckpt["acc"]), Best(**ckpt["best"]),
                   list(ckpt["history"]), float(ckpt.get("wall_s", 0.0)))  # checkpoints before wall_s: 0


def _check_fields(ckpt: dict[str, Any], steps_per_epoch: int | None) -> None:
    """The loop trusts these fields: a wrong type or range fails here, in words, instead of deep in
    the loop (a step past the epoch's end leaves it without batches: a division by zero)."""
    def whole(key: str, value: Any, top: int | None = None) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (top is not None and value > top):
            bound = f"0..{top}" if top is not None else "≥ 0"
            raise ValueError(f"field {key!r} is {value!r}, not a whole number {bound}")

    whole("epoch", ckpt["epoch"])
    whole("step", ckpt["step"], steps_per_epoch)
    whole("global_step", ckpt["global_step"])
    for key, kind in (("acc", EpochTotals), ("best", Best)):
        part = ckpt[key]
        names = {f.name for f in fields(kind)}
        if not isinstance(part, dict) or set(part) != names:
            raise ValueError(f"field {key!r} is {_short(part)}, not a dict of {', '.join(sorted(names))}")
        bad = [k for k, v in part.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad:
            raise ValueError(f"field {key}.{bad[0]} is {_short(part[bad[0]])}, not a number")
    wall = ckpt.get("wall_s", 0.0)  # checkpoints before wall_s have none
    if isinstance(wall, bool) or not isinstance(wall, (int, float)) or not 0 <= wall < float("inf"):
        raise ValueError(f"field 'wall_s' is {_short(wall)}, not a number of seconds ≥ 0")
    history = ckpt["history"]
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        raise ValueError(f"field 'history' is {_short(history)}, not a list of epoch rows")


def _short(value: Any) -> str:
    text = repr(value)
    return f"a {type(value).__name__} ({text if len(text) <= 40 else text[:39] + '…'})"


def save_checkpoint(path: Path, *, model: nn.Module, recipe: Recipe, state: TrainState, run_id: str,
                    wall_s: float = 0.0) -> None:
    """Everything a resume needs, written to a temporary file and renamed over ``path``; ``wall_s``:
    the run's wall seconds so far (a resumed run's result adds its own to them)."""
    atomic_torch_save({
        "model": model.state_dict(), "optimizer": recipe.optimizer.state_dict(),
        "scheduler": recipe.scheduler.state_dict(), "ema": recipe.ema.state_dict() if recipe.ema is not None else None,
        **state.as_checkpoint(wall_s), "rng": rng_state(), "run_id": run_id,
    }, path)


def load_checkpoint(path: Path, *, model: nn.Module, recipe: Recipe, device: torch.device,
                    run_id: str, steps_per_epoch: int | None = None) -> TrainState | None:
    """Restore model, optimizer, scheduler, EMA and RNG states from ``path``; None when there is none.
    Raises CheckpointError, and changes nothing on disk, when the file cannot be resumed from."""
    if not path.exists():
        return None
    ckpt = _read(path, device)
    if not isinstance(ckpt, dict) or ckpt.get("run_id") != run_id:
        held = ckpt.get("run_id") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(path, f"holds run {held!r}, not this run {run_id!r}")
    try:
        model.load_state_dict(ckpt["model"])
        recipe.optimizer.load_state_dict(ckpt["optimizer"])
        recipe.scheduler.load_state_dict(ckpt["scheduler"])
        if recipe.ema is not None and ckpt.get("ema") is not None:
            recipe.ema.load_state_dict(ckpt["ema"])
        state = TrainState.from_checkpoint(ckpt, steps_per_epoch)
        set_rng_state(ckpt["rng"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:  # a field's type
        raise CheckpointError(path, f"is not a checkpoint this trainer wrote ({_one_line(e)})") from None
    return state


def _read(path: Path, device: torch.device) -> Any:
    try:
        with warnings.catch_warnings():  # a pickle of another protocol: torch warns in two lines, then refuses it
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:  # the weights-only unpickler met a global it does not admit
        unsafe = _unsafe_globals(path)
        legacy = _legacy_globals(path) if not unsafe and not zipfile.is_zipfile(path) else ""
        if legacy:  # not torch.save's zip file: a bare or legacy-format pickle naming code to run
            raise CheckpointError(path, f"refused: it is a pickle in torch's legacy (non-zip) format or a bare "
                                        f"pickle, referencing {legacy}, not the zip file of tensors, numbers, "
                                        "strings, lists and dicts this trainer writes; nothing in it was run") from None
        if not unsafe:  # a cut pickle, not a refused one
            raise CheckpointError(path, f"cannot be read ({_one_line(e)}); it may be truncated") from None
        raise CheckpointError(path, f"refused: its pickle references {unsafe}, which "
                                    "torch.load(weights_only=True) does not admit, so nothing in it was run "
                                    "(this trainer's checkpoints hold only tensors, numbers, strings, lists and "
                                    "dicts)") from None
    except Exception as e:  # noqa: BLE001 - a truncated zip, a stray file: whatever torch.load says, on one line
        raise CheckpointError(path, f"cannot be read ({_one_line(e)}); it may be truncated") from None


def _unsafe_globals(path: Path) -> str:
    """The names a refused checkpoint's pickle references, read without running any of them ("" if
    it cannot be scanned)."""
    try:
        return ", ".join(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001
        return ""


def _legacy_globals(path: Path) -> str:
    """The globals a file that is no zip names in its first pickles (torch's legacy format is a row
    of them: magic number, protocol, system info, the object), listed from the opcodes without
    running anything ("" if none)."""
    names: list[str] = []
    try:
        with open(path, "rb") as f:
            for _ in range(8):
                strings: list[str] = []
                for op, arg, _pos in pickletools.genops(f):
                    if isinstance(arg, str):
                        strings.append(arg)
                    if op.name == "GLOBAL":
                        names.append(str(arg).replace(" ", "."))
                    elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                        names.append(".".join(strings[-2:]))
    except Exception:  # noqa: BLE001 - past the pickles: tensor bytes, or the end of the file
        pass
    return ", ".join(dict.fromkeys(names))


def _one_line(e: BaseException, limit: int = 160) -> str:
    text = ": ".join(filter(None, (type(e).__name__, " ".join(str(e).split()))))
    return text if len(text) <= limit else text[: limit - 1] + "…"
