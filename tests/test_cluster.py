"""Cluster profiles: Slurm's time forms (a table), every field checked (one line naming the file, the
key and the value; exit 2 from the launcher), and the limits read from the cluster."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ablations.executors.slurm.cluster import ClusterLimits, load_cluster, parse_config, parse_time, read_limits
from tests.support.launch import launch, write_grid
from vt_core.overrides import ConfigError

BASE = {"partition": "local", "time": 60, "cpus_per_task": 1, "mem_gb": 1, "gpus_per_run": 0}

# (value, minutes): every form `sbatch --time` takes; seconds round up to the next minute
GOOD = [
    (1, 1), (90, 90), ("90", 90), ("1:30", 2), ("0:30", 1), ("90:00", 90), ("1:00:00", 60), ("2:03:04", 124),
    ("2-5", 3180), ("2-5:30", 3210), ("2-5:30:15", 3211), ("0-1", 60), ("1-0", 1440), ("2-00:00:00", 2880),
]
BAD = [0, "0", "0:00", "00:00:00", "0-0", 0.5, 1.0, -5, "-5", "abc", "1:2:3:4", True, False, "2-", "-5:00",
       "1:60", "1:60:00", "1-24", "1.5", " 90", "INFINITE", "unlimited", [60], {"h": 1}]


@pytest.mark.parametrize(("value", "minutes"), GOOD)
def test_time_forms_slurm_takes(tmp_path: Path, value, minutes) -> None:
    assert parse_time(value) == minutes
    assert load_cluster(_profile(tmp_path / "p.yaml", time=value)).time == minutes


def _profile(path: Path, **fields) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({**BASE, **fields}))
    return str(path)


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_other_time_values_are_refused_naming_file_key_value(tmp_path: Path, value) -> None:
    path = _profile(tmp_path / "p.yaml", time=value)
    with pytest.raises(ConfigError) as e:
        load_cluster(path)
    msg = str(e.value)
    assert path in msg and "time" in msg and repr(value) in msg and "\n" not in msg


@pytest.mark.parametrize(("key", "value"), [
    ("cpus_per_task", 1.5), ("cpus_per_task", "8"), ("cpus_per_task", 0), ("gpus_per_run", -1), ("gpus_per_run", True),
    ("mem_gb", 0), ("mem_gb", float("nan")), ("mem_gb", "64G"), ("nodes", 0), ("array_parallelism", 0),
    ("max_requeues", -1), ("max_requeues", 2.5), ("signal_delay_s", 3600), ("signal_delay_s", 0),
    ("max_array_size", 0), ("max_submit_jobs", "many"), ("tasks_per_node", 3), ("partition", ""), ("extra", [1]),
])
def test_bad_fields_are_refused_in_one_line(tmp_path: Path, key, value) -> None:
    fields = {key: value, **({"cpus_per_task": 2} if key == "tasks_per_node" else {})}
    path = _profile(tmp_path / "p.yaml", **fields)
    with pytest.raises(ConfigError) as e:
        load_cluster(path)
    assert path in str(e.value) and key in str(e.value) and "\n" not in str(e.value)


def test_defaults_requeue_cap_and_signal_delay(tmp_path: Path, capsys) -> None:
    prof = load_cluster(_profile(tmp_path / "p.yaml"))
    assert prof.max_requeues == 100 and prof.signal_delay_s == 120 and prof.tasks_per_node == 1
    assert load_cluster(_profile(tmp_path / "q.yaml", time=1)).signal_delay_s == 15  # a quarter of the limit
    assert capsys.readouterr().err == ""
    load_cluster(_profile(tmp_path / "r.yaml", time=1, signal_delay_s=40))
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "signal_delay_s 40" in warning and "60 s" in warning


def test_launcher_refuses_a_bad_time_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    path = _profile(tmp_path / "p.yaml", time="2-")
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", path, runs=runs)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and path in out.stderr and "'2-'" in out.stderr
    assert not runs.exists()


def test_scontrol_config_parsed() -> None:
    text = "Configuration data as of 2026-12-02T12:00:00\nMaxArraySize            = 5\nMaxJobCount    = 10000\n"
    assert parse_config(text) == {"MaxArraySize": "5", "MaxJobCount": "10000"}


@pytest.mark.slurm
@pytest.mark.skipif(not shutil.which("scontrol"), reason="slurm: no scontrol on PATH")
def test_the_clusters_own_limits_are_read(tmp_path: Path) -> None:
    text = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    (line,) = [ln for ln in text.splitlines() if ln.startswith("MaxArraySize")]
    real = int(line.split("=")[1])
    limits = read_limits(load_cluster(_profile(tmp_path / "p.yaml")))
    assert limits.max_array_size == real
    assert limits.max_submit_jobs is not None and limits.max_submit_jobs <= 10000  # MaxJobCount at most
    capped = read_limits(load_cluster(_profile(tmp_path / "q.yaml", max_array_size=5, max_submit_jobs=7)))
    assert capped == ClusterLimits(max_array_size=5, max_submit_jobs=7)
    with pytest.raises(ConfigError, match=r"q\.yaml: partition: 'nosuch' is not a partition"):
        read_limits(load_cluster(_profile(tmp_path / "q.yaml", partition="nosuch")))
