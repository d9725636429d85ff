"""The local executor: trainers end with their launcher, runs another process holds are waited for
or skipped (never counted as done), the progress lines, TensorBoard's human names and the HParams
columns. Real launches of a tiny grid; the only pure tests are the status line and the link names."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.launch import ROOT, write_grid

HOLDER = ("import fcntl, os, sys, time\n"  # holds a run's lock exactly as vt_core.run_folder.RunLock does
          "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
          "fcntl.flock(fd, fcntl.LOCK_EX)\n"
          "os.write(fd, b'%d\\n' % os.getpid())\n"
          "print('held', flush=True)\n"
          "time.sleep(60)\n")


def planned(grid: Path, *sets: str, only: str = "abs", seed: int = 0):
    from ablations.planning.grid import expand, load_grid
    from vt_core.cli import overrides_from

    (run,) = expand(load_grid(str(grid)), "cpu", seeds=(seed,), sets=overrides_from(list(sets)), only=[only])
    return run


def write_config(gdir: Path, run) -> Path:
    from vt_core.run_folder import config_yaml

    path = gdir / ".configs" / f"{run.run_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_yaml(run.cfg))
    return path


def alive(pid: int) -> bool:
    """A process that has not exited (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def epoch_rows(folder: Path) -> list[int]:
    return [json.loads(x)["epoch"] for x in (folder / "metrics.jsonl").read_text().splitlines() if "val_top1" in x]


# ---------------------------------------------------------------------------------------- the guard
def test_guard_ends_the_child_with_its_parent(tmp_path: Path) -> None:
    parent = ("import subprocess, sys\n"
              "from ablations.executors.guard import guarded\n"
              "p = subprocess.Popen(guarded(['sleep', '30']), start_new_session=True)\n"
              "print(p.pid, flush=True)\n"
              "p.wait()\n")
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    try:
        time.sleep(0.3)  # let the guard exec sleep
        assert alive(child)
        assert Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0] == b"sleep"  # exec'd, no extra process
        proc.kill()
        proc.wait()
        deadline = time.time() + 5
        while alive(child) and time.time() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the child outlived its parent"
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_guard_does_not_start_a_child_whose_parent_is_gone() -> None:
    from ablations.executors.guard import EX_TEMPFAIL
    from vt_core import exit_codes

    assert EX_TEMPFAIL == exit_codes.INTERRUPTED
    # a parent pid that is not ours: the launcher died between fork and the guard (or never was)
    out = subprocess.run([sys.executable, "-m", "ablations.executors.guard", "1", "--", "echo", "started"], cwd=ROOT,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == exit_codes.INTERRUPTED and "started" not in out.stdout
    assert "launcher" in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict:
    """A real launch of a one-run grid, ``kill -9`` of the launcher while its trainer is in the first
    epoch, then a relaunch through ``run_local``; the reference is the same run uninterrupted."""
    from ablations.executors.local import run_local
    from vt_core.run_folder import is_locked, run_state
    from vt_core.train import train

    tmp = tmp_path_factory.mktemp("killed")
    grid, runs = write_grid(tmp, epochs=3), tmp / "runs"
    sets = ("data.train_size=256", "train.log_every=2")
    cmd = [sys.executable, "ablations/launch.py", "--grid", str(grid), "--executor", "local", "--only", "abs",
           "--seeds", "0", "--no-report", "--runs-dir", str(runs), *(x for s in sets for x in ("--set", s))]
    launcher = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = planned(grid, *sets)
    gdir = runs / "tiny"
    folder = gdir / run.run_id
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the launcher's trainers run (one thread each when --jobs is not given)
    try:
        reference = train(run.cfg, tmp / "reference", progress=False)  # while the launcher starts
    finally:
        torch.set_num_threads(threads)
    seen: dict = {}
    trainer = None
    try:
        deadline = time.time() + 120
        while not ((folder / "metrics.jsonl").exists() and (folder / "metrics.jsonl").read_text()):
            assert time.time() < deadline and launcher.poll() is None, launcher.communicate()
            time.sleep(0.02)
        trainer = int((folder / ".lock").read_text())  # the trainer's pid, written under its lock
        seen["held before"] = is_locked(folder) and alive(trainer)
        launcher.kill()
        launcher.wait()
        t = time.time()
        while alive(trainer) and time.time() < t + 20:  # it stops at its next step (0.1 s; more on busy cores)
            time.sleep(0.02)
        seen["trainer alive"], seen["gone after s"] = alive(trainer), time.time() - t
        seen["state"] = run_state(folder)
    finally:
        if trainer is not None and alive(trainer):
            os.kill(trainer, signal.SIGKILL)
    seen["log"] = (gdir / "logs" / f"{run.run_id}.log").read_text()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        seen["relaunch"] = run_local(gdir, [run], {run.run_id: gdir / ".configs" / f"{run.run_id}.yaml"})
    return {"gdir": gdir, "run": run, "folder": folder, "reference": reference, "seen": seen,
            "stdout": out.getvalue(), "stderr": err.getvalue()}


@pytest.mark.slow
def test_kill_9_of_the_launcher_ends_its_trainers_and_the_run_resumes(killed: dict) -> None:
    from tests.support.training import final_metrics

    seen, folder = killed["seen"], killed["folder"]
    assert seen["held before"]
    assert not seen["trainer alive"], "the trainer outlived its launcher"
    print(f"trainer gone {seen['gone after s']:.2f} s after kill -9 of its launcher")
    assert seen["state"] == "interrupted", "the run was not interrupted: it trained on to its end"
    assert "stopped by signal" in seen["log"]  # SIGTERM: it saved a checkpoint and stopped
    assert seen["relaunch"] == 0, killed["stdout"]
    assert "resumed from checkpoint.pt" in (folder.parent / "logs" / f"{folder.name}.log").read_text()
    assert final_metrics(json.loads((folder / "result.json").read_text())) == final_metrics(killed["reference"])
    assert epoch_rows(folder) == [1, 2, 3]


# ---------------------------------------------------------------------------------------- held runs
@pytest.mark.slow
def test_held_runs_are_waited_for_never_trained_twice_and_taken_over_when_left_unfinished(tmp_path: Path,
                                                                                          capsys) -> None:
    """Two runs held at planning: one by a real trainer that finishes it, one by a process that dies
    without ending it. The launch waits for both, reports the first as done elsewhere (no trainer of
    its own), trains the second itself, and returns only when both have ended."""
    import threading

    from ablations.executors.local import held_runs, run_local
    from vt_core.run_folder import is_locked

    grid, gdir = write_grid(tmp_path, epochs=2), tmp_path / "runs" / "tiny"
    run = planned(grid)
    left = planned(grid, "train.epochs=1", only="none")
    folder, left_folder = gdir / run.run_id, gdir / left.run_id
    other = subprocess.Popen([sys.executable, "-m", "vt_core.train", "--config", str(write_config(gdir, run)),
                              "--out", str(folder), "--no-progress"], cwd=ROOT,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, text=True)
    left_folder.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(left_folder / ".lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        deadline = time.time() + 120
        while not ((folder / ".lock").exists() and is_locked(folder)):
            assert time.time() < deadline and other.poll() is None
            time.sleep(0.05)
        holding = held_runs([run, left, run], {run.run_id: "running", left.run_id: "running"})
        assert holding == [run, left]
        threading.Timer(1.0, holder.kill).start()  # the second holder dies without ending its run
        code = run_local(gdir, [], {}, holding=holding)  # held="wait" is the default
        assert (folder / "result.json").exists(), "run_local returned before the held run ended"
    finally:
        for p in (other, holder):
            p.kill()
            p.wait()
    out = capsys.readouterr().out
    assert code == 0, out
    mine = [ln for ln in out.splitlines() if run.run_id in ln]
    assert len(mine) == 2 and mine[0].startswith(f"held: abs seed 0 ({run.run_id}) is being trained by another "
                                                 f"process (pid {other.pid}); waiting for it to end"), out
    assert ": done, top1 " in mine[1] and mine[1].endswith(", trained by another process"), out
    assert epoch_rows(folder) == [1, 2]  # trained once, by the other process
    assert not (gdir / "logs" / f"{run.run_id}.log").exists()  # no trainer of ours was started for it
    theirs = [ln for ln in out.splitlines() if left.run_id in ln]
    assert [ln.split(":")[0].split("] ")[-1] for ln in theirs] == ["held", "released", f"none seed 0 ({left.run_id})"]
    assert "(pending); training it here" in theirs[1] and ": done, top1" in theirs[2], out
    assert epoch_rows(left_folder) == [1]


def test_a_held_run_is_skipped_on_request_and_not_counted_as_done(tmp_path: Path, capsys) -> None:
    from ablations.executors.local import run_local
    from vt_core import exit_codes
    from vt_core.run_folder import run_state

    grid, gdir = write_grid(tmp_path), tmp_path / "runs" / "tiny"
    run = planned(grid)
    folder = gdir / run.run_id
    folder.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        # planned while the run was pending, held by the time a slot is free for it
        code = run_local(gdir, [run], {run.run_id: write_config(gdir, run)}, held="skip")
        assert run_state(folder) == "running"
    finally:
        holder.kill()
        holder.wait()
    out = capsys.readouterr().out
    assert code == exit_codes.BUSY
    skipped = [ln for ln in out.splitlines() if ln.startswith("skipped:")]
    assert len(skipped) == 1 and run.run_id in skipped[0] and f"pid {holder.pid}" in skipped[0], out
    assert ": done" not in out
    assert out.splitlines()[-1].startswith("skipped 1 run held by another process, not counted as done"), out
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]  # nothing written into the held run
    assert not (gdir / "logs" / f"{run.run_id}.log").exists()


def test_held_mode_is_checked(tmp_path: Path) -> None:
    from ablations.executors.local import run_local
    from vt_core.overrides import ConfigError

    with pytest.raises(ConfigError, match="--held: 'later'"):
        run_local(tmp_path, [], {}, held="later")


# ---------------------------------------------------------------------------------------- progress
def test_status_line_counts_epochs_and_eta() -> None:
    from ablations.executors.progress import RunProgress, status_line

    runs = [
        RunProgress("abs/seed0", "done", epoch=4, epochs=4),
        RunProgress("abs/seed1", "running", epoch=2.5, epochs=4),
        RunProgress("none/seed0", "running", epoch=1, epochs=4, start=1),  # resumed after one epoch
        RunProgress("none/seed1", "held", epoch=3, epochs=4, start=3),
        RunProgress("rel/seed0", "left", epoch=0, epochs=4),
    ]
    # 4 + 2.5 epochs trained in 65 s: 10 s an epoch; 1.5 + 3 + 1 + 4 = 9.5 epochs left
    line = status_line(runs, elapsed_s=65.0, width=200)
    assert line.startswith("runs: 1 done, 2 running, 1 held elsewhere, 1 left · ETA 1m35s · ")
    assert "abs/seed1 epoch 3/4" in line and "none/seed0 epoch 2/4" in line and "none/seed1" not in line
    short = status_line(runs, elapsed_s=65.0, width=70)
    assert len(short) <= 69 and short.endswith("…") and "ETA 1m35s" in short
    assert "ETA --" in status_line([RunProgress("a/seed0", "running", epoch=0, epochs=3)], elapsed_s=5, width=80)
    assert status_line([RunProgress("a/seed0", "done", epoch=3, epochs=3)], elapsed_s=5, width=80) == \
        "runs: 1 done, 0 running, 0 left"


def test_progress_read_from_the_last_metrics_line(tmp_path: Path) -> None:
    from ablations.executors.progress import EpochReader

    folder = tmp_path / "run"
    reader = EpochReader()
    assert reader.epochs_done(folder) == 0
    folder.mkdir()
    lines = [{"epoch": 0, "step": 4}, {"epoch": 1, "step": 8, "val_top1": 1.0}, {"epoch": 1, "step": 12}]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"epoch": 1, "st')
    assert reader.epochs_done(folder) == 1.5  # 8 steps an epoch (from the epoch row seen), 4 into the second


# ---------------------------------------------------------------------------------------- TensorBoard
def test_link_names_are_idempotent_replace_stale_links_and_leave_run_folders(tmp_path: Path) -> None:
    from ablations.executors.tensorboard import link_tensorboard

    gdir = tmp_path / "g"
    entries = [{"variant": "abs", "seed": 0, "run_id": "a0"}, {"variant": "abs", "seed": 1, "run_id": "a1"},
               {"variant": "rel", "seed": 0, "data_seed": 3, "run_id": "r0"},
               {"variant": "rel", "seed": 1, "data_seed": 1, "run_id": "r1"}]
    for e in entries:
        (gdir / e["run_id"] / "tb").mkdir(parents=True)
    (gdir / "grid.json").write_text(json.dumps({"grid": "g", "axes": ["model.pos"], "runs": entries}))
    stale = gdir / "tensorboard" / "gone" / "seed0"
    stale.parent.mkdir(parents=True)
    stale.symlink_to("../../nowhere/tb")
    wrong = gdir / "tensorboard" / "abs" / "seed1"
    wrong.parent.mkdir(parents=True)
    wrong.symlink_to("../../a0/tb")
    before = sorted(str(p) for p in gdir.rglob("*") if "tensorboard" not in p.parts)
    assert link_tensorboard(gdir) == 4
    tb = gdir / "tensorboard"
    assert {str(p.relative_to(tb)) for p in tb.rglob("*") if p.is_symlink()} == \
        {"abs/seed0", "abs/seed1", "rel/seed0_data3", "rel/seed1"}
    assert os.readlink(tb / "abs" / "seed1") == "../../a1/tb"  # relative: the runs folder can move
    assert (tb / "rel" / "seed0_data3").resolve() == (gdir / "r0" / "tb").resolve()
    assert not (tb / "gone").exists()
    assert link_tensorboard(gdir) == 4  # idempotent
    assert sorted(str(p) for p in gdir.rglob("*") if "tensorboard" not in p.parts) == before


@pytest.mark.slow
def test_not_a_tty_one_plain_line_per_finished_run(killed: dict) -> None:
    rid, out = killed["run"].run_id, killed["stdout"]
    lines = [ln for ln in out.splitlines() if rid in ln]
    assert len(lines) == 1 and lines[0].startswith(f"[1/1] abs seed 0 ({rid}): done, top1 "), out
    assert "\r" not in out + killed["stderr"] and "\x1b" not in out + killed["stderr"]


@pytest.mark.slow
def test_tensorboard_reads_the_run_under_its_human_name(killed: dict) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    gdir = killed["gdir"]
    link = gdir / "tensorboard" / "abs" / "seed0"
    assert link.is_symlink()
    acc = EventAccumulator(str(link))
    acc.Reload()
    assert [e.step for e in acc.Scalars("val/top1")] == [8, 16, 24] and "train/loss" in acc.Tags()["scalars"]
    mux = EventMultiplexer().AddRunsFromDirectory(str(gdir / "tensorboard"))
    mux.Reload()
    assert list(mux.Runs()) == ["abs/seed0"]  # what TensorBoard lists with --logdir runs/tiny/tensorboard


@pytest.mark.slow
def test_hparams_columns_lead_with_the_grid_axes_and_seeds(killed: dict) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    gdir = killed["gdir"]
    acc = EventAccumulator(str(gdir / "tensorboard" / "abs" / "seed0"))
    acc.Reload()
    hp = acc.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/experiment"]).experiment
    assert [h.name for h in experiment.hparam_infos[:3]] == ["model.pos", "train.seed", "data.seed"]
