"""The Slurm executor, through submitit only: the runs as job arrays that fit the cluster's limits,
requeue on preemption or timeout from the run's checkpoint, DDP inside a job for multi-task runs,
one report job after all the arrays. The cluster profile and limits: ``ablations/executors/slurm/cluster.py``;
what was submitted and what the queue says of it: ``ablations/executors/slurm/jobs.py``."""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path
from typing import Any

from ablations.executors.slurm.cluster import ClusterLimits, ClusterProfile, load_cluster, read_limits
from ablations.executors.slurm.jobs import append_record, jobs_in_queue, live_arrays, queued_run_ids
from ablations.executors.slurm.task import TrainJob
from vt_core import exit_codes
from vt_core.overrides import ConfigError

__all__ = ["ClusterProfile", "TrainJob", "check_client", "executor_parameters", "load_cluster", "queued_run_ids",
           "read_limits", "submit"]
POLL_S = 5  # how often a launcher waiting for room in the queue looks again


SLURM_CLIENTS = ("sbatch", "srun")  # submitit submits with sbatch and refuses to start without srun


def check_client() -> None:
    """Refuse a submission (exit 2, before anything is written) where Slurm's commands are missing."""
    import shutil

    missing = [c for c in SLURM_CLIENTS if shutil.which(c) is None]
    if missing:
        raise ConfigError(f"--executor slurm: {' and '.join(missing)} not found on PATH (no Slurm client on this "
                          "machine); launch from a Slurm login node, or use --executor local (--dry-run plans "
                          "for Slurm anywhere)")


def executor_parameters(c: ClusterProfile, n_runs: int) -> dict[str, Any]:
    """submitit's parameters for the training array (one task per GPU, DDP across them)."""
    tasks = c.tasks_per_node
    params: dict[str, Any] = {
        "slurm_partition": c.partition,
        "timeout_min": c.time,
        "nodes": c.nodes,
        "tasks_per_node": tasks,
        "cpus_per_task": max(1, c.cpus_per_task // tasks),
        "mem_gb": c.mem_gb,
        "slurm_array_parallelism": min(c.array_parallelism, max(n_runs, 1)),
        "slurm_signal_delay_s": c.signal_delay_s,  # SIGUSR2 that long before the time limit: checkpoint, requeue
    }
    if c.gpus_per_run:
        params["gpus_per_node"] = c.gpus_per_run
    if c.account:
        params["slurm_account"] = c.account
    if c.qos:
        params["slurm_qos"] = c.qos
    if c.constraint:
        params["slurm_constraint"] = c.constraint
    if c.extra:
        params["slurm_additional_parameters"] = dict(c.extra)
    return params


def hparams_first(grid: Any) -> tuple[str, ...]:
    """The keys TensorBoard's HParams table leads with: what varies in the grid, then the seeds."""
    return (*grid.axes(), *(k for k in ("train.seed", "data.seed") if k not in grid.axes()))


def array_sizes(n_runs: int, limits: ClusterLimits, room: int | None) -> list[int]:
    """The arrays to submit now: each at most MaxArraySize tasks, all together within the room
    MaxSubmitJobs leaves (None: no limit seen); the rest waits for room."""
    left = n_runs if room is None else min(n_runs, max(room, 0))
    sizes = []
    while left > 0:
        sizes.append(min(left, limits.max_array_size))
        left -= sizes[-1]
    return sizes


def _room(limits: ClusterLimits) -> int | None:
    return None if limits.max_submit_jobs is None else limits.max_submit_jobs - jobs_in_queue()


def follow_hint(grid: Any, runs_dir: Path, profile: str) -> str:
    """The --status command for this grid, with every flag that is not the default."""
    from ablations.planning.grid import GRIDS_DIR

    in_repo = Path(grid.path).resolve().parent == GRIDS_DIR.resolve()
    cmd = f"python ablations/launch.py --grid {grid.name if in_repo else grid.path}"
    if profile != "cpu":  # launch.py's --profile default
        cmd += f" --profile {profile}"
    if runs_dir.resolve() != Path("runs").resolve():  # launch.py's --runs-dir default
        cmd += f" --runs-dir {runs_dir}"
    return cmd + " --status"


def submit(grid: Any, gdir: Path, todo: list[Any], configs: dict[str, Path], cluster: ClusterProfile,
           limits: ClusterLimits, *, report: bool, runs_dir: Path, profile: str, reports_dir: Path) -> int:
    """Submit ``todo`` as arrays within the cluster's limits (waiting for room where MaxSubmitJobs
    says so), each recorded in slurm.json as soon as Slurm took it, then one report job after all."""
    import submitit

    if not todo:
        print("nothing to submit")
        return exit_codes.OK
    logs = gdir / ".submitit"
    executor = submitit.AutoExecutor(folder=logs / "%j", cluster="slurm", slurm_max_num_timeout=cluster.max_requeues)
    executor.update_parameters(name=f"vt-{grid.name}", **executor_parameters(cluster, len(todo)))
    job, earlier, arrays, queue, said = TrainJob(hparams_first(grid)), live_arrays(gdir), [], list(todo), False
    try:
        while queue:
            sizes = array_sizes(len(queue), limits, _room(limits))
            if not sizes and not said:
                said = True
                print(f"the queue takes at most {limits.max_submit_jobs} jobs of yours (MaxSubmitJobs): waiting for "
                      f"room for the other {len(queue)} runs (Ctrl-C stops waiting; a relaunch submits the rest)",
                      flush=True)
            for size in sizes:
                chunk, queue = queue[:size], queue[size:]
                arrays.append(_submit_array(executor, job, chunk, configs, gdir, logs))
            if queue:
                time.sleep(POLL_S)
        while report and (room := _room(limits)) is not None and room < 1:  # the report job needs one too
            time.sleep(POLL_S)
        report_id = _submit_report(grid, cluster, logs, [*earlier, *arrays], runs_dir, profile, reports_dir) \
            if report else None
    except KeyboardInterrupt:
        print(f"\nstopped waiting: {len(todo) - len(queue)} of {len(todo)} runs submitted (recorded in "
              f"{gdir / 'slurm.json'}); relaunch to submit the rest")
        return exit_codes.CTRL_C
    except Exception as e:  # sbatch refused: say what Slurm took, so that the next launch knows
        why = next((ln for ln in reversed(str(e).splitlines()) if ln.strip()), type(e).__name__).strip()
        if not arrays:
            raise ConfigError(f"sbatch refused the first array ({why}); nothing was submitted") from None
        print(f"error: sbatch refused ({why}) after {len(todo) - len(queue)} of {len(todo)} runs were submitted in "
              f"arrays {', '.join(arrays)} (recorded in {gdir / 'slurm.json'}); relaunch to submit the rest",
              file=sys.stderr)
        return exit_codes.FAILED
    print(f"submitted {len(todo)} runs in {len(arrays)} array(s) of at most {limits.max_array_size} "
          f"(MaxArraySize), at most {min(cluster.array_parallelism, len(todo))} of each at once")
    if report_id:
        print(f"report job {report_id} runs after all of them (afterany)")
    print(f"follow: {follow_hint(grid, runs_dir, profile)}   logs: {logs}/<array>_<task>/")
    return exit_codes.OK


def _submit_array(executor: Any, job: TrainJob, chunk: list[Any], configs: dict[str, Path], gdir: Path,
                  logs: Path) -> str:
    """One map_array, recorded at once; a refused one leaves none of submitit's pickles behind."""
    before = set(logs.glob("*.pkl")) if logs.exists() else set()
    try:  # submitit prints sbatch's refusal too; it is in the exception, which the caller says in one line
        with contextlib.redirect_stderr(io.StringIO()):
            jobs = executor.map_array(job, [str(configs[r.run_id].resolve()) for r in chunk],
                                      [str((gdir / r.run_id).resolve()) for r in chunk])
    except BaseException:
        for p in (set(logs.glob("*.pkl")) - before) if logs.exists() else ():
            p.unlink(missing_ok=True)
        raise
    array_id = jobs[0].job_id.split("_")[0]
    append_record(gdir, {"array": array_id, "tasks": {j.job_id: r.run_id for j, r in zip(jobs, chunk)}})
    print(f"submitted array {array_id}: {len(jobs)} runs", flush=True)
    return array_id


def _submit_report(grid: Any, cluster: ClusterProfile, logs: Path, arrays: list[str], runs_dir: Path, profile: str,
                   reports_dir: Path) -> str:
    import submitit

    from ablations.report import write_report

    rep = submitit.AutoExecutor(folder=logs / "report_%j", cluster="slurm")
    extra = {"dependency": "afterany:" + ":".join(arrays), **({"account": cluster.account} if cluster.account else {})}
    rep.update_parameters(name=f"vt-{grid.name}-report", slurm_partition=cluster.partition, timeout_min=30,
                          cpus_per_task=1, mem_gb=4, slurm_additional_parameters=extra,
                          **({"slurm_qos": cluster.qos} if cluster.qos else {}))
    with contextlib.redirect_stderr(io.StringIO()):  # a refusal is in the exception (one line from submit)
        return rep.submit(write_report, grid.name, runs_dir=str(runs_dir.resolve()), grid_path=str(grid.path),
                          out_dir=str((reports_dir / grid.name).resolve()), profile=profile).job_id
