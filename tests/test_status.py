"""``launch.py --status``: a row per run, and for a run that is training (or was stopped) how far it
is and when it will end, read from its metrics.jsonl; never importing torch (tests/test_imports.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablations.executors.progress import run_progress
from ablations.launch import main
from tests.support.launch import write_grid
from vt_core.run_folder import RunLock


def _rows(folder: Path, t0: float) -> None:
    """Two epochs of 10 steps done in 20 s, then 5 steps of the third: 2.5 of 4 epochs after 25 s."""
    rows = []
    for step in range(1, 26):
        rows.append({"epoch": (step - 1) // 10, "step": step, "train_loss": 1.0, "time": t0 + step})
        if step % 10 == 0:
            rows.append({"epoch": step // 10, "step": step, "val_top1": 50.0, "train_loss": 1.0, "time": t0 + step})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_progress_and_eta_from_the_metrics(tmp_path: Path) -> None:
    _rows(tmp_path, 1000.0)
    # 1 epoch per 10 s; 1.5 epochs left
    assert run_progress(tmp_path, 4) == "epoch 2.5/4 · step 25 · ETA 15s"
    assert run_progress(tmp_path / "none", 4) == ""


def test_rows_without_time_give_no_eta(tmp_path: Path) -> None:
    _rows(tmp_path, 0.0)
    text = (tmp_path / "metrics.jsonl").read_text().replace('"time"', '"t"')
    (tmp_path / "metrics.jsonl").write_text(text)
    assert run_progress(tmp_path, 4) == "epoch 2.5/4 · step 25"


def test_status_shows_a_running_runs_progress(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path, epochs=4))
    common = ["--grid", grid, "--executor", "local", "--runs-dir", str(runs)]
    assert main([*common, "--dry-run"]) == 0
    rid = next(line.split()[2] for line in capsys.readouterr().out.splitlines() if line.startswith("abs "))
    folder = runs / "tiny" / rid
    _rows(folder, 1000.0)
    lock = RunLock(folder)
    assert lock.acquire()  # as a trainer holds it
    try:
        assert main([*common, "--status"]) == 0
    finally:
        lock.release()
    row = next(line for line in capsys.readouterr().out.splitlines() if rid in line)
    assert "running" in row and "epoch 2.5/4 · step 25 · ETA 15s" in row
