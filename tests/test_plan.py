"""Planning: the cost of every run before launch (finished runs, a cached calibration, or the GMACs
table), --budget, plans made away from the data, absolute paths, and grid names that would escape
the runs folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ablations.launch import main
from tests.support.launch import ROOT, launch, snapshot, write_grid
from vt_core.run_result import RunResult

CIFAR_MISSING = 'add(name="cifar", **{"data.name": "cifar10", "data.root": "no/such/cifar", "model.img_size": 32})\n'


def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dry_run_prints_cost_per_run_and_total(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    code, out, _ = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--dry-run", "--executor", "local",
                            "--runs-dir", str(runs))
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("variant"))
    assert "device_h" in header and "source" in header
    assert out.count("gmacs table") == 5  # four runs, and the total's sources
    assert "cost: " in out and "device-hours for 4 run(s) to train on local" in out
    assert not runs.exists()


@pytest.mark.slow
def test_calibration_is_cached_per_distinct_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    code, out, _ = run_main(capsys, "--grid", grid, "--dry-run", "--calibrate", "--runs-dir", str(runs),
                            "--executor", "local")
    assert code == 0 and out.count("calibration") == 5
    cache = runs / ".calibration.json"
    entries = json.loads(cache.read_text())
    assert len(entries) == 2  # abs and none: two models, two seeds each
    from ablations.executors.local import slots

    at_once = len(slots(0)[0])  # calibrated side by side, as the local executor will train them
    assert all(e["side_by_side"] == at_once and e["eval_img_per_s"] > e["img_per_s"] > 0 for e in entries.values())
    assert sorted(p.name for p in runs.iterdir()) == [".calibration.json", ".model_sizes.json"]
    before = cache.stat().st_mtime_ns
    code, out, _ = run_main(capsys, "--grid", grid, "--dry-run", "--runs-dir", str(runs), "--executor", "local")
    assert code == 0 and out.count("calibration") == 5 and cache.stat().st_mtime_ns == before  # never recomputed


def test_estimate_adds_the_evaluation_and_uses_a_finished_runs_wall_time(tmp_path: Path) -> None:
    from ablations.planning.cost import CostModel, Target
    from vt_core.config import RunConfig

    cfg = RunConfig().replace({"train.epochs": 2, "data.train_size": 1000, "data.val_size": 500})
    model = CostModel(Target("cpu", 1, here=True, threads=1), tmp_path, calibrate=False)
    key = model._calibration_key(cfg)
    model.cache[key] = {"img_per_s": 100.0, "eval_img_per_s": 250.0}
    assert model.estimate(cfg).device_hours * 3600 == pytest.approx(2 * 1000 / 100 + 2 * 500 / 250)
    model.add_finished(cfg, RunResult(status="done", wall_time_s=50.0, train_img_per_s=400.0, world_size=1))
    est = model.estimate(cfg)  # everything the finished run spent: 2,000 images in 50 s
    assert est.source == "runs" and est.device_hours * 3600 == pytest.approx(50.0)


@pytest.mark.slow
def test_budget_refuses_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    for extra in (["--dry-run"], []):
        code, _, err = run_main(capsys, "--grid", grid, "--budget", "1e-9", "--runs-dir", str(runs),
                                "--executor", "local", *extra)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--budget" in err, err
        assert not runs.exists()


@pytest.mark.slow
def test_launch_records_estimates_and_reuses_finished_runs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    common = ["--grid", grid, "--only", "abs", "--runs-dir", str(runs), "--executor", "debug", "--no-report"]
    code, out, _ = run_main(capsys, *common, "--seeds", "0")
    assert code == 0 and "cost: " in out
    (entry,) = json.loads((runs / "tiny" / "grid.json").read_text())["runs"]
    assert entry["estimate"]["source"] == "calibration" and entry["estimate"]["device_hours"] > 0
    code, out, _ = run_main(capsys, *common, "--seeds", "0,1", "--dry-run")
    rows = [line.split() for line in out.splitlines() if line.startswith("abs ")]
    assert [(r[1], r[6]) for r in rows] == [("0", "runs"), ("1", "runs")]  # the same model config, trained
    code, _, _ = run_main(capsys, *common, "--seeds", "0")  # a relaunch: nothing to train
    (again,) = json.loads((runs / "tiny" / "grid.json").read_text())["runs"]
    assert code == 0 and again["estimate"] == entry["estimate"]  # the estimate before it ran, not one from itself


def test_missing_data_root_dry_run_warns_real_launch_refuses(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path, extra=CIFAR_MISSING))
    code, out, err = run_main(capsys, "--grid", grid, "--only", "cifar", "--dry-run", "--runs-dir", str(runs),
                              "--executor", "local")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "data.root" in warnings[0] and str(tmp_path / "no/such/cifar") not in warnings[0]
    code, _, err = run_main(capsys, "--grid", grid, "--only", "cifar", "--runs-dir", str(runs), "--executor", "local")
    assert code == 2 and "data.root" in err and not runs.exists()


def test_cifar_size_is_known(tmp_path: Path) -> None:
    from ablations.planning.cost import train_images
    from vt_core.config import DataConfig, RunConfig

    assert train_images(RunConfig(data=DataConfig(name="cifar10", root="x"))) == 50_000
    assert train_images(RunConfig(data=DataConfig(name="imagefolder", root="/d/imagenet"))) == 1_281_167
    assert train_images(RunConfig(data=DataConfig(train_size=300))) == 300


@pytest.mark.slow
def test_swin_table4_imagenet_cost_and_budget(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's done-when check: planned away from ImageNet, a cost per run with its source; --budget 1 refuses."""
    args = ["--grid", "swin_table4", "--profile", "imagenet", "--dry-run", "--executor", "local"]
    out = launch(*args, runs=tmp_path / "runs")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("gmacs table") == 8 and "device-hours" in out.stdout
    code, _, err = run_main(capsys, *args, "--budget", "1", "--runs-dir", str(tmp_path / "runs"))
    assert code == 2 and "--budget" in err and not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_launch_from_another_directory_with_relative_paths(tmp_path: Path) -> None:
    from tests.support.datasets import write_cifar10

    grid = write_grid(tmp_path, extra='add(name="cifar", **{"data.name": "cifar10", "data.root": "data", '
                                      '"train.batch_size": 8, "model.img_size": 32})\n')
    write_cifar10(tmp_path / "data")
    cmd = [sys.executable, str(ROOT / "ablations/launch.py"), "--grid", grid.name, "--only", "cifar", "--seeds", "0",
           "--executor", "local", "--runs-dir", "runs", "--no-report"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, (out.stdout, out.stderr)
    (entry,) = json.loads((tmp_path / "runs" / "tiny" / "grid.json").read_text())["runs"]
    assert json.loads((tmp_path / "runs" / "tiny" / entry["run_id"] / "result.json").read_text())["status"] == "done"
    config = (tmp_path / "runs" / "tiny" / ".configs" / f"{entry['run_id']}.yaml").read_text()
    assert f"root: {tmp_path / 'data'}" in config


def test_grid_names_that_escape_the_runs_folder_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "evilgrid.py").write_text(write_grid(tmp_path).read_text())
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    dots = tmp_path / "...py"  # stem '..'
    dots.write_text(write_grid(tmp_path).read_text())
    before = snapshot(tmp_path)
    for grid, cwd in (("../../evilgrid", inner), (str(dots), tmp_path)):
        monkeypatch.chdir(cwd)
        code, _, err = run_main(capsys, "--grid", grid, "--executor", "local", "--runs-dir", str(inner / "runs"))
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert snapshot(tmp_path) == before
