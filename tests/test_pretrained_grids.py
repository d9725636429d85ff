"""The shipped pretrained grids through the launcher and the report, on the CPU, without a network:
``swin_finetune`` from a local timm checkpoint (the report's table says per variant what was
transferred) and ``swin_eval`` (evaluation only, no training, over validation subsets)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SWIN_CPU = dict(img_size=32, patch_size=2, embed_dim=48, depths=(2, 2), num_heads=(2, 4), window_size=4,
                mlp_ratio=2.0, num_classes=10)
SMALL = ["data.train_size=256", "data.val_size=128", "train.batch_size=64", "train.epochs=1",
         "train.warmup_epochs=0"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, **SWIN_CPU)
    path = tmp_path_factory.mktemp("weights") / "swin_cpu.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def _launch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "ablations/launch.py", *args, "--executor", "local", "--runs-dir", str(tmp_path / "runs"),
           "--reports-dir", str(tmp_path / "reports")]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_swin_finetune_from_a_local_file_reports_what_was_transferred(tmp_path: Path, weights: Path) -> None:
    out = _launch(tmp_path, "--grid", "swin_finetune", "--seeds", "0", "--set", f"train.init_from={weights}", *SMALL)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    index = json.loads((tmp_path / "runs" / "swin_finetune" / "grid.json").read_text())
    moves = {}
    for run in index["runs"]:
        report = json.loads((tmp_path / "runs" / "swin_finetune" / run["run_id"] / "transfer.json").read_text())
        moves[run["variant"]] = report["summary"]
    assert moves["base"]["resized"] == 0 and moves["base"]["new"] == 2  # the probe's 4-class head
    assert moves["no_shift"] == moves["base"]
    assert moves["window_hires"]["resized"] == 4 and moves["window_wide"]["resized"] == 4
    assert moves["abs+rel"]["new"] == 3
    # the Transferred column is in the report's details table; table.csv has it as `transfer`
    with open(tmp_path / "reports" / "swin_finetune" / "table.csv", newline="") as f:
        cells = {r["variant"]: r["transfer"] for r in csv.DictReader(f)}
    assert "resized 4" in cells["window_hires"] and "resized" not in cells["base"] and "new 3" in cells["abs+rel"]
    assert "Transferred" in (tmp_path / "reports" / "swin_finetune" / "report.md").read_text()


def test_swin_eval_evaluates_without_training_through_launcher_and_report(tmp_path: Path, weights: Path) -> None:
    out = _launch(tmp_path, "--grid", "swin_eval", "--seeds", "0,1", "--set", f"train.init_from={weights}",
                  "data.train_size=64", "data.val_size=256", "data.val_subset=128", "train.batch_size=64")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    gdir = tmp_path / "runs" / "swin_eval"
    index = json.loads((gdir / "grid.json").read_text())
    results = {(r["variant"], r["seed"]): json.loads((gdir / r["run_id"] / "result.json").read_text())
               for r in index["runs"]}
    assert all(r["epochs"] == 0 and r["status"] == "done" for r in results.values())
    assert not any((gdir / r["run_id"] / "checkpoint.pt").exists() for r in index["runs"])  # nothing trained
    # the same weights on two validation subsets: the numbers differ between seeds
    assert results[("as_trained", 0)]["loss"] != results[("as_trained", 1)]["loss"]
    report = (tmp_path / "reports" / "swin_eval" / "report.md").read_text()
    assert "without training" in report and not (tmp_path / "reports" / "swin_eval" / "curves.png").exists()
