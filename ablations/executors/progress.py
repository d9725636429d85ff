"""What the local executor shows while a grid trains. On a terminal: one live status line,

    runs: 2 done, 2 running, 4 left · ETA 6m10s · abs/seed1 epoch 3/5, none/seed0 epoch 1/5

redrawn at most once a second, with a line of its own above it for each run that ends. Elsewhere
(a log file, a pipe): only the line per run that ends, ``[3/8] abs seed 1 (<run id>): done, top1 87.50``.

Each running run's epoch is read from the tail of its ``metrics.jsonl`` (the trainer appends a step
row every ``train.log_every`` steps and an epoch row per epoch), a few KiB per run and redraw. The
ETA is the epochs left over the rate at which this launch has trained epochs so far (all runs
together, so it counts the runs trained at once), the epochs a resumed run had before not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, TextIO

from vt_core.files import open_regular
from vt_core.run_result import RunResult

METRICS = "metrics.jsonl"  # vt_core.run_folder.METRICS (not imported: that module loads torch)
TAIL_BYTES = 16384  # enough for an epoch row and the step rows after it at the usual train.log_every
ACTIVE = ("left", "running", "held")  # any other state: the run ended (done, diverged, failed, ...)


@dataclass
class RunProgress:
    name: str  # "abs/seed0"
    state: str  # left | running | held (another process trains it) | done | diverged | failed | skipped
    epoch: float = 0.0  # epochs completed, with the fraction of the one in progress where known
    epochs: int = 0  # train.epochs
    start: float = 0.0  # epochs completed when this launch first saw the run (a resume's earlier ones)


def status_line(runs: Sequence[RunProgress], elapsed_s: float, width: int) -> str:
    """The terminal's status line over the grid, at most ``width - 1`` characters."""
    count = Counter(r.state for r in runs)
    parts = [f"{count['done'] + count['diverged']} done"]
    parts += [f"{count[s]} {s}" for s in ("failed", "skipped") if count[s]]
    parts.append(f"{count['running']} running")
    if count["held"]:
        parts.append(f"{count['held']} held elsewhere")
    parts.append(f"{count['left']} left")
    line = "runs: " + ", ".join(parts)
    left = sum(max(0.0, r.epochs - r.epoch) for r in runs if r.state in ACTIVE)
    if left > 0:
        trained = sum(max(0.0, r.epoch - r.start) for r in runs)
        line += " · ETA " + (duration(left * elapsed_s / trained) if trained > 0 and elapsed_s > 0 else "--")
    running = [f"{r.name} epoch {min(int(r.epoch) + 1, max(r.epochs, 1))}/{r.epochs}"
               for r in runs if r.state == "running"]
    if running:
        line += " · " + ", ".join(running)
    return line if len(line) < width else line[:max(width - 2, 0)] + "…"


def duration(seconds: float) -> str:
    """``45s``, ``4m10s``, ``2h05m``, ``3d04h``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def finished_line(k: int, n: int, variant: str, seed: int, run_id: str, state: str,
                  result: RunResult | None = None, note: str = "") -> str:
    """The line a run gets when it ends: ``[k/n] abs seed 0 (<id>): done, top1 87.50``."""
    line = f"[{k}/{n}] {variant} seed {seed} ({run_id}): {state}"
    if state == "done" and result is not None and result.top1 is not None:
        line += f", top1 {result.top1:.2f}"
    return line + (f", {note}" if note else "")


class EpochReader:
    """Epochs completed by a run, from the tail of its metrics.jsonl; remembers each run's steps
    per epoch (from an epoch row: its global step over its epoch) to place the step rows after it."""

    def __init__(self) -> None:
        self.steps_per_epoch: dict[Path, float] = {}

    def epochs_done(self, folder: Path) -> float:
        rows = _tail_rows(folder / METRICS)
        if not rows:
            return 0.0
        for row in reversed(rows):
            if "val_top1" in row and row.get("epoch", 0) > 0 and row.get("step", 0) > 0:
                self.steps_per_epoch[folder] = row["step"] / row["epoch"]
                break
        last = rows[-1]
        epoch = float(last.get("epoch", 0))
        if "val_top1" in last:  # an epoch row counts its epoch from 1: that many are done
            return epoch
        spe = self.steps_per_epoch.get(folder)  # a step row: its epoch (from 0) is in progress
        if not spe:
            return epoch
        return epoch + min(max((last.get("step", 0) - epoch * spe) / spe, 0.0), 0.999)


def run_progress(folder: Path, epochs: int) -> str:
    """``--status``'s detail for a run with a metrics.jsonl: ``epoch 2.4/12 · step 310 · ETA 1m05s``,
    the ETA from the rate of the rows in its tail (their ``time`` stamps, this attempt's); "" where it
    has no rows yet."""
    rows = [r for r in _tail_rows(folder / METRICS) if isinstance(r, dict)]
    if not rows:
        return ""
    reader = EpochReader()
    done = reader.epochs_done(folder)
    text = f"epoch {done:.1f}/{epochs} · step {rows[-1].get('step', 0)}"
    spe = reader.steps_per_epoch.get(folder)
    stamped = [r for r in rows if isinstance(r.get("time"), (int, float)) and isinstance(r.get("step"), int)]
    if spe and len(stamped) >= 2 and done < epochs:
        first, last = stamped[0], stamped[-1]
        if last["time"] > first["time"] and last["step"] > first["step"]:
            epochs_per_s = (last["step"] - first["step"]) / spe / (last["time"] - first["time"])
            text += f" · ETA {duration((epochs - done) / epochs_per_s)}"
    return text


def _tail_rows(path: Path) -> list[dict[str, Any]]:
    try:
        with open_regular(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - TAIL_BYTES))
            tail = f.read().decode(errors="replace")
    except OSError:
        return []
    rows = []
    for line in tail.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # the first line cut by the seek, or the last one being written
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


class Progress:
    """The status line on a terminal (stderr), the lines of ended runs on stdout either way."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s, self.started, self.drawn_at = every_s, time.monotonic(), 0.0
        self.shown = False

    def line(self, text: str) -> None:
        self.clear()
        print(text, flush=True)
        self.drawn_at = 0.0  # redraw at the next call

    def due(self) -> bool:
        """Whether ``draw`` would draw now (so the caller reads the run folders only then)."""
        return self.tty and time.monotonic() - self.drawn_at >= self.every_s

    def draw(self, runs: Sequence[RunProgress]) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        width = shutil.get_terminal_size().columns
        self.stream.write("\r" + status_line(runs, now - self.started, width) + "\x1b[K")
        self.stream.flush()
        self.drawn_at, self.shown = now, True

    def clear(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
