"""Slurm beyond one small array: grids split to the cluster's MaxArraySize / MaxSubmitJobs with one
report job after all, requeue on the time limit until the run is done, two DDP tasks per run,
--status per run from the folders and sacct, and a broken slurm.json. The cluster tests run on the
real local cluster (slurm/local-cluster/start.sh); the rest needs no Slurm."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ablations.executors.slurm.cluster import ClusterLimits
from ablations.executors.slurm.jobs import JobState, parse_sacct, run_status
from ablations.executors.slurm.submit import array_sizes, follow_hint
from tests.support.launch import launch, write_grid
from tests.support.slurm import CLUSTER, index, queue_empty, results, slurm_unavailable, wait_for

_reason = slurm_unavailable()
needs_slurm = pytest.mark.skipif(bool(_reason), reason=f"slurm: {_reason}")


def profile(tmp_path: Path, **fields) -> str:
    data = {**yaml.safe_load(Path(CLUSTER).read_text()), **fields}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


# ---------------------------------------------------------------------------------------- no Slurm needed
def test_arrays_fit_max_array_size_and_the_room_left() -> None:
    five = ClusterLimits(max_array_size=5, max_submit_jobs=None)
    assert array_sizes(12, five, None) == [5, 5, 2]
    assert array_sizes(12, five, 7) == [5, 2]  # the rest waits for room
    assert array_sizes(12, five, 0) == [] and array_sizes(3, five, -2) == []
    assert array_sizes(2000, ClusterLimits(1001, None), None) == [1001, 999]


def test_follow_hint_names_the_flags_that_are_not_defaults(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from ablations.planning.grid import GRIDS_DIR

    shipped = SimpleNamespace(name="relpos_vs_abs", path=GRIDS_DIR / "relpos_vs_abs.py")
    assert follow_hint(shipped, Path("runs"), "cpu") == "python ablations/launch.py --grid relpos_vs_abs --status"
    own = SimpleNamespace(name="mine", path=tmp_path / "mine.py")
    hint = follow_hint(own, tmp_path / "r", "cifar")
    assert hint == f"python ablations/launch.py --grid {own.path} --profile cifar --runs-dir {tmp_path / 'r'} --status"


def test_sacct_lines_to_task_states() -> None:
    text = "\n".join([
        "40_[2-4%2]|PENDING|0:0",  # a pending array, collapsed
        "40_0|REQUEUED|0:0", "40_0|REQUEUED|0:0", "40_0|RUNNING|0:0",
        "40_1|CANCELLED by 0|0:15", "41|TIMEOUT|0:0", "42_0|FAILED|1:0",
    ])
    s = parse_sacct(text)
    assert s["40_3"] == JobState("40_3", "PENDING", 0, "0:0") and "40_5" not in s
    assert s["40_0"].requeues == 2 and s["40_0"].state == "RUNNING"
    assert s["40_1"].state == "CANCELLED" and s["41"].state == "TIMEOUT"
    assert run_status("interrupted", s["40_0"], "") == ("requeued", "requeued 2x, running")
    assert run_status("pending", s["40_3"], "")[0] == "queued"
    assert run_status("interrupted", s["40_1"], "")[0] == "cancelled"
    assert run_status("interrupted", s["41"], "")[0] == "timed out"
    assert run_status("failed", s["42_0"], "ValueError: bad") == ("failed", "ValueError: bad")
    assert run_status("pending", s["42_0"], "")[0] == "failed"  # died before the run wrote error.txt
    assert run_status("done", s["40_0"], "") == ("done", "requeued 2x")
    assert run_status("diverged", None, "") == ("diverged", "")


@pytest.mark.slow  # two launcher processes
@pytest.mark.parametrize(("text", "args"), [('[{"array": "12", "tasks": {"12_0": "ab', ("--status",)),
                                            ('[{"array": 12}]', ("--dry-run",))], ids=["truncated", "not records"])
def test_corrupt_slurm_json_is_one_line_exit_2(tmp_path: Path, text: str, args: tuple[str, ...]) -> None:
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    (runs / "tiny").mkdir(parents=True)
    (runs / "tiny" / "slurm.json").write_text(text)
    out = launch("--grid", str(grid), "--executor", "local", *args, runs=runs)
    assert out.returncode == 2, out.stderr
    line = out.stderr.strip()
    assert "\n" not in line and "slurm.json" in line and "delete" in line and "Traceback" not in line
    assert sorted(p.name for p in (runs / "tiny").iterdir()) == ["slurm.json"]


# ---------------------------------------------------------------------------------------- the local cluster
@pytest.mark.slurm
@pytest.mark.slow
@needs_slurm
def test_grid_larger_than_the_limits_trains_each_run_once(tmp_path: Path) -> None:
    """12 runs, MaxArraySize capped to 5 and MaxSubmitJobs to 8: arrays of at most 5, the launcher
    waits for room, every run trains once, and the one report job covers all."""
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    cluster = profile(tmp_path, max_array_size=5, max_submit_jobs=8)
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", cluster, "--seeds", "0,1,2,3,4,5",
                 "--profile", "cpu", runs=runs)
    assert out.returncode == 0, out.stderr
    assert f"--runs-dir {runs}" in out.stdout and "--status" in out.stdout  # the follow: hint
    records = json.loads((runs / "tiny" / "slurm.json").read_text())
    tasks = [rid for rec in records for rid in rec["tasks"].values()]
    assert all(len(rec["tasks"]) <= 5 for rec in records) and len(records) >= 3
    assert sorted(tasks) == sorted({r["run_id"] for r in index(runs, "tiny")}) and len(tasks) == 12  # each once
    first = index(runs, "tiny")[0]
    ref = _train_here(runs / "tiny" / ".configs" / f"{first['run_id']}.yaml", tmp_path / "here")
    report = tmp_path / "reports" / "tiny" / "runs.csv"
    wait_for(lambda: report.exists() and queue_empty(runs, "tiny"), 300, "the arrays and the report job")
    done = results(runs, "tiny")
    assert all(r and r["status"] == "done" for r in done.values())
    for m in ("top1", "top5", "loss", "train_loss"):  # a Slurm task trains what this process does
        assert done[(first["variant"], first["seed"])][m] == pytest.approx(ref[m], abs=1e-6), m
    assert _hparams(runs / "tiny" / first["run_id"] / "tb")[:3] == ["model.pos", "train.seed", "data.seed"]
    for r in index(runs, "tiny"):  # trained once: one epoch line, never resumed
        lines = (runs / "tiny" / r["run_id"] / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(x)["epoch"] for x in lines if "val_top1" in x] == [1]
    with report.open() as f:
        assert sorted(row["run_id"] for row in csv.DictReader(f)) == sorted(tasks)  # the report covers all
    status = launch("--grid", str(grid), "--seeds", "0,1,2,3,4,5", "--status", runs=runs)
    assert status.returncode == 0 and "12 done" in status.stdout.splitlines()[0], status.stdout
    again = launch("--grid", str(grid), "--executor", "slurm", "--cluster", cluster, "--seeds", "0,1,2,3,4,5",
                   "--no-report", runs=runs)
    assert again.returncode == 0 and "nothing to submit" in again.stdout, again.stdout


@pytest.mark.slurm
@pytest.mark.slow
@needs_slurm
def test_array_slurm_refuses_is_one_line_and_leaves_no_pickles(tmp_path: Path) -> None:
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    cluster = profile(tmp_path, extra={"nodelist": "nosuchnode"})
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", cluster, "--no-report", runs=runs)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "nothing was submitted" in out.stderr, out.stderr
    assert not (runs / "tiny").exists()  # no grid.json, configs or pickles: the launch took nothing back to undo


def _seconds_per_epoch(out: Path) -> float:
    """This machine's speed on the grid's run below (2 epochs in this process, one thread)."""
    import torch

    from vt_core.train import build_config, train

    sets = ["model.pool=mean", "model.depths=1", "data.name=arrangement", "data.train_size=512", "data.val_size=64",
            "train.batch_size=32", "train.epochs=2", "train.warmup_epochs=0"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(build_config("vit_cpu", None, sets), out, progress=False)["wall_time_s"] / 2
    finally:
        torch.set_num_threads(threads)


def _train_here(cfg_path: Path, out: Path) -> dict:
    """The same config uninterrupted, in this process, on one thread as the Slurm task has."""
    import torch

    from vt_core.run_folder import load_config
    from vt_core.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(load_config(cfg_path), out, progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slurm
@pytest.mark.slow
@needs_slurm
def test_time_limit_requeues_until_done_with_uninterrupted_metrics(tmp_path: Path) -> None:
    """time: 1 and ~150 s of training (epochs from this machine's speed): with signal_delay_s 25 Slurm
    signals each job 5-35 s after it starts (time limits are checked every 30 s; measured here: 12-32
    s, mostly 14-18), and start-up takes ~5-8 s of that, so the run needs 4 or more timeouts, more
    than submitit's default max_num_timeout of 3 allows. (~100 s gave 2 requeues once on an idle
    machine: at most ~30 s of training fit in a job then.)"""
    speed = _seconds_per_epoch(tmp_path / "probe")
    epochs = max(60, min(300, round(150 / speed)))
    grid, runs = write_grid(tmp_path, epochs=epochs), tmp_path / "runs"
    cluster = profile(tmp_path, time=1, signal_delay_s=25)
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", cluster, "--only", "abs", "--seeds", "0",
                 "--set", "data.train_size=512", "--no-report", runs=runs)
    assert out.returncode == 0, out.stderr
    (run,) = index(runs, "tiny")
    folder = runs / "tiny" / run["run_id"]
    (job,) = json.loads((runs / "tiny" / "slurm.json").read_text())[0]["tasks"]
    ref = _train_here(runs / "tiny" / ".configs" / f"{run['run_id']}.yaml", tmp_path / "uninterrupted")
    wait_for(lambda: (folder / "result.json").exists() or (folder / "error.txt").exists(), 540, "the run to end")
    assert not (folder / "error.txt").exists(), (folder / "error.txt").read_text()[-2000:]
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "done" and result["epochs"] == epochs
    for m in ("top1", "top5", "loss", "train_loss"):
        assert result[m] == pytest.approx(ref[m], abs=1e-6), m
    logged = [json.loads(x)["epoch"] for x in (folder / "metrics.jsonl").read_text().splitlines() if "val_top1" in x]
    assert logged == list(range(1, epochs + 1))
    live = ("PENDING", "RUNNING", "COMPLETING")
    wait_for(lambda: (_sacct(job) or ["PENDING"])[-1] not in live, 60, "sacct's record of the end")
    attempts = _sacct(job)
    requeues = attempts.count("REQUEUED")
    assert attempts[-1] == "COMPLETED", attempts  # not FAILED by a signal after the run ended
    log = "".join(p.read_text(errors="replace") for p in (runs / "tiny" / ".submitit").rglob("*_log.out"))
    assert requeues >= 4 and f"attempt {requeues + 1} (requeued {requeues}x)" in log, (requeues, log[-2000:])
    assert "resumed from checkpoint.pt" in log
    status = launch("--grid", str(grid), "--only", "abs", "--seeds", "0", "--set", "data.train_size=512", "--status",
                    runs=runs)
    assert f"requeued {requeues}x" in status.stdout and " done " in status.stdout, status.stdout
    print(f"{epochs} epochs at {speed:.2f} s each, {requeues} requeues")


@pytest.mark.slurm
@pytest.mark.slow
@needs_slurm
def test_two_ddp_tasks_match_one_process(tmp_path: Path) -> None:
    """tasks_per_node 2 without GPUs: two gloo ranks through submitit's TorchDistributedEnvironment
    give the metrics of one process (the tolerance of the torchrun test in test_train.py)."""
    grid, runs = write_grid(tmp_path, epochs=2), tmp_path / "runs"
    cluster = profile(tmp_path, tasks_per_node=2, cpus_per_task=2)
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", cluster, "--only", "abs", "--seeds", "0",
                 "--no-report", runs=runs)
    assert out.returncode == 0, out.stderr
    (run,) = index(runs, "tiny")
    folder = runs / "tiny" / run["run_id"]
    ref = _train_here(runs / "tiny" / ".configs" / f"{run['run_id']}.yaml", tmp_path / "single")
    wait_for(lambda: (folder / "result.json").exists() or (folder / "error.txt").exists(), 300, "the DDP run")
    assert not (folder / "error.txt").exists(), (folder / "error.txt").read_text()[-2000:]
    ddp = json.loads((folder / "result.json").read_text())
    assert ddp["world_size"] == 2
    assert ddp["loss"] == pytest.approx(ref["loss"], rel=1e-3)
    assert ddp["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-3)
    assert ddp["top1"] == pytest.approx(ref["top1"], abs=100.0 / 64 * 2)  # at most two val images flip
def _hparams(tb: Path) -> list[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(tb))
    acc.Reload()
    content = acc.PluginTagToContent("hparams")["_hparams_/experiment"]
    return [h.name for h in plugin_data_pb2.HParamsPluginData.FromString(content).experiment.hparam_infos]


def _sacct(job: str) -> list[str]:
    """The task's states, one per attempt, oldest first (sacct --duplicates)."""
    out = subprocess.run(["sacct", "-X", "-D", "-n", "-P", "--format=JobID,State", f"--jobs={job}"],
                         capture_output=True, text=True, timeout=30).stdout
    return [ln.split("|")[1] for ln in out.splitlines() if ln.startswith(job + "|")]
