"""What an analysis costs: ``python -m vt_core.analyze.benchmark [--out DIR] [--no-swin-t]``.

Builds, in ``--out`` (default: a temporary folder), a CPU-preset run (``swin_cpu`` trained one epoch
on the default probe) and an evaluation-only Swin-T at 224² (random weights through
``train.init_from``: the cost does not depend on the values), then times ``python -m vt_core.analyze``
on each as a fresh process (state load: imports, data, weights) and prints the per-measure seconds
written to analysis.json. Figures, not a test: docs/benchmarks.md ("Mechanism measures") holds them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CPU_RUN = ["data.train_size=2048", "train.epochs=1"]
SWIN_T = ["data.train_size=64", "data.val_size=64", "train.epochs=0", "train.batch_size=16"]


def _prepare(out: Path, swin_t: bool) -> list[tuple[str, Path, list[str]]]:
    from ..run_folder import RESULT
    from ..train.run import build_config, train

    cases = [("swin_cpu (CPU preset, 64 images)", out / "swin_cpu", [])]
    if not (out / "swin_cpu" / RESULT).exists():
        train(build_config("swin_cpu", None, CPU_RUN), out / "swin_cpu", progress=False)
    if swin_t:
        from ..model import VisionTransformer
        from ..resolve import resolve

        weights = out / "swin_t_random.pt"
        cfg = build_config("swin_tiny_patch4_window7_224", None, SWIN_T + [f"train.init_from={weights}"])
        if not weights.exists():  # the resolved model (num_classes from the data) before init_from is checked
            model_cfg = resolve(build_config("swin_tiny_patch4_window7_224", None, SWIN_T)).model
            torch.save(VisionTransformer(model_cfg).state_dict(), weights)
        if not (out / "swin_t" / RESULT).exists():
            train(cfg, out / "swin_t", progress=False)
        cases.append(("Swin-T 224² (64 images)", out / "swin_t", []))
    return cases


def _time_cli(run: Path, extra: list[str]) -> tuple[float, float, dict]:
    """Wall seconds and CPU seconds (user + system, all threads) of one command, and its per-measure seconds.
    On a shared machine the CPU seconds are the figure that does not depend on the neighbours."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-m", "vt_core.analyze", str(run), "--force", *extra], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - tick
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads((run / "analysis.json").read_text())["seconds"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vt_core.analyze.benchmark", description=__doc__.splitlines()[0])
    p.add_argument("--out", help="where the runs go (kept; default a temporary folder)")
    p.add_argument("--no-swin-t", action="store_true", help="only the CPU-preset run")
    args = p.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="analyze_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    cases = _prepare(out, not args.no_swin_t)
    print(f"threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    for label, run, extra in cases:
        wall, cpu, seconds = _time_cli(run, extra)
        parts = ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} CPU-s for the command ({parts} s wall; state load and "
              f"writing the rest); load average now {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
