"""A tiny grid written by tests and the launcher started as its command line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


TINY_GRID = """
DESCRIPTION = "A tiny grid for the tests: position on or off."
BASE = {{"preset": "vit_cpu", "model.pool": "mean", "model.depths": 1}}
BASELINE = "abs"
METRIC = "top1"
SEEDS = (0, 1)
PROFILES = {{"cpu": {{"data.name": "arrangement", "data.train_size": 128, "data.val_size": 64,
                     "train.batch_size": 32, "train.epochs": {epochs}, "train.warmup_epochs": 0}}}}


def sweep(add):
    add(name="abs", **{{"model.pos": "abs"}})
    add(name="none", **{{"model.pos": "none"}})
{extra}
"""


def write_grid(tmp_path: Path, epochs: int = 1, extra: str = "", name: str = "tiny") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(TINY_GRID.format(epochs=epochs, extra=textwrap.indent(extra, "    ")))
    return path


def launch(*args: str, runs: Path | None = None, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "ablations/launch.py", *args]
    if runs is not None:
        cmd += ["--runs-dir", str(runs), "--reports-dir", str(runs.parent / "reports")]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=kw.pop("timeout", 600),
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, **kw)


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")} if folder.exists() else {}
