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
