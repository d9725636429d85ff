"""Calibration: what a run of a model will get on this machine, measured before the grid trains.

Timed updates of the trainer's own step (its optimizer, schedule, loss, autocast and statistics) on
random tensors at the run's batch size give training images per second, and timed forward passes
without gradients give evaluation images per second (a run evaluates its
validation set every epoch). On the CPU each run gets the threads the local executor gives it, and
runs train side by side: so the calibration runs as many worker processes at once as the launcher
will run trainers, each with those threads, and keeps the median of the workers' figures. Measured
alone, a model on 1 thread of 2 cores gets nearly twice what it gets beside another run.

    python -m ablations.planning.calibrate CONFIGS.json THREADS   # one worker: JSON figures on stdout
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vt_core.config import RunConfig

STEPS = 5  # timed steps at least, after two untimed warm-up steps ...
MIN_S = 1.0  # ... and until this long (at most 200 steps): the rate over that window, as a run sees it
ROOT = Path(__file__).resolve().parents[2]


def measure(cfg: RunConfig, threads: int = 0) -> tuple[float, float]:
    """(training, evaluation) images per second of ``cfg``'s model here, in this process, with
    ``threads`` CPU threads where given."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _timed(cfg, train=True), _timed(cfg, train=False)
    finally:
        torch.set_num_threads(before)


def _timed(cfg: RunConfig, *, train: bool) -> float:
    """Images per second of the trainer's own update (``vt_core.train.epoch.train_step``: its recipe's
    optimizer, schedule, loss, autocast, gradient norm and step statistics), or of a forward pass
    without gradients, on random tensors at the run's batch size."""
    from types import SimpleNamespace

    import torch

    from vt_core.model import VisionTransformer
    from vt_core.train import distributed as D
    from vt_core.train.epoch import train_step
    from vt_core.train.recipe import build_recipe

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    m, batch = cfg.model, cfg.train.batch_size
    model = VisionTransformer(m).to(device).train(train)
    recipe = build_recipe(cfg, model, steps_per_epoch=max(1, cfg.data.train_size // batch), device=device)
    run = SimpleNamespace(cfg=cfg, recipe=recipe, net=model, model=model, denv=D.detect(), device=device)
    state = SimpleNamespace(global_step=0)
    x = torch.randn(batch, m.in_chans, m.img_size, m.img_size, device=device)
    y = torch.randint(0, max(m.num_classes, 1), (batch,), device=device)
    times: list[float] = []
    for step in range(2 + 200):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        if train:
            train_step(run, state, x, y)
        else:
            with torch.no_grad(), recipe.autocast():
                model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - t0)
        if len(times) >= STEPS and sum(times) >= MIN_S:
            break
    # the mean rate over the window, not the median step: on a shared CPU the scheduler hands each
    # process slices, and a run's throughput is its share over time (a median of short steps measured
    # the steps that ran uninterrupted: 1.6 times a run's rate beside two busy processes)
    return batch * len(times) / max(sum(times), 1e-9)


def side_by_side(cfgs: list[RunConfig], threads: int, workers: int) -> list[tuple[float, float]]:
    """``measure`` of every config, in ``workers`` processes at once (each with ``threads``), the
    median per config; in this process where one run trains at a time."""
    if workers <= 1:
        return [measure(c, threads) for c in cfgs]
    from vt_core.overrides import to_dict

    with tempfile.TemporaryDirectory(prefix="vt_calibrate_") as tmp:
        spec = Path(tmp) / "configs.json"
        spec.write_text(json.dumps([to_dict(c) for c in cfgs], default=str))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads or 1), "PYTHONPATH": str(ROOT)}
        procs = [subprocess.Popen([sys.executable, "-m", "ablations.planning.calibrate", str(spec), str(threads)],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
        outputs = [p.communicate() for p in procs]
    figures = []
    for (out, err), proc in zip(outputs, procs):
        if proc.returncode != 0:
            raise RuntimeError(f"calibration worker failed: {err.strip().splitlines()[-1] if err.strip() else '?'}")
        figures.append(json.loads(out))
    return [(statistics.median(f[i][0] for f in figures), statistics.median(f[i][1] for f in figures))
            for i in range(len(cfgs))]


def _worker(spec: str, threads: int) -> list[Any]:
    from vt_core.overrides import from_dict

    return [list(measure(from_dict(RunConfig, c), threads)) for c in json.loads(Path(spec).read_text())]


if __name__ == "__main__":
    print(json.dumps(_worker(sys.argv[1], int(sys.argv[2]))))
