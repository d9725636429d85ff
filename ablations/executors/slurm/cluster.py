"""A Slurm cluster profile (``slurm/profiles/*.yaml``), Slurm's time forms, and the limits the
cluster itself sets (``scontrol show config``, ``sacctmgr``).

    partition: gpu            # required
    time: 1440                # required: as sbatch --time takes it (minutes, "M:S", "H:M:S",
                              # "D-H", "D-H:M", "D-H:M:S")
    cpus_per_task: 8          # required: CPUs per run on each node, shared out among its tasks
    mem_gb: 64                # required
    gpus_per_run: 1           # required (0 for CPU-only); >1 runs DDP with one task per GPU
    tasks_per_node: null      # DDP tasks per node; default one per GPU (or 1); >1 without GPUs: gloo
    nodes: 1                  # nodes per run (multi-node DDP)
    account: null
    qos: null
    constraint: null
    array_parallelism: 64     # runs of an array at once
    max_requeues: 100         # time-limit requeues a run may take (submitit's max_num_timeout)
    signal_delay_s: null      # SIGUSR2 this long before the limit; default 120 s, at most time/4
    max_array_size: null      # cap below the cluster's MaxArraySize (null: the cluster's)
    max_submit_jobs: null     # cap below the cluster's MaxSubmitJobs (null: the cluster's)
    extra: {}                 # any other sbatch option, e.g. {exclude: "node[01-02]"}
"""

from __future__ import annotations

import getpass
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vt_core.overrides import ConfigError

REQUIRED = ("partition", "time", "cpus_per_task", "mem_gb", "gpus_per_run")
DEFAULT_MAX_REQUEUES = 100  # a cap, not a promise: 100 x the time limit is longer than any sane run
DEFAULT_SIGNAL_DELAY_S = 120
SLURM_MAX_ARRAY_SIZE = 1001  # Slurm's default, when scontrol cannot be read
_BASE_60_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")  # the resolvers that read 1:30 as 90
TIME_FORMS = 'minutes, "M:S", "H:M:S", "D-H", "D-H:M" or "D-H:M:S"'


@dataclass(frozen=True)
class ClusterProfile:
    path: str
    partition: str
    time: int  # minutes
    cpus_per_task: int
    mem_gb: float
    gpus_per_run: int
    tasks_per_node: int = 1
    nodes: int = 1
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    array_parallelism: int = 64
    max_requeues: int = DEFAULT_MAX_REQUEUES
    signal_delay_s: int = DEFAULT_SIGNAL_DELAY_S
    max_array_size: int | None = None
    max_submit_jobs: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- time
_TIME = re.compile(r"(?:(?P<d>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?)"  # D-H, D-H:M, D-H:M:S
                   r"|(?:(?P<a>\d+)(?::(?P<b>\d+)(?::(?P<c>\d+))?)?)")  # M, M:S, H:M:S


def parse_time(value: Any) -> int | None:
    """Minutes from any form ``sbatch --time`` takes (seconds round up, as Slurm does); None when
    ``value`` is none of them, is out of range (59 at most after the first field, 23 hours after a
    day) or is no limit at all (0: Slurm reads it as unlimited)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _TIME.fullmatch(value)
    if m is None:
        return None
    g = {k: int(v) for k, v in m.groupdict().items() if v is not None}
    if "d" in g:
        days, hours, mins, secs = g["d"], g["dh"], g.get("dm", 0), g.get("ds", 0)
        if hours > 23:
            return None
    elif "c" in g:
        days, hours, mins, secs = 0, g["a"], g["b"], g["c"]
    elif "b" in g:
        days, hours, mins, secs = 0, 0, g["a"], g["b"]
    else:
        days, hours, mins, secs = 0, 0, g["a"], 0
    if secs > 59 or (mins > 59 and ("d" in g or "c" in g)):
        return None
    total = ((days * 24 + hours) * 60 + mins) + math.ceil(secs / 60)
    return total if total > 0 else None


# ---------------------------------------------------------------------------------------- profile
class _ProfileLoader(yaml.SafeLoader):
    """YAML as ``safe_load`` reads it, except that ``1:00:00`` or ``1:30`` unquoted stays the text
    written: YAML 1.1 reads colon-separated digits as a base-60 number (``1:00:00`` → 3600), which
    ``time`` would then take as 3600 minutes; as text it is the form sbatch means (1 hour)."""


_ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, re.compile(r"(?!.*:)" + rx.pattern, rx.flags) if tag in _BASE_60_TAGS else rx)
            for tag, rx in resolvers]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read(path: str | None) -> tuple[Path, dict[str, Any]]:
    if not path:
        raise ConfigError("--cluster: the slurm executor needs a cluster profile, "
                          "e.g. --cluster slurm/profiles/example.yaml")
    p = Path(path)
    try:
        data = yaml.load(p.read_text(), Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader
    except (FileNotFoundError, IsADirectoryError):
        raise ConfigError(f"--cluster: {p}: no such file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"--cluster: {p}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--cluster: {p}: expected a mapping of fields")
    missing = [k for k in REQUIRED if data.get(k) in (None, "")]
    if missing:
        raise ConfigError(f"--cluster: {p} lacks {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    unknown = sorted(set(data) - ({f.name for f in fields(ClusterProfile)} - {"path"}))
    if unknown:
        raise ConfigError(f"--cluster: {p}: unknown field(s) {', '.join(unknown)}; "
                          "put other sbatch options under 'extra'")
    return p, data


def _integer(p: Path, data: dict[str, Any], key: str, minimum: int, default: int | None) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"--cluster: {p}: {key}: {value!r} is not a whole number ≥ {minimum}")
    return value


def _text(p: Path, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str) and value.strip():
        return value
    raise ConfigError(f"--cluster: {p}: {key}: {value!r} is not a name")


def load_cluster(path: str | None) -> ClusterProfile:
    p, data = _read(path)
    minutes = parse_time(data["time"])
    if minutes is None:
        raise ConfigError(f"--cluster: {p}: time: {data['time']!r} is not a Slurm time limit ({TIME_FORMS}, > 0)")
    mem = data["mem_gb"]
    if isinstance(mem, bool) or not isinstance(mem, (int, float)) or not math.isfinite(mem) or mem <= 0:
        raise ConfigError(f"--cluster: {p}: mem_gb: {mem!r} is not a number of GB > 0")
    extra = data.get("extra") or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"--cluster: {p}: extra: {extra!r} is not a mapping of sbatch options")
    gpus = _integer(p, data, "gpus_per_run", 0, 0)
    tasks = _integer(p, data, "tasks_per_node", 1, max(gpus, 1))
    if gpus and tasks != gpus:
        raise ConfigError(f"--cluster: {p}: tasks_per_node: {tasks} with gpus_per_run {gpus}: DDP runs one task per "
                          "GPU; leave tasks_per_node out")
    delay = _integer(p, data, "signal_delay_s", 1, min(DEFAULT_SIGNAL_DELAY_S, minutes * 60 // 4))
    if delay >= minutes * 60:
        raise ConfigError(f"--cluster: {p}: signal_delay_s: {delay} is not below the time limit ({minutes * 60} s): "
                          "every job would be told to stop as it starts")
    prof = ClusterProfile(
        path=str(p), partition=_text(p, data, "partition"), time=minutes,
        cpus_per_task=_integer(p, data, "cpus_per_task", 1, 1), mem_gb=float(mem), gpus_per_run=gpus,
        tasks_per_node=tasks, nodes=_integer(p, data, "nodes", 1, 1), account=_text(p, data, "account"),
        qos=_text(p, data, "qos"), constraint=_text(p, data, "constraint"),
        array_parallelism=_integer(p, data, "array_parallelism", 1, 64),
        max_requeues=_integer(p, data, "max_requeues", 0, DEFAULT_MAX_REQUEUES), signal_delay_s=delay,
        max_array_size=_integer(p, data, "max_array_size", 1, None),
        max_submit_jobs=_integer(p, data, "max_submit_jobs", 1, None), extra=dict(extra),
    )
    if prof.cpus_per_task < prof.tasks_per_node:
        raise ConfigError(f"--cluster: {p}: cpus_per_task: {prof.cpus_per_task} is fewer than tasks_per_node "
                          f"({prof.tasks_per_node}): each task needs a CPU")
    if 2 * delay > minutes * 60:  # the job gives up more than half its time to stopping early
        print(f"warning: {p}: signal_delay_s {delay} is not well below the time limit ({minutes * 60} s): "
              "each job stops early and much of its time goes to requeueing", file=sys.stderr)
    return prof


# ---------------------------------------------------------------------------------------- limits
@dataclass(frozen=True)
class ClusterLimits:
    max_array_size: int  # tasks per array (indices 0 .. max_array_size - 1)
    max_submit_jobs: int | None  # jobs (array tasks count one each) this user may have queued; None: no limit seen


def parse_config(text: str) -> dict[str, str]:
    """``scontrol show config``'s ``Key = Value`` lines as a dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            out[key.strip()] = value.strip()
    return out


def _positive(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _run(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def submit_limits(prof: ClusterProfile) -> list[int]:
    """MaxSubmitJobs of this user's associations and MaxSubmitJobsPerUser of the QOS the jobs get,
    where sacctmgr shows them (no accounting database: none)."""
    user = getpass.getuser()
    found, qos_names = [], {prof.qos} if prof.qos else set()
    assoc = _run(["sacctmgr", "-nP", "show", "assoc", f"user={user}", "format=account,maxsubmit,defaultqos"])
    for line in (assoc or "").splitlines():
        account, maxsubmit, default_qos = (line.split("|") + ["", "", ""])[:3]
        if prof.account and account != prof.account:
            continue
        found.append(_positive(maxsubmit))
        if not prof.qos:
            qos_names.add(default_qos or "normal")
    qos = _run(["sacctmgr", "-nP", "show", "qos", "format=name,maxsubmitjobsperuser"])
    for line in (qos or "").splitlines():
        name, _, maxsubmit = line.partition("|")
        if name in qos_names:
            found.append(_positive(maxsubmit))
    return [n for n in found if n]


def check_partition(prof: ClusterProfile) -> None:
    """The profile's partition exists and its MaxTime admits ``time`` (else the jobs would pend forever)."""
    try:
        out = subprocess.run(["scontrol", "show", "partition", prof.partition], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return  # no scontrol here: sbatch will say what is wrong
    if out.returncode != 0 and "not found" in (out.stdout + out.stderr):
        raise ConfigError(f"--cluster: {prof.path}: partition: {prof.partition!r} is not a partition of this cluster "
                          "(sinfo -s lists them)")
    fields_ = parse_config(out.stdout.replace(" ", "\n"))
    limit = parse_time(fields_.get("MaxTime", ""))
    if limit is not None and prof.time > limit:
        raise ConfigError(f"--cluster: {prof.path}: time: {prof.time} minutes is above partition {prof.partition}'s "
                          f"MaxTime ({fields_['MaxTime']}); the jobs would never start")


def read_limits(prof: ClusterProfile) -> ClusterLimits:
    """The cluster's limits, capped by the profile's ``max_array_size`` / ``max_submit_jobs``; the
    partition checked first (one line, exit 2)."""
    check_partition(prof)
    config = parse_config(_run(["scontrol", "show", "config"]) or "")
    array = _positive(config.get("MaxArraySize")) or SLURM_MAX_ARRAY_SIZE
    submit = submit_limits(prof)
    if _positive(config.get("MaxJobCount")):  # slurmctld's whole queue: no user can go past it
        submit.append(int(config["MaxJobCount"]))
    if prof.max_array_size:
        array = min(array, prof.max_array_size)
    if prof.max_submit_jobs:
        submit.append(prof.max_submit_jobs)
    return ClusterLimits(max_array_size=array, max_submit_jobs=min(submit) if submit else None)
