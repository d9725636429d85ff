"""How fast the launcher plans at scale: ``--dry-run`` of a 2,000-run grid (400 variants × 5 seeds
over 40 distinct models) and ``--status`` over 2,000 finished run folders, each in a fresh process,
with its wall time and peak RSS. Everything lives in a temporary folder.

    python benchmarks/plan.py [--variants 400] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]

GRID = '''
DESCRIPTION = "A planning benchmark: 40 models (depth × width × position) × 10 learning rates."
BASE = {{"preset": "vit_cpu", "model.pool": "mean"}}
BASELINE = "m0_lr0"
METRIC = "top1"
SEEDS = tuple(range({seeds}))
PROFILES = {{"cpu": {{"data.name": "arrangement", "data.train_size": 256, "data.val_size": 64,
                     "train.epochs": 1, "train.batch_size": 32, "train.warmup_epochs": 0}}}}


def sweep(add):
    models = [{{"model.depths": d, "model.dims": w, "model.pos": p}}
              for d in (1, 2) for w in (48, 96, 144, 192, 240) for p in ("abs", "rel", "none", "abs+rel")]
    for i in range({variants}):
        add(name=f"m{{i % 40}}_lr{{i // 40}}", **models[i % 40], **{{"train.lr": 1e-4 * (1 + i // 40)}})
'''


def timed(args: list[str]) -> str:
    """Wall time, CPU time (user + system) and peak RSS of one launcher process, as a line
    (``os.wait4`` gives that one child's own resource usage)."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(ROOT / "ablations/launch.py"), *args], stdout=subprocess.DEVNULL,
                                stderr=err, env={**os.environ, "OMP_NUM_THREADS": "1"})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            print(err.read().strip().splitlines()[-1:], file=sys.stderr)
    return (f"{wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, peak RSS {usage.ru_maxrss / 1024:.0f} "
            f"MiB (exit {proc.returncode})")


def fake_finished(grid_path: Path, runs_dir: Path) -> int:
    """A finished run folder (result.json only) for every run of the grid: --status reads them."""
    from ablations.planning.grid import expand, load_grid

    runs = expand(load_grid(str(grid_path)), "cpu")
    for r in runs:
        folder = runs_dir / r.grid / r.run_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "result.json").write_text(json.dumps({"status": "done", "run_id": r.run_id, "top1": 50.0,
                                                        "train_img_per_s": 500.0, "world_size": 1}))
    return len(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variants", type=int, default=400)
    p.add_argument("--seeds", type=int, default=5)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        grid = Path(tmp) / "plan_bench.py"
        grid.write_text(GRID.format(variants=a.variants, seeds=a.seeds))
        runs = Path(tmp) / "runs"
        common = ["--grid", str(grid), "--executor", "local", "--runs-dir", str(runs)]
        print(f"--dry-run, {a.variants * a.seeds} runs: {timed([*common, '--dry-run'])}", flush=True)
        n = fake_finished(grid, runs)
        print(f"--status over {n} finished run folders: {timed([*common, '--status'])}", flush=True)
        print(f"--dry-run, {n} runs all finished (estimates from runs): {timed([*common, '--dry-run'])}")
        print(f"launch.py --help (the imports and argparse alone): {timed(['--help'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
