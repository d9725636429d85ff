"""``train.init_from=timm:<tag>`` through timm's own hub code, without a network: the test fills a
Hugging Face cache (the layout ``huggingface_hub`` reads in offline mode) with a timm checkpoint of
random weights, so every step of the fetch is the real one. Refusals at the command lines: one
line, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
TAG = "pvt_v2_b0.in1k"  # the smallest twin with a timm tag
SMALL = ["model.img_size=64", "data.train_size=64", "data.val_size=64", "train.batch_size=32"]


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    model = timm.create_model(TAG.partition(".")[0], pretrained=False).eval()
    repo = tmp_path_factory.mktemp("hf") / f"models--timm--{TAG}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "snapshots" / commit).mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(repo / "snapshots" / commit /
                                                                             "model.safetensors"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return repo.parent, model


def _train(out: Path, *sets: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    if cache is not None:
        env["HF_HUB_CACHE"] = str(cache)
    cmd = [sys.executable, "-m", "vt_core.train", "--out", str(out), "--no-progress", "--preset", "pvt_v2_b0",
           "--set", *SMALL, *sets]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_a_timm_tag_is_fetched_by_timms_hub_code(tmp_path: Path, hub_cache) -> None:
    cache, ref = hub_cache
    out = _train(tmp_path / "run", f"train.init_from=timm:{TAG}", "train.epochs=0", cache=cache)
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "run" / "transfer.json").read_text())
    assert report["checkpoint"] == f"timm:{TAG}" and report["format"] == "timm pvt_v2"
    assert report["summary"] == {"copied": len(ref.state_dict()) - 2, "resized": 0, "new": 2, "dropped": 0}
    assert f"weights from timm:{TAG}" in out.stdout


@pytest.mark.slow
def test_without_the_weights_the_run_fails_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    out = _train(tmp_path / "run", f"train.init_from=timm:{TAG}", "train.epochs=0", cache=empty)
    assert out.returncode != 0 and "timm could not load the weights" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


PVT_GRID = """
DESCRIPTION = "PVT-v2-b0 from pretrained weights"
BASE = {"preset": "pvt_v2_b0", "model.img_size": 64}
BASELINE = "b0"
METRIC = "top1"
SEEDS = (0,)
PROFILES = {"cpu": {"data.train_size": 64, "data.val_size": 64, "train.batch_size": 32}}


def sweep(add):
    add(name="b0")
"""


@pytest.mark.parametrize("sets,needle", [
    (["train.init_from=timm:pvt_v2_b0.no_such_tag"], "not a timm pretrained tag"),
    (["train.init_from=/no/such/weights.pth"], "does not exist"),
    ([f"train.init_from=timm:{TAG}", "model.dims=[32,64,160,320]"], "does not fit the model's"),
])
def test_bad_specs_are_refused_at_planning(tmp_path: Path, sets: list[str], needle: str) -> None:
    grid = tmp_path / "pvt.py"
    grid.write_text(PVT_GRID)
    cmd = [sys.executable, "ablations/launch.py", "--grid", str(grid), "--executor", "local",
           "--runs-dir", str(tmp_path / "runs"), "--set", *sets]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 2, out.stdout + out.stderr
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert not (tmp_path / "runs").exists()
    direct = _train(tmp_path / "run", *sets)  # the trainer's own command line refuses the same way
    assert direct.returncode == 2 and needle in direct.stderr and not (tmp_path / "run").exists()
