"""What Slurm holds of a grid: ``runs/<grid>/slurm.json`` (which array task trains which run, one
record per submitted array) and the queue's view of those jobs (``squeue``, ``sacct``).

Reads only: one ``squeue`` or one ``sacct`` call for all of a grid's jobs, so ``--status`` stays
fast however many arrays a grid took."""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vt_core.files import read_text
from vt_core.overrides import ConfigError

RECORDS = "slurm.json"
LIVE = ("PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "CONFIGURING", "COMPLETING",
        "RESIZING", "SIGNALING", "STAGE_OUT")


def read_records(gdir: Path) -> list[dict[str, Any]]:
    """slurm.json's records; a corrupt or truncated file is one line (exit 2) saying what to do."""
    path = gdir / RECORDS
    if not path.exists():
        return []
    fix = (f"it lists the Slurm jobs of this grid: check them (squeue --name vt-{gdir.name}), cancel or let them "
           f"finish, then delete {path} and relaunch (done runs are kept)")
    try:
        records = json.loads(read_text(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid JSON ({e}); {fix}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read ({e.strerror or e}); {fix}") from None
    ok = isinstance(records, list) and all(
        isinstance(r, dict) and isinstance(r.get("array"), str) and isinstance(r.get("tasks"), dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in r["tasks"].items()) for r in records)
    if not ok:
        raise ConfigError(f"{path}: not a list of {{array, tasks}} records; {fix}")
    return records


def append_record(gdir: Path, record: dict[str, Any]) -> None:
    from vt_core.run_folder import atomic_write_text

    records = read_records(gdir)
    records.append(record)
    atomic_write_text(gdir / RECORDS, json.dumps(records, indent=1) + "\n")


def latest_tasks(records: list[dict[str, Any]]) -> dict[str, str]:
    """run id -> the array task id that trains it now (a later submission replaces an earlier one)."""
    out = {}
    for rec in records:
        for job_id, run_id in rec["tasks"].items():
            out[run_id] = job_id
    return out


def _query(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "SQUEUE_FORMAT": "", "SACCT_FORMAT": ""})
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _queue() -> list[tuple[str, str]]:
    """(task id, array id) of every job of this user in the queue, array tasks one line each."""
    out = _query(["squeue", "--noheader", "--array", "--format=%i %F", f"--user={getpass.getuser()}"])
    return [tuple(ln.split()[:2]) for ln in (out or "").splitlines() if len(ln.split()) >= 2]


def queued_run_ids(gdir: Path) -> set[str]:
    """Run ids whose array task is still pending or running in Slurm (from squeue)."""
    records = read_records(gdir)
    if not records:
        return set()
    alive = {task for task, _ in _queue()}
    return {rid for rid, jid in latest_tasks(records).items() if jid in alive}


def live_arrays(gdir: Path) -> list[str]:
    """Array ids of this grid still in the queue (a report job may depend on them)."""
    records = read_records(gdir)
    alive = {array for _, array in _queue()} if records else set()
    return [r["array"] for r in records if r["array"] in alive]


def jobs_in_queue() -> int:
    """This user's jobs in the queue, each array task one (as MaxSubmitJobs counts them)."""
    return len(_queue())


@dataclass(frozen=True)
class JobState:
    job_id: str
    state: str  # sacct's, e.g. RUNNING, TIMEOUT, "CANCELLED by 0" -> CANCELLED
    requeues: int  # how many times the task was requeued (sacct --duplicates rows before this one)
    exit_code: str = ""


_COLLAPSED = re.compile(r"(\d+)_\[([0-9,\-]+)(?:%\d+)?\]")


def _task_ids(job_id: str) -> list[str]:
    """"12_3" -> ["12_3"]; a pending array's collapsed "12_[0-4,7%2]" -> 12_0 .. 12_4, 12_7."""
    m = _COLLAPSED.fullmatch(job_id)
    if not m:
        return [job_id]
    out = []
    for part in m.group(2).split(","):
        lo, _, hi = part.partition("-")
        out += [f"{m.group(1)}_{i}" for i in range(int(lo), int(hi or lo) + 1)]
    return out


def parse_sacct(text: str) -> dict[str, JobState]:
    """``sacct -X -D -n -P --format=JobID,State,ExitCode`` lines (oldest attempt first) per task id."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 3:
            continue
        for tid in _task_ids(parts[0]):
            rows.setdefault(tid, []).append((parts[1].split()[0] if parts[1] else "", parts[2]))
    return {tid: JobState(tid, r[-1][0], len(r) - 1, r[-1][1]) for tid, r in rows.items()}


def job_states(gdir: Path) -> dict[str, JobState]:
    """run id -> what Slurm says of the task that trains it now; one sacct call for the whole grid."""
    records = read_records(gdir)
    if not records:
        return {}
    out = _query(["sacct", "-X", "-D", "-n", "-P", "--format=JobID,State,ExitCode",
                  f"--jobs={','.join(r['array'] for r in records)}"])
    states = parse_sacct(out or "")
    return {rid: states[jid] for rid, jid in latest_tasks(records).items() if jid in states}


def run_status(folder_state: str, job: JobState | None, error_line: str) -> tuple[str, str]:
    """(state, detail) for --status: the run folder's word where it is final, Slurm's where it knows more."""
    again = f"requeued {job.requeues}x" if job and job.requeues else ""
    if folder_state in ("done", "diverged"):
        return folder_state, again
    if job and job.state in LIVE:
        now = "running" if job.state == "RUNNING" or folder_state == "running" else "waiting"
        return ("requeued", f"{again}, {now}") if job.requeues or job.state.startswith("REQUEUE") else (
            "running" if now == "running" else "queued", job.job_id)
    if folder_state == "failed":
        return "failed", error_line
    if job and job.state == "TIMEOUT":
        return "timed out", f"{job.job_id}{', ' + again if again else ''}; relaunch resumes from the checkpoint"
    if job and job.state.startswith("CANCELLED"):
        return "cancelled", f"{job.job_id}; relaunch resumes from the checkpoint"
    if job and job.state not in ("COMPLETED", ""):
        return "failed", f"slurm: {job.state} (exit {job.exit_code}); see the log of {job.job_id} in .submitit/"
    return folder_state, ""
