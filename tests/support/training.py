"""Tiny training runs for tests: CPU-sized settings and the trainer started as its command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vt_core.config import RunConfig
from vt_core.train import build_config

ROOT = Path(__file__).resolve().parents[2]


TINY = [
    "data.train_size=512", "data.val_size=256", "train.batch_size=64", "train.epochs=3", "train.warmup_epochs=1",
    "train.log_every=2",
]


def tiny_sets(*extra: str) -> list[str]:
    """TINY with ``extra`` on top: a key in ``extra`` replaces TINY's (``--set`` refuses a key given twice)."""
    keys = {item.split("=", 1)[0] for item in extra}
    return [item for item in TINY if item.split("=", 1)[0] not in keys] + list(extra)


def tiny_cfg(*extra: str, preset: str = "vit_cpu") -> RunConfig:
    return build_config(preset, None, tiny_sets(*extra))


def cli(out: Path, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "vt_core.train", "--out", str(out), "--no-progress", *args]
    e = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen(cmd, cwd=ROOT, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def final_metrics(result: dict) -> tuple:
    return (result["top1"], result["top5"], result["loss"], result["train_loss"], result["best_top1"])
