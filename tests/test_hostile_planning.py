"""Planning and launching against a hostile user (issue 17 items 3, 4, 5, 6, 8, 10; issue 19 item 3):
every bad input or broken cache is one line (exit 2 for input), nothing written, no figure trusted
that cannot be right. In process: launch's main() with its argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablations.launch import main
from tests.support.launch import write_grid


def run_main(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    return lines[0]


# ------------------------------------------------------------------ issue 19.3: the plan, then the budget
def test_dry_run_over_budget_prints_the_plan_then_refuses(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs = tmp_path / "runs"
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--dry-run", "--budget", "1e-9",
                              "--executor", "local", "--runs-dir", str(runs))
    assert code == 2
    assert out.count("pending") == 4 and "cost: " in out  # the plan a user trims from
    assert "--budget" in one_error(err) and not runs.exists()


def test_launch_summary_says_what_happens_to_each_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    common = ["--grid", grid, "--executor", "local", "--runs-dir", str(runs), "--no-report"]
    code, out, _ = run_main(capsys, *common, "--dry-run")
    ids = [line.split()[2] for line in out.splitlines() if line.startswith(("abs ", "none "))]
    assert code == 0 and len(ids) == 4
    for rid, status in zip(ids, ("done", "done", "diverged", "done")):
        (runs / "tiny" / rid).mkdir(parents=True)
        (runs / "tiny" / rid / "result.json").write_text(json.dumps({"status": status}))
    (runs / "tiny" / ids[3] / "result.json").unlink()
    (runs / "tiny" / ids[3] / "error.txt").write_text("boom\n")
    code, out, _ = run_main(capsys, *common)
    assert code == 0, out
    assert "grid tiny (cpu): 4 runs: 0 to train on local, 1 already ended (diverged), 2 already done, " \
           "1 failed before (skipped)" in out
    assert "need nothing" not in out


# ------------------------------------------------------------------ issue 17.3: seeds only from the seed flags
SEED_GRID_EDITS = [
    ('BASE = {"preset"', 'BASE = {"train.seed": 3, "preset"', "BASE: train.seed"),
    ('"train.warmup_epochs": 0}', '"train.warmup_epochs": 0, "data.seed": 4}', "profile cpu: data.seed"),
    ('**{"model.pos": "none"}', '**{"model.pos": "none", "train": {"seed": 9}}', "variant none: train.seed"),
]


@pytest.mark.parametrize("sets,needle,flag", [
    (["train.seed=5"], "--set: train.seed", "--seeds"),
    (["data.seed=7"], "--set: data.seed", "--data-seeds"),
    (["train={seed: 5, lr: 0.01}"], "--set: train.seed", "--seeds"),
])
def test_seed_overrides_on_the_command_line_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        sets: list[str], needle: str, flag: str) -> None:
    runs = tmp_path / "runs"
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "local", "--runs-dir",
                              str(runs), "--set", *sets)
    line = one_error(err)
    assert code == 2 and needle in line and flag in line and not out and not runs.exists()


@pytest.mark.parametrize("old,new,needle", SEED_GRID_EDITS)
def test_seed_overrides_in_a_grid_module_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, old: str,
                                                     new: str, needle: str) -> None:
    grid = write_grid(tmp_path)
    assert old in grid.read_text()
    grid.write_text(grid.read_text().replace(old, new))
    code, _, err = run_main(capsys, "--grid", str(grid), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    line = one_error(err)
    assert code == 2 and needle in line and "SEEDS" in line
