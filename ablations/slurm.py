"""The Slurm executor, through submitit only: one job array per launch, requeue on preemption or
timeout from the run's checkpoint, DDP inside a job for multi-GPU runs, a report job after the array.

A cluster profile (``slurm/profiles/*.yaml``)::

    partition: gpu            # required
    time: 1440                # required: minutes per job (or "HH:MM:SS" / "D-HH:MM:SS")
    cpus_per_task: 8          # required
    mem_gb: 64                # required
    gpus_per_run: 1           # required (0 for CPU-only); >1 runs DDP with one task per GPU
    nodes: 1                  # nodes per run (multi-node DDP)
    account: null
    qos: null
    constraint: null
    array_parallelism: 64     # runs of the array at once
    extra: {}                 # any other sbatch option, e.g. {exclude: "node[01-02]"}
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vt_core.overrides import ConfigError

REQUIRED = ("partition", "time", "cpus_per_task", "mem_gb", "gpus_per_run")


@dataclass(frozen=True)
class ClusterProfile:
    path: str
    partition: str
    time: int  # minutes
    cpus_per_task: int
    mem_gb: float
    gpus_per_run: int
    nodes: int = 1
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    array_parallelism: int = 64
    extra: dict[str, Any] = field(default_factory=dict)


def _minutes(value: Any, path: str) -> int:
    if isinstance(value, (int, float)) and value > 0:
        return int(value)
    if isinstance(value, str):
        days, _, rest = value.rpartition("-")
        parts = [int(p) for p in rest.split(":")] if rest.replace(":", "").isdigit() else []
        if parts and len(parts) <= 3:
            h, m, s = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
            total = (int(days) if days.isdigit() else 0) * 1440 + h * 60 + m + (1 if s else 0)
            if total > 0:
                return total
    raise ConfigError(f"{path}: time {value!r} is not minutes or HH:MM:SS")


def load_cluster(path: str | None) -> ClusterProfile:
    if not path:
        raise ConfigError("--cluster: the slurm executor needs a cluster profile, "
                          "e.g. --cluster slurm/profiles/example.yaml")
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--cluster: {p}: no such file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--cluster: {p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--cluster: {p}: expected a mapping of fields")
    missing = [k for k in REQUIRED if data.get(k) in (None, "")]
    if missing:
        raise ConfigError(f"--cluster: {p} lacks {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    known = {f.name for f in fields(ClusterProfile)} - {"path"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"--cluster: {p}: unknown field(s) {', '.join(unknown)}; "
                          "put other sbatch options under 'extra'")
    try:
        prof = ClusterProfile(
            path=str(p), partition=str(data["partition"]), time=_minutes(data["time"], str(p)),
            cpus_per_task=int(data["cpus_per_task"]), mem_gb=float(data["mem_gb"]),
            gpus_per_run=int(data["gpus_per_run"]), nodes=int(data.get("nodes") or 1),
            account=data.get("account"), qos=data.get("qos"), constraint=data.get("constraint"),
            array_parallelism=int(data.get("array_parallelism") or 64), extra=dict(data.get("extra") or {}),
        )
    except (TypeError, ValueError) as e:
        raise ConfigError(f"--cluster: {p}: {e}") from None
    if prof.gpus_per_run < 0 or prof.cpus_per_task < 1 or prof.mem_gb <= 0 or prof.nodes < 1:
        raise ConfigError(f"--cluster: {p}: gpus_per_run ≥ 0, cpus_per_task ≥ 1, mem_gb > 0 and nodes ≥ 1 are needed")
    return prof


def executor_parameters(c: ClusterProfile, n_runs: int) -> dict[str, Any]:
    """submitit's parameters for the training array (one task per GPU, DDP across them)."""
    tasks = max(c.gpus_per_run, 1)
    params: dict[str, Any] = {
        "slurm_partition": c.partition,
        "timeout_min": c.time,
        "nodes": c.nodes,
        "tasks_per_node": tasks,
        "cpus_per_task": max(1, c.cpus_per_task // tasks),
        "mem_gb": c.mem_gb,
        "slurm_array_parallelism": min(c.array_parallelism, max(n_runs, 1)),
        "slurm_signal_delay_s": 120,  # SIGUSR2 that long before the time limit: checkpoint, requeue
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


class TrainJob:
    """One array task: train (or resume) one run. submitit calls ``checkpoint`` on preemption or
    timeout; it resubmits the same call, which resumes from ``checkpoint.pt``."""

    def __call__(self, config_path: str, out: str) -> dict[str, Any]:
        import submitit
        import torch

        from vt_core.run_folder import load_config
        from vt_core.train import RunBusy, RunInterrupted, train

        cpus = int(os.environ.get("SLURM_CPUS_PER_TASK", "0"))
        if cpus:  # as many threads as Slurm gave the task, like the local executor's split
            torch.set_num_threads(cpus)
        env = submitit.JobEnvironment()
        if env.num_tasks > 1:
            submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        try:
            return train(load_config(config_path), out, progress=False)
        except RunInterrupted as e:
            if e.forward_signal():  # hand the signal to submitit: it calls checkpoint() and requeues
                pass
            raise
        except RunBusy as e:
            return {"status": "busy", "message": str(e)}

    def checkpoint(self, config_path: str, out: str) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(TrainJob(), config_path, out)


def submit(grid: Any, gdir: Path, todo: list[Any], configs: dict[str, Path], cluster: ClusterProfile, *,
           report: bool, runs_dir: Path, profile: str, reports_dir: Path) -> int:
    import submitit

    if not todo:
        print("nothing to submit")
        return 0
    logs = gdir / ".submitit"
    executor = submitit.AutoExecutor(folder=logs / "%j", cluster="slurm")  # array tasks: <array>_<task>
    executor.update_parameters(name=f"vt-{grid.name}", **executor_parameters(cluster, len(todo)))
    cfg_paths = [str(configs[r.run_id].resolve()) for r in todo]
    outs = [str((gdir / r.run_id).resolve()) for r in todo]
    jobs = executor.map_array(TrainJob(), cfg_paths, outs)
    array_id = jobs[0].job_id.split("_")[0]
    record = {"array": array_id, "tasks": {j.job_id: r.run_id for j, r in zip(jobs, todo)}}
    report_id = None
    if report:
        rep = submitit.AutoExecutor(folder=logs / "report_%j", cluster="slurm")
        rep.update_parameters(
            name=f"vt-{grid.name}-report", slurm_partition=cluster.partition, timeout_min=30, cpus_per_task=1,
            mem_gb=4, slurm_additional_parameters={"dependency": f"afterany:{array_id}",
                                                   **({"account": cluster.account} if cluster.account else {})},
        )
        from ablations.report import write_report

        report_id = rep.submit(write_report, grid.name, runs_dir=str(runs_dir.resolve()), grid_path=str(grid.path),
                               out_dir=str((reports_dir / grid.name).resolve()), profile=profile).job_id
        record["report"] = report_id
    _append_record(gdir, record)
    print(f"submitted array {array_id}: {len(jobs)} runs (at most {min(cluster.array_parallelism, len(jobs))} at once)")
    if report_id:
        print(f"report job {report_id} runs after the array (afterany)")
    print(f"follow: python ablations/launch.py --grid {grid.name} --status   logs: {logs}/{array_id}_*/")
    return 0


def _append_record(gdir: Path, record: dict[str, Any]) -> None:
    from vt_core.run_folder import atomic_write_text

    path = gdir / "slurm.json"
    records = json.loads(path.read_text()) if path.exists() else []
    records.append(record)
    atomic_write_text(path, json.dumps(records, indent=1) + "\n")


def queued_run_ids(gdir: Path) -> set[str]:
    """Run ids whose array task is still pending or running in Slurm (from squeue)."""
    path = gdir / "slurm.json"
    if not path.exists():
        return set()
    tasks: dict[str, str] = {}
    arrays = []
    for rec in json.loads(path.read_text()):
        tasks.update(rec.get("tasks", {}))
        arrays.append(rec["array"])
    try:
        out = subprocess.run(["squeue", "--noheader", "--array", "--format=%i", f"--jobs={','.join(arrays)}"],
                             capture_output=True, text=True, timeout=30, env={**os.environ, "SQUEUE_FORMAT": ""})
    except (OSError, subprocess.SubprocessError):
        return set()
    alive = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    return {rid for jid, rid in tasks.items() if jid in alive}
