"""The launcher: a tiny grid end to end through the local executor, relaunch, dry run, status,
concurrent launchers, and every kind of bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ablations.launch import main
from tests.support.launch import ROOT, launch, snapshot, write_grid


def in_process(capsys: pytest.CaptureFixture, *args: str, runs: Path) -> subprocess.CompletedProcess:
    """The launcher's main() here, as ``launch`` would run it (its runs and reports folders): the
    imports are paid once for all these tests, not once per bad input."""
    code = main([*args, "--runs-dir", str(runs), "--reports-dir", str(runs.parent / "reports")])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.mark.slow
def test_tiny_grid_end_to_end_local(tmp_path: Path) -> None:
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    out = launch("--grid", str(grid), "--executor", "local", runs=runs)
    assert out.returncode == 0, out.stderr
    index = json.loads((runs / "tiny" / "grid.json").read_text())
    assert {(r["variant"], r["seed"]) for r in index["runs"]} == {("abs", 0), ("abs", 1), ("none", 0), ("none", 1)}
    for r in index["runs"]:
        assert json.loads((runs / "tiny" / r["run_id"] / "result.json").read_text())["status"] == "done"
    assert (tmp_path / "reports" / "tiny" / "report.md").is_file()
    # relaunch: nothing to run, nothing rewritten
    before = {r["run_id"]: (runs / "tiny" / r["run_id"] / "result.json").stat().st_mtime_ns for r in index["runs"]}
    again = launch("--grid", str(grid), "--executor", "local", "--no-report", runs=runs)
    assert again.returncode == 0 and "0 to train" in again.stdout, again.stdout
    after = {rid: (runs / "tiny" / rid / "result.json").stat().st_mtime_ns for rid in before}
    assert before == after
    status = launch("--grid", str(grid), "--status", runs=runs)
    assert status.returncode == 0
    assert [line.split()[3] for line in status.stdout.splitlines()[2:]] == ["done"] * 4  # a row per run


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    out = in_process(capsys, "--grid", str(grid), "--dry-run", "--executor", "local", runs=runs)
    assert out.returncode == 0, out.stderr
    assert "dry run: nothing submitted" in out.stdout
    assert out.stdout.count("pending") == 4 and "GMACs" in out.stdout
    assert not runs.exists()


def test_dry_run_shows_clamped_windows_and_sbatch_parameters(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = in_process(capsys, "--grid", "window_size", "--dry-run", "--executor", "slurm", "--cluster",
                 str(ROOT / "slurm/profiles/local.yaml"), runs=tmp_path / "runs")
    assert out.returncode == 0, out.stderr
    assert "clamped" in out.stdout and "slurm_partition = local" in out.stdout
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--grid", "no_such_grid"], "relpos_vs_abs"),  # the error lists the grids there are
        (["--grid", "relpos_vs_abs", "--set", "model.poss=rel"], "model.poss"),
        (["--grid", "relpos_vs_abs", "--set", "model.window_size=zero"], "model.window_size"),
        (["--grid", "relpos_vs_abs", "--set", "model.heads=5"], "model.heads"),
        (["--grid", "relpos_vs_abs", "--profile", "tpu"], "tpu"),
        (["--grid", "relpos_vs_abs", "--only", "nope*"], "nope"),
        (["--grid", "relpos_vs_abs", "--seeds", "a,b"], "--seeds"),
        (["--grid", "relpos_vs_abs", "--set", "data.name=cifar10", "data.root=/no/such/dir"], "/no/such/dir"),
        (["--grid", "relpos_vs_abs", "--executor", "slurm"], "--cluster"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], needle: str,
                                     capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    out = in_process(capsys, *args, runs=runs)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], out.stderr
    assert not runs.exists()


def test_unbuildable_variant_names_grid_variant_and_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    grid = write_grid(tmp_path, extra='add(name="bad", **{"model.mixer": "shunted", "model.kv_ratios": [[2, 1]], '
                                      '"model.heads": 3})\n')
    out = in_process(capsys, "--grid", str(grid), "--executor", "local", runs=tmp_path / "runs")
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and "grid tiny" in err and "variant bad" in err and "model.kv_ratios" in err
    assert not (tmp_path / "runs").exists()


def test_unknown_key_in_grid_module(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    grid = write_grid(tmp_path, extra='add(name="typo", **{"model.shfit": True})\n')
    out = in_process(capsys, "--grid", str(grid), "--dry-run", runs=tmp_path / "runs")
    assert out.returncode == 2 and "variant typo" in out.stderr and "model.shfit" in out.stderr
    assert "did you mean 'model.shift'" in out.stderr


@pytest.mark.parametrize("profile,needle", [
    ("partition: x\ntime: 10\ncpus_per_task: 1\nmem_gb: 1\n", "gpus_per_run"),
    ("partition: x\ntime: soon\ncpus_per_task: 1\nmem_gb: 1\ngpus_per_run: 0\n", "time"),
    ("partition: x\ntime: 10\ncpus_per_task: 1\nmem_gb: 1\ngpus_per_run: 0\nwallclock: 3\n", "wallclock"),
    ("[not, a, mapping]\n", "mapping"),
])
def test_bad_cluster_profile(tmp_path: Path, profile: str, needle: str, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text(profile)
    out = in_process(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "slurm", "--cluster", str(path),
                 runs=tmp_path / "runs")
    assert out.returncode == 2 and needle in out.stderr and str(path) in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_unwritable_runs_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = in_process(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "local", runs=blocker / "runs")
    assert out.returncode == 2 and "--runs-dir" in out.stderr, out.stderr
    assert blocker.read_text() == "not a folder"


def test_bad_input_leaves_existing_run_folders_untouched(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    grid = write_grid(tmp_path)
    (runs / "tiny" / "abc123").mkdir(parents=True)
    (runs / "tiny" / "abc123" / "result.json").write_text('{"status": "done"}')
    before = snapshot(runs)
    out = in_process(capsys, "--grid", str(grid), "--set", "model.depths=0", runs=runs)
    assert out.returncode == 2
    assert snapshot(runs) == before


@pytest.mark.slow
def test_two_launchers_never_train_a_run_twice(tmp_path: Path) -> None:
    grid, runs = write_grid(tmp_path, epochs=2), tmp_path / "runs"
    cmd = [sys.executable, "ablations/launch.py", "--grid", str(grid), "--executor", "local", "--jobs", "1",
           "--no-report", "--runs-dir", str(runs)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    a = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert a.wait(timeout=600) == 0 and b.wait(timeout=600) == 0, (a.stderr.read(), b.stderr.read())
    index = json.loads((runs / "tiny" / "grid.json").read_text())
    for r in index["runs"]:
        folder = runs / "tiny" / r["run_id"]
        assert json.loads((folder / "result.json").read_text())["status"] == "done"
        epochs = [json.loads(x)["epoch"] for x in (folder / "metrics.jsonl").read_text().splitlines()
                  if "val_top1" in x]
        assert epochs == [1, 2], f"{folder}: {epochs}"  # trained once, not twice
    logs = "".join(p.read_text() for p in (runs / "tiny" / "logs").glob("*.log"))
    assert logs.count("epoch 2/2") == 4  # each run's last epoch logged exactly once across both launchers
