"""Path arguments land where the user asked or are refused: ``report.py --grid ../../x/tiny`` (a
name leading outside runs/ and reports/), an empty ``--out`` / ``--runs-dir`` / ``--reports-dir``
(which meant the current folder), a 300-character component (``OSError [Errno 36]`` otherwise):
each one line naming the flag, exit 2, nothing written. The commands run in-process from a scratch
current folder, which must stay empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablations.launch import main as launch_main
from ablations.report.cli import main as report_main
from tests.support.launch import write_grid

LONG = "a" * 300


def _refused(code: int, capsys, flag: str, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"error: {flag}: "), err
    assert all(w in err for w in words), err
    return err


@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize(("args", "flag", "words"), [
    (["--grid", "../../x/tiny"], "--grid", ["'../../x/tiny' is not a grid name"]),
    (["--grid", "...py"], "--grid", ["not a grid name"]),
    (["--grid", "tiny", "--out", ""], "--out", ["empty"]),
    (["--grid", "tiny", "--runs-dir", ""], "--runs-dir", ["empty"]),
    (["--grid", LONG], "--grid", ["300 bytes", "255"]),
    (["--grid", "tiny", "--out", f"reports/{LONG}"], "--out", ["300 bytes"]),
], ids=["dotdot", "parent", "empty out", "empty runs", "long grid", "long out"])
def test_report_path_arguments(scratch: Path, capsys, args, flag, words) -> None:
    _refused(report_main(args), capsys, flag, *words)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(("args", "flag", "words"), [
    (["--runs-dir", "", "--dry-run"], "--runs-dir", ["empty"]),
    (["--reports-dir", ""], "--reports-dir", ["empty"]),
    (["--runs-dir", f"/tmp/{LONG}", "--dry-run"], "--runs-dir", ["300 bytes"]),
    (["--reports-dir", LONG, "--dry-run"], "--reports-dir", ["300 bytes"]),
], ids=["empty runs", "empty reports", "long runs", "long reports"])
def test_launch_path_arguments(scratch: Path, tmp_path: Path, capsys, args, flag, words) -> None:
    grid = write_grid(tmp_path)
    defaults = {"--runs-dir": str(tmp_path / "runs"), "--reports-dir": str(tmp_path / "reports")}
    rest = [x for k, v in defaults.items() if k not in args for x in (k, v)]
    _refused(launch_main(["--grid", str(grid), "--profile", "cpu", *rest, *args]), capsys, flag, *words)
    assert list(scratch.iterdir()) == [] and not (tmp_path / "runs").exists()
