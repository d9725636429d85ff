"""What the command lines share: every ``--set`` occurrence counts, a key given twice with two
values is refused (exit 2, nothing written), argparse errors are one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vt_core.cli import overrides_from
from vt_core.overrides import ConfigError
from vt_core.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model.depths=1", "model.dims=32", "model.heads=2", "data.val_size=32", "train.batch_size=32",
        "train.warmup_epochs=0"]


def test_overrides_from_keeps_every_item_and_refuses_conflicts() -> None:
    assert overrides_from(["a.b=1", "c.d=x", "a.b=1"]) == {"a.b": 1, "c.d": "x"}
    with pytest.raises(ConfigError, match="a.b is given twice"):
        overrides_from(["a.b=1", "a.b=2"])


def test_train_counts_every_set_flag(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = train_main(["--out", str(out), "--no-progress", "--set", *TINY, "--set", "train.epochs=1",
                       "--set", "data.train_size=64"])
    assert code == 0
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["train"]["epochs"] == 1 and cfg["data"]["train_size"] == 64 and cfg["model"]["depths"] == [1]


def test_train_refuses_a_key_set_twice(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    code = train_main(["--out", str(out), "--set", "train.epochs=1", "--set", "train.epochs=2"])
    err = capsys.readouterr().err
    assert code == 2 and "train.epochs is given twice" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def _plan(*sets: str) -> list[str]:
    grid = ROOT / "ablations" / "grids" / "relpos_vs_abs.py"
    cmd = [sys.executable, "ablations/launch.py", "--grid", str(grid), "--dry-run", "--executor", "local",
           "--seeds", "0", "--only", "abs", *sets]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [line.split()[2] for line in out.stdout.splitlines() if line.startswith("abs ")]


@pytest.mark.slow
def test_launch_counts_every_set_flag() -> None:
    both = _plan("--set", "train.epochs=1", "--set", "data.train_size=64")
    assert both == _plan("--set", "train.epochs=1", "data.train_size=64")
    assert both != _plan("--set", "data.train_size=64")


def test_launch_refuses_a_key_set_twice(tmp_path: Path) -> None:
    cmd = [sys.executable, "ablations/launch.py", "--grid", "relpos_vs_abs", "--runs-dir", str(tmp_path / "runs"),
           "--set", "train.epochs=1", "--set", "train.epochs=3"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "train.epochs is given twice" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()
