"""vt_core.analyze on run folders: analysis.json written once per run and settings, evaluation-only
runs analysed through their init_from weights, CKA against a baseline, bad input refused."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support.training import ROOT, tiny_cfg
from vt_core.analyze import AnalysisSettings, analyze_run
from vt_core.analyze.cli import main
from vt_core.train import train

pytestmark = pytest.mark.slow
SMALL = AnalysisSettings(images=16, grad_images=4, tokens=3, batch_size=8)
DATA = ("data.train_size=128", "data.val_size=64", "train.batch_size=32", "train.epochs=1", "train.warmup_epochs=0")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    trained = root / "trained"
    train(tiny_cfg(*DATA, preset="swin_cpu"), trained, progress=False)
    no_shift = root / "no_shift"  # swin_eval's no_shift variant: the trained weights, evaluated with shift off
    evaluate = [d for d in DATA if not d.startswith("train.epochs=")] + ["train.epochs=0"]
    train(tiny_cfg(*evaluate, "model.shift=false", f"train.init_from={trained}", preset="swin_cpu"), no_shift,
          progress=False)
    return root, trained, no_shift


def analyze_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m vt_core.analyze ARGS``, run in this process (its main) to spare a torch import."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_analysis_json_is_written_once_and_redone_when_asked(runs):
    _, trained, _ = runs
    out = analyze_run(trained, SMALL, baseline=trained)
    path = trained / "analysis.json"
    assert json.loads(path.read_text()) == out
    assert out["images"]["n"] == 16 and len(out["attention_distance"]) == 4 and len(out["erf"]) == 2
    assert [row["shift"] for row in out["cross_window"].values()] == [0, 2, 0, 2]
    assert out["cka"]["same_block"] and all(v == pytest.approx(1.0) for v in out["cka"]["same_block"].values())
    stamp = path.stat().st_mtime_ns
    assert analyze_run(trained, SMALL, baseline=trained) == out and path.stat().st_mtime_ns == stamp  # up to date
    other = analyze_run(trained, AnalysisSettings(images=8, grad_images=2, tokens=2), baseline=None)
    assert other["key"] != out["key"] and other["cka"] is None and other["images"]["n"] == 8
    assert not list(trained.glob(".analysis.json.*"))  # no temporary file left


def test_an_evaluation_only_run_without_shift_loses_its_cross_window_dependence(runs):
    _, trained, no_shift = runs
    assert not (no_shift / "checkpoint.pt").exists()  # the weights come from train.init_from
    shifted = analyze_run(trained, SMALL)["cross_window"]
    unshifted = analyze_run(no_shift, SMALL, baseline=trained)
    assert shifted["stages.0.blocks.1"]["share"] > 0 and shifted["stages.1.blocks.1"]["share"] > 0
    assert all(row["share"] == 0.0 for row in unshifted["cross_window"].values())
    same = unshifted["cka"]["same_block"]
    assert same["stages.0.blocks.0"] == pytest.approx(1.0)  # the first block does not shift: identical features
    assert same["stages.0.blocks.1"] < 1.0


def test_cli_writes_and_reports(runs):
    _, trained, _ = runs
    done = analyze_cli(str(trained), "--images", "8", "--grad-images", "2", "--tokens", "2", "--shifts", "2,3")
    assert done.returncode == 0, done.stderr
    assert "4 window blocks" in done.stdout
    shifts = json.loads((trained / "analysis.json").read_text())["translation"]["shifts"]
    assert [(r["shift_px"], r["patch_aligned"]) for r in shifts] == [(2, True), (3, False)]


def _refused(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and all(f in lines[0] for f in fragments), proc.stderr


def test_bad_input_is_one_line_and_writes_nothing(runs, tmp_path):
    root, trained, _ = runs
    _refused(analyze_cli(str(tmp_path / "nope")), "nope", "not a folder")
    _refused(analyze_cli(str(tmp_path)), "no config.yaml")
    pending = tmp_path / "pending"
    pending.mkdir()
    shutil.copy(trained / "config.yaml", pending / "config.yaml")
    _refused(analyze_cli(str(pending)), "pending, not done")
    _refused(analyze_cli(str(trained), "--shifts", "1,x"), "--shifts", "1,x")
    _refused(analyze_cli(str(trained), "--images", "0"), "images", "at least 1")
    _refused(analyze_cli(str(trained), "--device", "cuda:7"), "--device")
    other = tmp_path / "other_data"  # a finished run of other images: no CKA with it
    shutil.copytree(trained, other)
    cfg = yaml.safe_load((other / "config.yaml").read_text())
    cfg["data"]["seed"] = 5
    (other / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (other / "analysis.json").unlink(missing_ok=True)
    _refused(analyze_cli(str(other), "--baseline", str(trained), "--images", "4"), "--baseline", "other validation")
    assert not (other / "analysis.json").exists()
    assert not (pending / "analysis.json").exists() and not (tmp_path / "analysis.json").exists()


def test_the_help_path_imports_no_measure_module():
    """``--help`` and ``import vt_core.analyze`` load only the settings and the parser: the measures
    (and what they import) load when a run is analysed."""
    code = ("import sys, contextlib, io\nimport vt_core.analyze\nfrom vt_core.analyze.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('vt_core.analyze'))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True).stdout.split()
    assert loaded == ["vt_core.analyze", "vt_core.analyze.cli", "vt_core.analyze.settings"]
