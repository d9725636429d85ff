"""The real local Slurm for tests: whether it answers, and reading what a grid left there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.launch import ROOT

CLUSTER = str(ROOT / "slurm" / "profiles" / "local.yaml")


def slurm_unavailable() -> str | None:
    if not shutil.which("sbatch"):
        return "no sbatch on PATH: start one with slurm/local-cluster/start.sh (CI does)"
    try:
        out = subprocess.run(["sinfo", "--noheader", "--partition=local", "--format=%t"], capture_output=True,
                             text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as e:
        return f"sinfo failed: {e}"
    if not any(s.strip() in ("idle", "mix", "alloc") for s in out.stdout.split()):
        return f"the 'local' partition has no usable node (sinfo: {out.stdout.strip() or out.stderr.strip()})"
    return None


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def index(runs: Path, grid: str) -> list[dict]:
    return json.loads((runs / grid / "grid.json").read_text())["runs"]


def results(runs: Path, grid: str) -> dict[tuple[str, int], dict]:
    out = {}
    for r in index(runs, grid):
        p = runs / grid / r["run_id"] / "result.json"
        out[(r["variant"], r["seed"])] = json.loads(p.read_text()) if p.exists() else None
    return out


def queue_empty(runs: Path, grid: str) -> bool:
    sys.path.insert(0, str(ROOT))
    from ablations.executors.slurm.submit import queued_run_ids

    return not queued_run_ids(runs / grid)
