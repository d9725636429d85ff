"""Planning and launching against a hostile user (issue 17 items 3, 4, 5, 6, 8, 10; issue 19 item 3):
every bad input or broken cache is one line (exit 2 for input), nothing written, no figure trusted
that cannot be right. In process: launch's main() with its argv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablations.launch import main
from tests.support.launch import snapshot, write_grid


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


def planned_ids(capsys: pytest.CaptureFixture, *args: str) -> list[str]:
    """The run ids of a dry run's table, in its order (abs 0, abs 1, none 0, none 1 for the tiny grid)."""
    code, out, err = run_main(capsys, *args, "--dry-run")
    assert code == 0, err
    return [line.split()[2] for line in out.splitlines() if line.startswith(("abs ", "none "))]


def finished(runs: Path, ids: list[str]) -> None:
    """Run folders that ended (a result.json without figures): a launch trains none of them."""
    for rid in ids:
        (runs / "tiny" / rid).mkdir(parents=True)
        (runs / "tiny" / rid / "result.json").write_text(json.dumps({"status": "done"}))


@pytest.mark.slow
def test_launch_summary_says_what_happens_to_each_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    common = ["--grid", grid, "--executor", "local", "--runs-dir", str(runs), "--no-report"]
    ids = planned_ids(capsys, *common)
    assert len(ids) == 4
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


# ------------------------------------------------------------------ issue 17.5: cached figures that cannot be right
@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The tiny grid and a real calibration cache of its two models (measured once for these tests)."""
    folder = tmp_path_factory.mktemp("calibrated")
    grid = write_grid(folder)
    assert main(["--grid", str(grid), "--dry-run", "--calibrate", "--executor", "local", "--runs-dir",
                 str(folder / "runs")]) == 0
    return grid, json.loads((folder / "runs" / ".calibration.json").read_text())


def sources(out: str) -> list[str]:
    return [" ".join(line.split()[6:-2]) for line in out.splitlines() if line.startswith(("abs ", "none "))]


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["-5", "NaN", "Infinity", "0", "null", '"abc"', "true", "[1]"])
def test_bad_calibration_entries_are_ignored_not_trusted(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                         calibrated: tuple[Path, dict], bad: str) -> None:
    grid, cache = calibrated
    runs = tmp_path / "runs"
    runs.mkdir()
    entries = ", ".join(f'"{key}": {{"img_per_s": {bad}, "device": "cpu"}}' for key in cache)
    (runs / ".calibration.json").write_text("{" + entries + "}")
    before = snapshot(runs)
    code, out, err = run_main(capsys, "--grid", str(grid), "--dry-run", "--budget", "1e-9", "--executor", "local",
                              "--runs-dir", str(runs))
    assert code == 2 and sources(out) == ["gmacs table"] * 4  # re-estimated, not the cache's figure
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 2 and all(".calibration.json" in w and "img_per_s" in w for w in warnings), err
    assert "--budget" in one_error("\n".join(ln for ln in err.splitlines() if not ln.startswith("warning:")))
    assert snapshot(runs) == before


@pytest.mark.slow
def test_a_launch_recalibrates_a_bad_cache_entry(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 calibrated: tuple[Path, dict]) -> None:
    grid, cache = calibrated
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / ".calibration.json").write_text(json.dumps({k: {**v, "img_per_s": "abc"} for k, v in cache.items()}))
    common = ["--grid", str(grid), "--only", "abs", "--seeds", "0", "--executor", "debug", "--runs-dir", str(runs)]
    finished(runs, planned_ids(capsys, *common))  # a launch calibrates before it trains: nothing to train here
    code, out, err = run_main(capsys, *common, "--no-report")
    assert code == 0 and "img_per_s 'abc'" in err, err
    rewritten = json.loads((runs / ".calibration.json").read_text())
    assert any(isinstance(e["img_per_s"], float) and e["img_per_s"] > 0 for e in rewritten.values())


@pytest.mark.parametrize("result", [
    {"train_img_per_s": 500.0, "world_size": -1},
    {"train_img_per_s": float("inf"), "world_size": 1},
    {"train_img_per_s": -3.0},
    {"train_img_per_s": 500.0, "world_size": 0.5},
])
def test_bad_figures_in_a_finished_result_are_not_trusted(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          result: dict) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    common = ["--grid", grid, "--executor", "local", "--runs-dir", str(runs)]
    ids = planned_ids(capsys, *common)
    for rid in (ids[0], ids[2]):  # seed 0 of both variants finished; seed 1 would take their figure
        (runs / "tiny" / rid).mkdir(parents=True)
        (runs / "tiny" / rid / "result.json").write_text(json.dumps({"status": "done", **result}))
    code, out, err = run_main(capsys, *common, "--dry-run", "--budget", "1e-9")
    assert code == 2 and "runs" not in sources(out), out
    assert sum("result.json" in ln and ln.startswith("warning:") for ln in err.splitlines()) == 2, err


# ------------------------------------------------------------------ issue 17.6: Slurm asked for where it is not
def test_slurm_executor_without_sbatch_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.slurm import CLUSTER

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no sbatch, no srun, whatever this machine has
    runs = tmp_path / "runs"
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "slurm", "--cluster",
                              CLUSTER, "--runs-dir", str(runs), "--no-report")
    line = one_error(err)
    assert code == 2 and "sbatch and srun not found" in line and "--executor local" in line
    assert not runs.exists() and not out
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "slurm", "--cluster",
                              CLUSTER, "--runs-dir", str(runs), "--dry-run")
    assert code == 0 and "sbatch parameters" in out and not runs.exists()  # planning for Slurm needs no Slurm


# ------------------------------------------------------------------ issue 17.10: a full runs filesystem
def refuse_writing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The disk is full for ``name``: the real write path raises its real OSError(ENOSPC)."""
    import errno
    import os

    from vt_core import run_folder

    real = run_folder._atomic_write

    def full(path: Path, write) -> None:
        if path.name == name:
            raise run_folder.write_error(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)))
        real(path, write)

    monkeypatch.setattr(run_folder, "_atomic_write", full)


@pytest.mark.slow
@pytest.mark.parametrize("name", [".calibration.json", "grid.json"])
def test_full_disk_at_launch_is_one_line_naming_file_and_disk(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              calibrated: tuple[Path, dict], name: str) -> None:
    grid = calibrated[0]
    runs = tmp_path / "runs"
    if name == "grid.json":  # calibrated already: grid.json is the first file written
        runs.mkdir()
        (runs / ".calibration.json").write_text(json.dumps(calibrated[1]))
    before = snapshot(tmp_path)
    refuse_writing(monkeypatch, name)
    code, out, err = run_main(capsys, "--grid", str(grid), "--only", "abs", "--executor", "debug", "--no-report",
                              "--runs-dir", str(runs))
    line = one_error(err)
    assert code == 1 and str(runs / name if name != "grid.json" else runs / "tiny" / name) in line
    assert "No space left on device" in line and "on the filesystem at /" in line
    after = snapshot(tmp_path)
    assert not (runs / "tiny").exists()  # nothing left of the grid's folder: no index, configs, links or runs
    # no file changed; the one a launch may add before grid.json is the model-size cache (a valid one)
    assert set(after) - set(before) <= ({"runs/.model_sizes.json"} if name == "grid.json" else set()) | {"runs"}
    assert {k: v for k, v in after.items() if k in before and "." in k} == {k: v for k, v in before.items()
                                                                            if "." in k}


@pytest.mark.slow
def test_full_disk_in_a_calibrating_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch, calibrated: tuple[Path, dict]) -> None:
    refuse_writing(monkeypatch, ".calibration.json")
    runs = tmp_path / "runs"
    code, _, err = run_main(capsys, "--grid", str(calibrated[0]), "--dry-run", "--calibrate", "--only", "abs",
                            "--runs-dir", str(runs), "--executor", "local")  # no sbatch note where Slurm is
    assert code == 1 and "No space left on device" in one_error(err) and not runs.exists()


# ------------------------------------------------------------------ issue 17.4: a grid too large to plan
@pytest.fixture
def hang_guard():
    """A refusal that is not at once would hang here (a quadratic check took 75 s for 20,000 variants
    before): fail the test instead. A guard against hanging, far above the time it takes, not a speed test."""
    import signal

    def stop(*_):
        raise AssertionError("still planning after 120 s: the grid was not refused at once")

    before = signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


@pytest.mark.parametrize("count,needle", [(10**7, "at least 1,000,000 variants"), (9_999, "10,001 variants")])
def test_a_grid_beyond_the_variant_ceiling_is_refused_with_its_count(
        tmp_path: Path, capsys: pytest.CaptureFixture, hang_guard: None, count: int, needle: str) -> None:
    grid = write_grid(tmp_path, extra=f'for i in range({count}):\n    add(name=f"v{{i}}", **{{"train.lr": 1e-4}})\n')
    code, out, err = run_main(capsys, "--grid", str(grid), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    line = one_error(err)
    assert code == 2 and needle in line and "10,000" in line and "MAX_VARIANTS" in line and not out


def test_a_plan_beyond_the_run_ceiling_is_refused_with_its_count(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                 hang_guard: None) -> None:
    seeds = ",".join(map(str, range(10_001)))
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--seeds", seeds, "--data-seeds", "0,1",
                              "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    line = one_error(err)
    assert code == 2 and "2 variants × 10,001 seeds × 2 data seeds = 40,004 runs" in line and "MAX_RUNS" in line


def test_a_grid_at_the_ceiling_keeps_its_checks(tmp_path: Path) -> None:
    """The linear duplicate check still finds a repeated name among thousands."""
    from ablations.planning.grid import GridError, load_grid

    grid = write_grid(tmp_path, extra='for i in range(5000):\n    add(name=f"v{i}")\nadd(name="v17")\n')
    with pytest.raises(GridError, match="variant 'v17' is added twice"):
        load_grid(str(grid))


# ------------------------------------------------------------------ issue 17.8: a malformed grid.json
GOOD_ENTRY = {"variant": "abs", "seed": 0, "run_id": "abc123def456", "profile": "cpu", "overrides": {}}
MALFORMED = [
    ({"runs": ["abc123def456"]}, "runs[0]"),
    ({"runs": [{"variant": "abs", "run_id": "abc123def456"}]}, "runs[0].seed: missing"),
    ({"runs": [{**GOOD_ENTRY, "overrides": "x"}]}, "runs[0].overrides"),
    ({"runs": [GOOD_ENTRY], "metric": 5}, "metric: 5"),
    ({"runs": [GOOD_ENTRY], "axes": "model.pos"}, 'axes: "model.pos"'),
    ({"runs": [{**GOOD_ENTRY, "variant": "../../../victim"}]}, "runs[0].variant"),
    ({"runs": [{**GOOD_ENTRY, "seed": "1/../../../../x"}]}, "runs[0].seed"),
    ({"runs": [{**GOOD_ENTRY, "run_id": "../elsewhere"}]}, "runs[0].run_id"),
    ({"runs": [GOOD_ENTRY, {**GOOD_ENTRY, "estimate": {"device_hours": "NaN", "source": "runs"}}]},
     "runs[1].estimate"),
    ({"runs": {"a": 1}}, "runs: "),
    ([1, 2], "is not a JSON object"),
    (b"\xff\xfe\x00{", "cannot be read as JSON"),
]


def write_index_file(runs: Path, data) -> Path:
    path = runs / "tiny" / "grid.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


@pytest.mark.parametrize("data,field", MALFORMED)
@pytest.mark.parametrize("mode", [[], ["--dry-run"], ["--status"]])
def test_a_malformed_grid_json_stops_the_launcher_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              data, field: str, mode: list[str]) -> None:
    runs = tmp_path / "runs"
    path = write_index_file(runs, data)
    before = snapshot(runs)
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--executor", "local", "--no-report",
                              "--runs-dir", str(runs), *mode)
    line = one_error(err)
    assert code == 2 and str(path) in line and field in line and not out
    assert snapshot(runs) == before  # not rewritten: the entries it could not read are not lost


@pytest.mark.parametrize("data,field", MALFORMED)
def test_a_malformed_grid_json_stops_the_report_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            data, field: str) -> None:
    from ablations.report import main as report

    path = write_index_file(tmp_path / "runs", data)
    code = report(["--grid", "tiny", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "rep")])
    line = one_error(capsys.readouterr().err)
    assert code == 2 and str(path) in line and field in line and not (tmp_path / "rep").exists()


@pytest.mark.slow
def test_the_index_the_launcher_writes_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from ablations.planning.grid_index import read_index

    runs = tmp_path / "runs"
    common = ["--grid", str(write_grid(tmp_path)), "--only", "abs", "--seeds", "0", "--data-seeds", "1",
              "--executor", "debug", "--runs-dir", str(runs)]
    finished(runs, planned_ids(capsys, *common))
    code, _, _ = run_main(capsys, *common, "--no-report")
    index = read_index(runs / "tiny" / "grid.json")
    (entry,) = index.runs
    assert code == 0 and (entry.variant, entry.seed, entry.data_seed) == ("abs", 0, 1)
    assert entry.estimate["source"] == "calibration" and index.axes == ["model.pos"] and index.metric == "top1"


@pytest.mark.slow  # builds and counts Swin-T on the meta device: a few seconds
def test_the_readmes_second_command_shows_the_plan_then_refuses(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.launch import ROOT

    line = next(ln.strip() for ln in (ROOT / "README.md").read_text().splitlines() if "--budget 500" in ln)
    assert line.startswith("python ablations/launch.py ")
    monkeypatch.chdir(tmp_path)  # no runs folder, no data here: planned away from ImageNet
    code, out, err = run_main(capsys, *line.split()[2:])
    assert code == 2 and out.count("gmacs table") == 8 and "345,190 device-hours" in out
    assert "budget of 500" in err.strip().splitlines()[-1] and not list(tmp_path.iterdir())


# ------------------------------------------------------------------ the hostile pass: flags that would be ignored
@pytest.mark.parametrize("args,needle", [
    (["--jobs", "-1", "--executor", "local"], "--jobs: -1 is negative"),
    (["--jobs", "2", "--executor", "slurm", "--cluster", "CLUSTER", "--dry-run"], "array_parallelism"),
    (["--held", "skip", "--executor", "slurm", "--cluster", "CLUSTER", "--dry-run"], "--held: acts on this machine"),
    (["--calibrate", "--executor", "slurm", "--cluster", "CLUSTER", "--dry-run"], "--calibrate: acts on this"),
])
def test_local_flags_that_would_be_ignored_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str],
                                                needle: str) -> None:
    from tests.support.slurm import CLUSTER

    runs = tmp_path / "runs"
    args = [CLUSTER if a == "CLUSTER" else a for a in args]
    code, out, err = run_main(capsys, "--grid", str(write_grid(tmp_path)), "--runs-dir", str(runs), *args)
    assert code == 2 and needle in one_error(err) and not out and not runs.exists()


# ------------------------------------------------------------------ the hostile pass: a grid module's own bugs
@pytest.mark.parametrize("old,new,needle", [
    ('    add(name="abs"', '    1 / 0\n    add(name="abs"', "sweep() failed: ZeroDivisionError"),
    ('add(name="abs", ', 'add("abs", ', "sweep() failed: TypeError"),
    ('BASE = {"preset": "vit_cpu", "model.pool": "mean", "model.depths": 1}', "BASE = 5", "BASE = 5"),
    ('METRIC = "top1"', "METRIC = 5", "METRIC = 5"),
    ('METRIC = "top1"', 'METRIC = "top1"\nPAPER = {"abs": float("nan")}', "PAPER"),
    ('METRIC = "top1"', 'METRIC = "top1"\nPAPER = "x"', "PAPER"),
    ('"train.warmup_epochs": 0}}', '"train.warmup_epochs": 0}, "big": 5}', "PROFILES['big'] = 5"),
    ("def sweep(add):", "sweep = 5\n\n\ndef _sweep(add):", "sweep = 5"),
])
def test_a_grid_modules_bug_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, old: str, new: str,
                                        needle: str) -> None:
    """What would reach grid.json (a METRIC of 5, a PAPER NaN) or traceback (a sweep that raises) is
    refused at loading, naming the grid and the constant."""
    grid = write_grid(tmp_path)
    assert old in grid.read_text()
    grid.write_text(grid.read_text().replace(old, new, 1))
    code, out, err = run_main(capsys, "--grid", str(grid), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    line = one_error(err)
    assert code == 2 and "grid tiny" in line and needle in line and not out


@pytest.mark.parametrize("mode", [["--status"], ["--dry-run"]])
def test_a_result_json_that_is_not_text_is_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        mode: list[str]) -> None:
    runs, grid = tmp_path / "runs", str(write_grid(tmp_path))
    common = ["--grid", grid, "--executor", "local", "--runs-dir", str(runs)]
    ids = planned_ids(capsys, *common)
    (runs / "tiny" / ids[0]).mkdir(parents=True)
    (runs / "tiny" / ids[0] / "result.json").write_bytes(b"\xff\xfe\x00garbage")
    code, out, err = run_main(capsys, *common, *mode)
    row = next(line.split() for line in out.splitlines() if ids[0] in line)
    assert code == 0 and "corrupt" in row, (out, err)  # there but unreadable: never trained over (RunState)


@pytest.mark.slow
@pytest.mark.parametrize("cache", [".calibration.json", ".model_sizes.json"])
def test_a_cache_that_is_a_fifo_does_not_hang_the_plan(tmp_path: Path, cache: str) -> None:
    import os
    import subprocess
    import sys

    runs = tmp_path / "runs"
    runs.mkdir()
    os.mkfifo(runs / cache)  # reading it would block until a writer came
    done = subprocess.run([sys.executable, "ablations/launch.py", "--grid", str(write_grid(tmp_path)), "--dry-run",
                           "--runs-dir", str(runs)], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and f"{cache}: not a regular file" in done.stderr, done.stderr
