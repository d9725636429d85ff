"""The local executor: several runs at once on this machine, each a ``python -m vt_core.train`` process.

CPU threads are split between concurrent runs; on GPUs each run gets its own device through
``CUDA_VISIBLE_DEVICES``. Ctrl-C sends SIGTERM to the runs, which checkpoint and stop; the next
launch resumes them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ablations.grid import PlannedRun
from vt_core import exit_codes
from vt_core.run_folder import run_state

ROOT = Path(__file__).resolve().parents[1]


def slots(jobs: int) -> tuple[list[str | None], int]:
    """(GPU id or None per slot, CPU threads per run)."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(n)]
        k = min(jobs or len(ids), len(ids))
        return ids[:k], max(1, cores // k)
    k = max(1, jobs or cores)
    return [None] * k, max(1, cores // k)


def run_local(gdir: Path, todo: list[PlannedRun], configs: dict[str, Path], *, jobs: int = 0,
              in_process: bool = False) -> int:
    if not todo:
        print("nothing to run")
        return 0
    if in_process:
        return _debug(gdir, todo)
    gpus, threads = slots(jobs)
    logs = gdir / "logs"
    logs.mkdir(exist_ok=True)
    queue = list(todo)
    running: dict[int, tuple[subprocess.Popen, PlannedRun, str | None]] = {}
    free = list(gpus)
    finished: dict[str, int] = {}
    refused: list[str] = []
    bar = _progress(len(todo))
    print(f"running {len(todo)} runs, {len(gpus)} at a time, {threads} CPU thread(s) each; logs in {logs}", flush=True)
    try:
        while queue or running:
            while queue and free:
                run = queue.pop(0)
                gpu = free.pop(0)
                env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                if gpu is not None:
                    env["CUDA_VISIBLE_DEVICES"] = gpu
                cmd = [sys.executable, "-m", "vt_core.train", "--config", str(configs[run.run_id]),
                       "--out", str(gdir / run.run_id), "--no-progress"]
                log = open(logs / f"{run.run_id}.log", "a")
                proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # Ctrl-C reaches only us; we forward SIGTERM
                log.close()
                running[proc.pid] = (proc, run, gpu)
            time.sleep(0.2)
            for pid, (proc, run, gpu) in list(running.items()):
                code = proc.poll()
                if code is None:
                    continue
                del running[pid]
                free.append(gpu)
                finished[run.run_id] = code
                state = run_state(gdir / run.run_id)
                if code == exit_codes.BUSY:  # another launcher trains it: that one reports it
                    state = "running elsewhere (skipped)"
                elif code != 0 and state not in ("done", "diverged", "failed"):
                    state = f"failed before starting (exit {code}, see {logs / (run.run_id + '.log')})"
                    refused.append(run.run_id)
                _tick(bar, f"{run.variant} seed {run.seed} ({run.run_id}): {state}")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the running runs (they save a checkpoint); relaunch to resume", flush=True)
        for proc, _, _ in running.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _, _ in running.values():
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
        return exit_codes.CTRL_C
    finally:
        if bar is not None:
            bar.close()
    failed = [rid for rid in finished if run_state(gdir / rid) == "failed"]
    for rid in failed:
        print(f"failed: {gdir / rid / 'error.txt'}")
    return exit_codes.FAILED if failed or refused else exit_codes.OK


def _debug(gdir: Path, todo: list[PlannedRun]) -> int:
    """In this process, one after the other, so a debugger can stop inside a run."""
    from vt_core.train import train

    failed = 0
    for run in todo:
        print(f"== {run.variant} seed {run.seed} ({run.run_id})", flush=True)
        try:
            train(run.cfg, gdir / run.run_id)
        except Exception as e:  # recorded in error.txt by train(); go on with the others
            print(f"failed: {type(e).__name__}: {e}", flush=True)
            failed += 1
    return exit_codes.FAILED if failed else exit_codes.OK


def _progress(total: int):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="runs", unit="run")


def _tick(bar, message: str) -> None:
    if bar is None:
        print(message, flush=True)
    else:
        bar.write(message)
        bar.update(1)
