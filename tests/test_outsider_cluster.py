"""Cluster profiles written by hand: sbatch's time forms unquoted mean what sbatch means (YAML 1.1
would read ``1:00:00`` as the base-60 number 3600, and ``time`` as 3600 minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablations.executors.slurm.cluster import load_cluster
from vt_core.overrides import ConfigError

BASE = "partition: local\ncpus_per_task: 1\nmem_gb: 1\ngpus_per_run: 0\n"


def _profile(tmp_path: Path, line: str) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(BASE + line + "\n")
    return str(path)


@pytest.mark.parametrize(("line", "minutes"), [
    ("time: 1:00:00", 60), ("time: 1:30", 2), ("time: 90:00", 90), ("time: 2-1:00:00", 2940), ("time: 2-5:30", 3210),
    ("time: 90", 90), ('time: "1:00:00"', 60),
])
def test_unquoted_time_means_what_sbatch_means(tmp_path: Path, line: str, minutes: int) -> None:
    assert load_cluster(_profile(tmp_path, line)).time == minutes


def test_unquoted_base60_elsewhere_is_refused_as_text(tmp_path: Path) -> None:
    path = _profile(tmp_path, "time: 60\nsignal_delay_s: 1:00")
    with pytest.raises(ConfigError) as e:
        load_cluster(path)
    assert "signal_delay_s" in str(e.value) and "'1:00'" in str(e.value) and "\n" not in str(e.value)
