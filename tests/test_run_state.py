"""A run folder's state is one of RunState's members, read from its files; a result.json whose
status is not one a trainer writes is 'corrupt', never trusted as finished."""

from __future__ import annotations

import json

import pytest

from vt_core.run_folder import CHECKPOINT, ERROR, RESULT, RunState, run_state


@pytest.mark.parametrize("content, state", [
    ({"status": "done", "top1": 50.0}, RunState.DONE),
    ({"status": "diverged"}, RunState.DIVERGED),
    ({"top1": 50.0}, RunState.DONE),  # result.json before the status field: a finished run
    ({"status": "xyz"}, RunState.CORRUPT),
    ({"status": 5}, RunState.CORRUPT),
    ([1, 2], RunState.CORRUPT),
    ("done", RunState.CORRUPT),
])
def test_state_from_result(tmp_path, content, state):
    (tmp_path / RESULT).write_text(json.dumps(content))
    assert run_state(tmp_path) is state


@pytest.mark.parametrize("raw", [b'{"status": "do', b"\xff\xfe\x00", b""])
def test_an_unreadable_result_is_corrupt_not_pending(tmp_path, raw):
    (tmp_path / RESULT).write_bytes(raw)  # a pending run would be trained over, losing what is there
    assert run_state(tmp_path) is RunState.CORRUPT


def test_state_from_other_files(tmp_path):
    assert run_state(tmp_path) is RunState.PENDING
    (tmp_path / CHECKPOINT).write_bytes(b"x")
    assert run_state(tmp_path) is RunState.INTERRUPTED
    (tmp_path / ERROR).write_text("boom\n")
    assert run_state(tmp_path) is RunState.FAILED


def test_states_are_their_words():
    assert RunState.DONE == "done" and json.dumps(RunState.FAILED) == '"failed"'
    assert {s for s in RunState if s.ended} == {RunState.DONE, RunState.DIVERGED, RunState.FAILED}


@pytest.mark.parametrize("status", ["xyz", 5, None])
def test_the_report_reads_a_result_as_the_launcher_does(tmp_path, status):
    """An unknown status was averaged as 'done' by the report while the launcher said 'corrupt'."""
    from ablations.report.readers import read_run

    (tmp_path / RESULT).write_text(json.dumps({"status": status, "top1": 50.0}))
    state, result, problem = read_run(str(tmp_path))
    assert state == run_state(tmp_path) == RunState.CORRUPT and result is None and "status" in problem


@pytest.mark.parametrize("name", [RESULT, ERROR, "metrics.jsonl"])
def test_a_fifo_in_a_run_folder_is_not_waited_on(tmp_path, name):
    """A FIFO where a file is expected is read as unreadable (no writer would ever come)."""
    import os

    from ablations.executors.progress import run_progress
    from vt_core.run_folder import last_line

    os.mkfifo(tmp_path / name)
    assert run_state(tmp_path) in (RunState.CORRUPT, RunState.FAILED, RunState.PENDING)
    assert last_line(tmp_path / name) == "" and run_progress(tmp_path, 4) == ""


def test_a_fifo_grid_json_is_one_line(tmp_path):
    import os

    from ablations.planning.grid_index import GridIndexError, read_index

    os.mkfifo(tmp_path / "grid.json")
    with pytest.raises(GridIndexError, match="not a regular file"):
        read_index(tmp_path / "grid.json")
