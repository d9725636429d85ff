"""Benchmark the report's aggregation: write synthetic run folders, time reading them back.

    python benchmarks/report.py                     # 10,000 runs: 500 variants × 20 seeds
    python benchmarks/report.py --runs 2000 --epochs 100 --keep /tmp/bench_runs

Each synthetic run folder has the files a real run leaves: a result.json (with eval_sizes for a
third of them) and a metrics.jsonl with one epoch row and four step rows per epoch; about 1 % of
the runs failed (error.txt), 1 % diverged, 0.2 % have a truncated result.json and 1 % never
started. Prints the time of ``aggregate`` (tidy table + curves), of ``summarize`` and the budget.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_S = 10.0


def write_synthetic(root: Path, runs: int = 10_000, seeds: int = 20, epochs: int = 30, grid: str = "bench") -> Path:
    """``root/<grid>/`` with ``runs`` run folders and their grid.json; returns the grid folder."""
    rng = random.Random(0)
    gdir = root / grid
    gdir.mkdir(parents=True, exist_ok=True)
    n_variants = max(1, runs // seeds)
    variants = [f"v{i:04d}" for i in range(n_variants)]
    entries = []
    for i in range(runs):
        v, seed = variants[i // seeds % n_variants], i % seeds
        rid = f"{v}-s{seed:03d}-{i:06x}"
        entries.append({"variant": v, "seed": seed, "run_id": rid, "profile": "cpu",
                        "overrides": {"preset": "vit_cpu", "train.epochs": epochs, "model.depth_scale": i // seeds,
                                      "train.seed": seed}})
        d = gdir / rid
        kind = rng.random()
        if kind < 0.01:  # never started: no folder
            continue
        d.mkdir()
        if kind < 0.02:
            (d / "error.txt").write_text("Traceback (most recent call last):\nRuntimeError: boom\n")
            continue
        top1 = 60 + 10 * rng.random()
        result = {
            "status": "diverged" if kind < 0.03 else "done", "run_id": rid, "epochs": epochs, "top1": top1,
            "top5": top1 + 20, "loss": 1.2, "train_loss": 1.1, "best_top1": top1 + 0.3, "best_top5": top1 + 20.2,
            "best_epoch": epochs, "params": 5.4e6, "macs": 3.1e8, "gmacs": 0.31, "train_img_per_s": 900 + rng.random(),
            "peak_mem_mb": 812.0, "wall_time_s": 300.0, "world_size": 1,
            "env": {"python": "3.11", "torch": "2.5.0", "timm": "1.0.11", "host": "n1", "device": "cpu (2 cores)",
                    "threads": 2, "git_commit": "0123456789abcdef"},
        }
        if i % 3 == 0:
            result["eval_sizes"] = {str(s): {"top1": top1 - 1, "top5": top1 + 19, "loss": 1.3} for s in (24, 32, 48)}
        text = json.dumps(result, indent=2) + "\n"
        (d / "result.json").write_text(text[: len(text) // 2] if kind > 0.998 else text)
        lines = []
        for e in range(1, epochs + 1):
            for k in range(4):
                lines.append(json.dumps({"epoch": e - 1, "step": e * 100 + k * 25, "train_loss": 1.5, "lr": 1e-3,
                                         "grad_norm": 0.9}))
            lines.append(json.dumps({"epoch": e, "step": e * 100 + 100, "train_loss": 2.0 / e,
                                     "train_top1": top1 * e / epochs,
                                     "val_loss": 1.8 / e, "val_top1": top1 * e / epochs, "val_top5": 90.0, "lr": 1e-3,
                                     "grad_norm": 0.9, "img_per_s": 900.0}))
        (d / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    index = {"grid": grid, "description": "synthetic runs for the report benchmark", "baseline": variants[0],
             "metric": "top1", "axes": ["model.depth_scale"], "paper": {}, "variants": variants, "runs": entries}
    (gdir / "grid.json").write_text(json.dumps(index))
    return gdir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--keep", help="write the runs here and keep them (default: a temporary folder, removed)")
    args = p.parse_args(argv)
    from ablations.report import aggregate, summarize

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_report_"))
    try:
        t0 = time.perf_counter()
        write_synthetic(root, args.runs, args.seeds, args.epochs)
        t1, c1 = time.perf_counter(), time.process_time()
        agg = aggregate("bench", root)
        t2, c2 = time.perf_counter(), time.process_time()
        summary = summarize(agg.runs, "top1", agg.grid["baseline"], agg.variants)
        t3, c3 = time.perf_counter(), time.process_time()
        states = agg.runs["status"].astype(str).value_counts().to_dict()
        print(f"wrote {args.runs} run folders ({args.epochs} epochs each) in {t1 - t0:.1f} s")
        print(f"aggregate: {t2 - t1:.2f} s wall, {c2 - c1:.2f} s CPU for {len(agg.runs)} runs, {len(agg.curves)} curve "
              f"rows; states {states}; {len(agg.problems)} problems reported")
        print(f"summarize: {t3 - t2:.2f} s wall, {c3 - c2:.2f} s CPU for {len(summary)} variants")
        total = t3 - t1
        load = f", load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores" if hasattr(os, "getloadavg") else ""
        print(f"total {total:.2f} s wall, {c3 - c1:.2f} s CPU (budget {BUDGET_S:.0f} s{load}): "
              f"{'ok' if total < BUDGET_S else 'TOO SLOW'}")
        return 0 if total < BUDGET_S else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
