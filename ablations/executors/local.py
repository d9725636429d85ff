"""The local executor: several runs at once on this machine, each a ``python -m vt_core.train`` process.

CPU threads are split between concurrent runs; on GPUs each run gets its own device through
``CUDA_VISIBLE_DEVICES``. Each run process

- is in its own session, so Ctrl-C reaches only the launcher, which sends the runs SIGTERM: they
  save a checkpoint and stop, and the next launch resumes them;
- gets SIGTERM from the kernel when the launcher dies, however it dies (``kill -9`` too), through
  ``ablations.executors.guard``: the same checkpoint and stop, never a trainer left running unwatched;
- is told the grid's axes (``--hparams-first``), so TensorBoard's HParams table leads with what varies.

A run another process trains (its folder's lock is held: another launcher's trainer, a Slurm job, a
``vt_core.train`` started by hand) gets one line, then the launch waits for it to end
(``held="wait"``) or leaves it (``held="skip"``); it is never counted as done. Progress lines:
``ablations.executors.progress``; TensorBoard names: ``ablations.executors.tensorboard``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ablations.executors.guard import guarded
from ablations.executors.progress import EpochReader, Progress, RunProgress, finished_line
from ablations.executors.tensorboard import link_tensorboard
from ablations.planning.grid import PlannedRun
from vt_core import exit_codes
from vt_core.overrides import ConfigError
from vt_core.run_folder import LOCK, RunState, atomic_write_text, config_yaml, is_locked, read_result, run_state

ROOT = Path(__file__).resolve().parents[2]  # the repository
HELD = ("wait", "skip")
ENDED = tuple(s for s in RunState if s.ended)  # the states of a run that will not train again by itself
POLL_S = 0.2


def slots(jobs: int) -> tuple[list[str | None], int]:
    """(GPU id or None per slot, CPU threads per run)."""
    from vt_core.environment import may_have_gpu

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if may_have_gpu():
        import torch  # only where a GPU may be: planning on a CPU machine stays torch-free
    if may_have_gpu() and torch.cuda.is_available():
        n = torch.cuda.device_count()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else [str(i) for i in range(n)]
        k = min(jobs or len(ids), len(ids))
        return ids[:k], max(1, cores // k)
    k = max(1, jobs or cores)
    return [None] * k, max(1, cores // k)


def held_runs(runs: Sequence[PlannedRun], state: dict[str, str]) -> list[PlannedRun]:
    """The planned runs another process trains now (``run_state`` 'running'), each run id once: what
    ``run_local(..., holding=...)`` waits for or skips."""
    out, seen = [], set()
    for r in runs:
        if state.get(r.run_id) == RunState.RUNNING and r.run_id not in seen:
            seen.add(r.run_id)
            out.append(r)
    return out


def hparams_first(gdir: Path) -> list[str]:
    """grid.json's axes, then ``train.seed`` and ``data.seed``: the HParams columns that vary."""
    from ablations.planning.grid_index import GridIndexError, read_index_if_any

    try:
        index = read_index_if_any(gdir)
    except GridIndexError:  # checked at planning: only a file broken since then gets here; the seeds still lead
        index = None
    axes = index.axes if index else []
    keys: list[str] = []
    for k in [*axes, "train.seed", "data.seed"]:
        if isinstance(k, str) and k not in keys:
            keys.append(k)
    return keys


def run_local(gdir: Path, todo: list[PlannedRun], configs: dict[str, Path], *, jobs: int = 0,
              in_process: bool = False, held: str = "wait", holding: Sequence[PlannedRun] = ()) -> int:
    """Train ``todo`` here, and wait for (or skip) ``holding``, the runs another process trains.

    Returns 0 when every run ended (done or diverged, here or in the other process), 1 when some
    failed, 3 (``exit_codes.BUSY``) when runs held elsewhere were skipped, 130 on Ctrl-C. It returns
    only once the held runs it waits for have ended, so a report written after it counts them."""
    if held not in HELD:
        raise ConfigError(f"--held: {held!r} is not one of {', '.join(HELD)}")
    if not todo and not holding:
        print("nothing to run")
        return exit_codes.OK
    _link(gdir)
    try:
        if in_process:
            return _debug(gdir, [*todo, *holding], held)
        return LocalExecutor(gdir, configs, jobs=jobs, held=held).run(todo, list(holding))
    finally:
        _link(gdir)  # entries written by other launches meanwhile


def _link(gdir: Path) -> None:
    """The TensorBoard names; a folder that refuses them costs the names, never the runs."""
    try:
        link_tensorboard(gdir)
    except OSError as e:
        print(f"note: {gdir / 'tensorboard'}: cannot write the TensorBoard links ({e.strerror or e}); "
              "the runs' own tb/ folders are complete", file=sys.stderr)


@dataclass
class _Running:
    proc: subprocess.Popen
    run: PlannedRun
    gpu: str | None


class LocalExecutor:
    """The scheduling loop: start runs into free slots, reap them, watch the held ones, draw progress."""

    def __init__(self, gdir: Path, configs: dict[str, Path], *, jobs: int, held: str) -> None:
        self.gdir, self.configs, self.held = gdir, dict(configs), held
        self.gpus, self.threads = slots(jobs)
        self.free = list(self.gpus)
        self.logs = gdir / "logs"
        self.first = ",".join(hparams_first(gdir))
        self.queue: list[PlannedRun] = []
        self.running: dict[str, _Running] = {}
        self.waiting: dict[str, PlannedRun] = {}  # held by another process; we wait for it
        self.runs: dict[str, PlannedRun] = {}
        self.kind: dict[str, str] = {}  # run id → left | running | held | its end (RunProgress.state)
        self.epoch: dict[str, float] = {}
        self.start: dict[str, float] = {}
        self.refused: list[str] = []  # exited without ending (a crash before training, a signal)
        self.reader, self.progress = EpochReader(), Progress()

    def run(self, todo: list[PlannedRun], holding: list[PlannedRun]) -> int:
        self.runs = {r.run_id: r for r in [*todo, *holding]}
        self.kind = {rid: "left" for rid in self.runs}
        self.logs.mkdir(exist_ok=True)
        self.queue = list(todo)
        print(f"running {len(self.runs)} runs, {len(self.gpus)} at a time, {self.threads} CPU thread(s) each; "
              f"logs in {self.logs}", flush=True)
        for r in holding:
            if is_locked(self._folder(r)):
                self._hold(r)
            else:  # it ended (or stopped) since the plan was made
                self._after_held(r)
        try:
            while self.queue or self.running or self.waiting:
                self._start()
                time.sleep(POLL_S)
                self._reap()
                self._release()
                if self.progress.due() and (self.queue or self.running or self.waiting):
                    self.progress.draw(self._snapshot())
        except KeyboardInterrupt:
            self.progress.clear()
            self._stop_all()
            return exit_codes.CTRL_C
        finally:
            self.progress.clear()
        return self._summary()

    def _folder(self, run: PlannedRun) -> Path:
        return self.gdir / run.run_id

    def _name(self, run: PlannedRun) -> str:
        return f"{run.variant} seed {run.seed} ({run.run_id})"

    def _start(self) -> None:
        while self.queue and self.free:
            run = self.queue.pop(0)
            if is_locked(self._folder(run)):  # taken by another process since the plan was made
                self._hold(run)
                continue
            self._spawn(run, self.free.pop(0))

    def _spawn(self, run: PlannedRun, gpu: str | None) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        folder = self._folder(run)
        cmd = guarded([sys.executable, "-m", "vt_core.train", "--config", str(self._config(run)),
                       "--out", str(folder), "--no-progress", "--hparams-first", self.first])
        self.start[run.run_id] = self.epoch[run.run_id] = self.reader.epochs_done(folder)  # a resume's
        with open(self.logs / f"{run.run_id}.log", "a") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # Ctrl-C reaches only us; we forward SIGTERM
        self.running[run.run_id] = _Running(proc, run, gpu)
        self.kind[run.run_id] = "running"

    def _config(self, run: PlannedRun) -> Path:
        """The config file the run process reads (written here for a held run the launcher did not plan to train)."""
        if run.run_id not in self.configs:
            path = self.gdir / ".configs" / f"{run.run_id}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, config_yaml(run.cfg))
            self.configs[run.run_id] = path
        return self.configs[run.run_id]

    def _reap(self) -> None:
        for rid, r in list(self.running.items()):
            code = r.proc.poll()
            if code is None:
                continue
            del self.running[rid]
            self.free.append(r.gpu)
            if code == exit_codes.BUSY:  # another process took the lock between our check and the start
                self._hold(r.run)
            else:
                self._end(r.run, code)

    def _end(self, run: PlannedRun, code: int | None, note: str = "") -> None:
        """One line for a run that ended; ``code`` None: another process ended it."""
        folder, rid = self._folder(run), run.run_id
        state = kind = run_state(folder)
        if state not in ENDED:  # the process exited without ending its run
            state, kind = _why(code or 0, state, self.logs / f"{rid}.log"), "failed"
            self.refused.append(rid)
        self.kind[rid] = kind
        if kind in ("done", "diverged"):
            self.epoch[rid] = float(run.cfg.train.total_epochs)
        ended = sum(k not in ("left", "running", "held") for k in self.kind.values())
        self.progress.line(finished_line(ended, len(self.runs), run.variant, run.seed, rid, state,
                                         read_result(folder), note))

    def _hold(self, run: PlannedRun) -> None:
        rid, who = run.run_id, _holder(self._folder(run))
        if self.held == "skip":
            self.kind[rid] = "skipped"
            self.progress.line(f"skipped: {self._name(run)} is being trained by another process{who}; "
                               "not counted as done: relaunch when it ends")
            return
        self.waiting[rid] = run
        self.kind[rid] = "held"
        self.start.setdefault(rid, self.reader.epochs_done(self._folder(run)))
        self.progress.line(f"held: {self._name(run)} is being trained by another process{who}; waiting for it to end")

    def _release(self) -> None:
        """Held runs whose lock is free: ended there (reported), or stopped unfinished (trained here)."""
        for rid, run in list(self.waiting.items()):
            folder = self._folder(run)
            if is_locked(folder):
                continue
            del self.waiting[rid]
            self._after_held(run)

    def _after_held(self, run: PlannedRun) -> None:
        state = run_state(self._folder(run))
        if state in ENDED:
            self._end(run, None, note="trained by another process")
        else:
            self.kind[run.run_id] = "left"
            self.progress.line(f"released: {self._name(run)}: the other process stopped it ({state}); "
                               "training it here")
            self.queue.append(run)

    def _snapshot(self) -> list[RunProgress]:
        out = []
        for rid, run in self.runs.items():
            if self.kind[rid] in ("running", "held"):
                self.epoch[rid] = self.reader.epochs_done(self._folder(run))
            out.append(RunProgress(f"{run.variant}/seed{run.seed}", self.kind[rid], self.epoch.get(rid, 0.0),
                                   run.cfg.train.total_epochs, self.start.get(rid, 0.0)))
        return out

    def _stop_all(self) -> None:
        print("\ninterrupted: stopping the running runs (they save a checkpoint); relaunch to resume", flush=True)
        for r in self.running.values():
            r.proc.send_signal(signal.SIGTERM)
        for r in self.running.values():
            try:
                r.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                r.proc.kill()

    def _summary(self) -> int:
        failed = [rid for rid, k in self.kind.items() if k == "failed" and rid not in self.refused]
        for rid in failed:
            print(f"failed: {self.gdir / rid / 'error.txt'}")
        skipped = sum(k == "skipped" for k in self.kind.values())
        if skipped:
            print(f"skipped {skipped} run{'s' if skipped > 1 else ''} held by another process, not counted as done; "
                  "relaunch when they end (or with --held wait)")
        if failed or self.refused:
            return exit_codes.FAILED
        return exit_codes.BUSY if skipped else exit_codes.OK


def _why(code: int, state: str, log: Path) -> str:
    """What a run process that exited without ending its run did (``state``: its folder's now)."""
    if code == exit_codes.INTERRUPTED:
        return f"interrupted (stopped by a signal, checkpoint saved; relaunch to resume; {log})"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} ({state}; relaunch to resume; see {log})"
    return f"failed before starting (exit {code}, see {log})"


def _holder(folder: Path) -> str:
    """`` (pid N)`` from the lock file (RunLock writes its pid there), or nothing."""
    try:
        pid = (folder / LOCK).read_text().strip()
    except (OSError, ValueError):  # unreadable, or not text: no pid to name
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _debug(gdir: Path, runs: list[PlannedRun], held: str) -> int:
    """In this process, one after the other, so a debugger can stop inside a run."""
    from vt_core.train import RunBusy, train

    failed = skipped = 0
    first = hparams_first(gdir)
    for run in runs:
        folder = gdir / run.run_id
        print(f"== {run.variant} seed {run.seed} ({run.run_id})", flush=True)
        while True:
            if is_locked(folder):
                if held == "skip":
                    print(f"skipped: being trained by another process{_holder(folder)}; not counted as done")
                    skipped += 1
                    break
                print(f"held: being trained by another process{_holder(folder)}; waiting for it to end", flush=True)
                while is_locked(folder):
                    time.sleep(POLL_S)
            try:
                train(run.cfg, folder, hparams_first=first)  # returns the result of a run ended elsewhere
                break
            except RunBusy:  # taken again between our check and the lock
                continue
            except Exception as e:  # recorded in error.txt by train(); go on with the others
                print(f"failed: {type(e).__name__}: {e}", flush=True)
                failed += 1
                break
    return exit_codes.FAILED if failed else exit_codes.BUSY if skipped else exit_codes.OK
