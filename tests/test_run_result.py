"""result.json is one type (``vt_core.run_result.RunResult``): the trainer writes it, and the run
folder, the planner, the launcher's lines and the report read it through it; a file no trainer
writes is corrupt everywhere, with the key that makes it so."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ablations.report import keys
from ablations.report.readers import read_run
from vt_core.run_folder import RESULT_STATES, RunState, read_result, run_state
from vt_core.run_result import COSTS, ENDED_STATUSES, FINAL_METRICS, ResultError, RunResult

FULL = RunResult(status="done", run_id="abc123def456", fingerprint="f" * 64, epochs=3, top1=71.5, top5=90.0,
                 loss=1.2, train_loss=1.1, best_top1=72.0, best_top5=91.0, best_epoch=2,
                 eval_sizes={"48": {"top1": 60.0, "top5": 85.0, "loss": 1.5}}, params=311338, macs=2.5e7,
                 gmacs=0.025, train_img_per_s=600.0, peak_mem_mb=900.0, peak_mem_kind="process_peak_rss",
                 wall_time_s=40.0, world_size=1, env={"device": "cpu"}, normalisation={"mean": [0.5] * 3})


def _write(folder: Path, data) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


def test_the_record_reads_back_what_it_writes_in_the_trainer_s_key_order(tmp_path: Path) -> None:
    data = json.loads(FULL.dumps())
    assert list(data)[:11] == ["status", "run_id", "fingerprint", "epochs", "top1", "top5", "loss", "train_loss",
                               "best_top1", "best_top5", "best_epoch"]
    assert list(data)[-3:] == ["world_size", "env", "normalisation"] and "top1_ema" not in data
    assert RunResult.from_json(data) == FULL
    assert read_result(_write(tmp_path / "run", data)) == FULL and run_state(tmp_path / "run") is RunState.DONE


def test_keys_a_newer_trainer_writes_are_kept_and_reported(tmp_path: Path) -> None:
    data = {**FULL.to_json(), "top1_real": 66.0, "notes": "x"}
    r = RunResult.from_json(data)
    assert r.extra == {"top1_real": 66.0, "notes": "x"} and r.to_json() == data and r.value("top1_real") == 66.0


def test_a_diverged_run_s_nan_and_null_are_numbers_it_may_hold() -> None:
    r = RunResult.from_json({**FULL.to_json(), "status": "diverged", "loss": math.nan, "top1": None,
                             "diverged_at": {"epoch": 1, "step": 3, "global_step": 9}})
    assert not r.done and math.isnan(r.loss) and r.top1 is None


@pytest.mark.parametrize("data, words", [
    ([1, 2], "[1, 2] is not a JSON object"),
    ({"status": "xyz"}, "status 'xyz' is not one a trainer writes"),
    ({"status": "done", "top1": "71.5"}, "top1 = '71.5' is not a number"),
    ({"status": "done", "wall_time_s": True}, "wall_time_s = True is not a number"),
    ({"status": "done", "eval_sizes": {"48": [1]}}, "eval_sizes = {'48': [1]} is not an object"),
    ({"status": "done", "env": ["cpu"]}, "env = ['cpu'] is not an object"),
    ({"status": "done", "run_id": 7}, "run_id = 7 is not a string"),
    ('{"status": "do', "not valid JSON"),
])
def test_a_file_no_trainer_writes_is_corrupt_everywhere_naming_why(tmp_path: Path, data, words: str) -> None:
    folder = _write(tmp_path / "run", data)
    if not isinstance(data, str):
        with pytest.raises(ResultError, match=words.replace("[", r"\[").replace("(", r"\(")):
            RunResult.from_json(data)
    assert read_result(folder) is None and run_state(folder) is RunState.CORRUPT
    state, result, problem = read_run(str(folder))
    assert state == "corrupt" and result is None and words in problem and "result.json" in problem


def test_one_list_of_the_keys() -> None:
    assert keys.METRICS is FINAL_METRICS and keys.COSTS is COSTS
    assert RESULT_STATES == ENDED_STATUSES
    assert set(FINAL_METRICS) | set(COSTS) <= {f for f in RunResult.__dataclass_fields__}
