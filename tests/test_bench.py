"""vt_core.bench: the CLI runs at CI size on the CPU and writes its table, bad options are refused in one
line, and (GPU only) compiled rows with peak memory. That the Shunted reference it times against computes
our function is tests/test_reference.py's."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vt_core.bench import COLUMNS, REFERENCE_LABEL, main

ROOT = Path(__file__).resolve().parents[1]


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_bench_cli_smoke(tmp_path):
    """CI size: a ViT, a Swin and Shunted, both modes, synthetic and probe input, eager, one repeat."""
    out = tmp_path / "bench"
    # a shared CPU (CI runners, a colleague's jobs) makes spinning OpenMP threads crawl; passive
    # waiting changes no result, only how idle threads wait (it must be set before Python starts)
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    presets = ["vit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "shunted_t"]
    cmd = [sys.executable, "-m", "vt_core.bench", "--presets", ",".join(presets), "--batch-size", "2",
           "--img-size", "112", "--repeats", "1", "--warmup", "1", "--steps", "1", "--no-compile", "--threads", "2",
           "--device", "cpu", "--data", "synthetic,probe", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "device: " in proc.stdout and "torch " in proc.stdout and "timm " in proc.stdout
    for name in ("bench.csv", "bench.md", "bench.json"):
        assert (out / name).is_file(), name
    rows = _read_csv(out / "bench.csv")
    assert tuple(rows[0].keys()) == COLUMNS
    assert [(r["model"], r["mode"], r["data"]) for r in rows] == [
        (p, mode, data) for p in presets for mode in ("train", "infer") for data in ("synthetic", "probe")
    ]
    for r in rows:
        assert float(r["img_s_ours"]) > 0 and float(r["img_s_ref"]) > 0
        assert float(r["ratio"]) == pytest.approx(float(r["img_s_ours"]) / float(r["img_s_ref"]), rel=1e-6)
        assert float(r["ratio_paired"]) > 0
        assert float(r["tflops_ours"]) > 0 and 0 < float(r["mfu_ours"])
        assert float(r["max_abs_diff"]) < 1e-4  # the two sides compute the same function
        assert r["compile"] == "eager" and r["device"] == "cpu" and r["dtype"] == "fp32"
        assert r["mem_mb_ours"] == r["mem_mb_ref"] == ""  # not measured on the CPU
    assert rows[0]["reference"] == "timm vit_tiny_patch16_224"
    assert rows[-1]["reference"] == REFERENCE_LABEL == "reference (vt_core.reference.shunted)"
    md = (out / "bench.md").read_text()
    assert "| " + " | ".join(COLUMNS) + " |" in md and md.count("\n| ") == len(rows) + 1
    assert "n/a" in md and "OMP_WAIT_POLICY=" in md


@pytest.mark.parametrize("args, needle", [
    (["--presets", "nope"], "--presets: 'nope': unknown preset"),
    (["--presets", "vit_cpu"], "--presets: 'vit_cpu': no timm twin or reference"),
    (["--presets", "swin_tiny_patch4_window7_224", "--img-size", "64"], "padded to window 7"),
    (["--presets", "shunted_t", "--img-size", "16"], "ratio 8 exceeds"),
    (["--modes", "train,eval"], "--modes: 'train,eval'"),
    (["--data", "cifar"], "--data: 'cifar'"),
    (["--batch-size", "0"], "--batch-size: 0 must be ≥ 1"),
    (["--threads", "0"], "--threads: 0 must be ≥ 1"),
    (["--threads", "-2"], "--threads: -2 must be ≥ 1"),
])
def test_bad_options_are_refused_in_one_line(args, needle, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and err.startswith("python -m vt_core.bench: error: "), err
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_timm_fused_attention_is_set_for_the_timm_model_only():
    """The bench builds timm's Swin with its fused attention on (setting 2) and leaves timm's
    process-wide setting as it found it."""
    from timm.layers import use_fused_attn

    from vt_core.bench import _build_timm

    before = (use_fused_attn(), use_fused_attn(experimental=True))
    for level in (0, 2):
        with torch.device("meta"):
            m = _build_timm("swin_tiny_patch4_window7_224", 224, fused_attn=level, device="meta")
        assert m.layers[0].blocks[0].attn.fused_attn is (level == 2)
        assert (use_fused_attn(), use_fused_attn(experimental=True)) == before


# ----------------------------------------------------------------------------- the speed changes keep their promises
def _sdpa_kernels(module: torch.nn.Module, *args) -> set[str]:
    from torch.profiler import profile

    with torch.no_grad(), profile() as prof:
        module(*args)
    return {e.key for e in prof.key_averages()
            if "scaled_dot_product" in e.key and e.key != "aten::scaled_dot_product_attention"}


@pytest.mark.parametrize("shift", [0, 2], ids=["W-MSA", "SW-MSA"])
def test_window_and_relative_attention_reach_the_fused_kernel(shift):
    """4-D q/k/v and masks: SDPA runs its fused CPU kernel, not the unfused math path (5-D inputs or a
    3-D bias would silently fall back to it)."""
    from vt_core.layers import Attention, RelativePositionBias, WindowAttention

    attn = WindowAttention(32, num_heads=2, feat_size=(8, 8), window_size=4, shift_size=shift,
                           rel_pos=RelativePositionBias).eval()
    kernels = _sdpa_kernels(attn, torch.randn(2, 64, 32), (8, 8))
    assert kernels == {"aten::_scaled_dot_product_flash_attention_for_cpu"}, kernels
    glob = Attention(32, num_heads=2, feat_size=(8, 8), rel_pos=RelativePositionBias).eval()
    kernels = _sdpa_kernels(glob, torch.randn(2, 64, 32), (8, 8))
    assert kernels == {"aten::_scaled_dot_product_flash_attention_for_cpu"}, kernels


@pytest.mark.parametrize("H, W, m, s", [(8, 8, 4, 2), (9, 10, 4, 2)])
def test_shifted_window_gather_has_exact_gradients(H, W, m, s):
    """Roll + partition as one gather (and its inverse as the backward): gradcheck in float64."""
    from vt_core.layers import RelativePositionBias, WindowAttention

    torch.manual_seed(0)
    attn = WindowAttention(4, num_heads=2, feat_size=(H, W), window_size=m, shift_size=s,
                           rel_pos=RelativePositionBias).double()
    x = torch.randn(1, H * W, 4, dtype=torch.float64, requires_grad=True)  # gradcheck: one forward per element
    assert torch.autograd.gradcheck(lambda t: attn(t, (H, W)), (x,))


@pytest.mark.gpu
def test_bench_gpu_compiled_rows_with_memory(tmp_path):
    out = tmp_path / "bench"
    assert main(["--presets", "vit_tiny_patch16_224,shunted_t", "--batch-size", "8", "--img-size", "224",
                 "--repeats", "2", "--warmup", "2", "--steps", "2", "--compile", "--out", str(out)]) == 0
    rows = _read_csv(out / "bench.csv")
    assert {r["compile"] for r in rows} == {"eager", "compiled"}
    for r in rows:
        assert r["device"] == "cuda" and r["dtype"] == "bf16"
        assert float(r["mem_mb_ours"]) > 0 and float(r["mem_mb_ref"]) > 0
        assert float(r["img_s_ours"]) > 0 and float(r["img_s_ref"]) > 0


def test_trainer_bench_reports_each_repeat_s_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m vt_core.bench.trainer``'s summary: medians, and each repeat's own ratio (its two runs
    follow each other, so a machine drifting between repeats does not move it), also in --json."""
    import json
    from types import SimpleNamespace

    from vt_core.bench.trainer import Outcome, _report

    walls = {("ours", 1): 40.0, ("timm", 1): 50.0, ("ours", 2): 66.0, ("timm", 2): 60.0, ("ours", 3): 45.0,
             ("timm", 3): 50.0}
    runs = [Outcome(who, seed, wall, 100.0, [1.0], [1.0], [50.0]) for (who, seed), wall in walls.items()]
    _report(runs, SimpleNamespace(json=str(tmp_path / "b.json")), [0.5, 0.7])
    out = capsys.readouterr().out
    assert "ratio ours/timm: wall 0.900" in out  # 45 / 50
    assert "per repeat, wall ours/timm: 0.800, 1.100, 0.900; median 0.900" in out
    assert json.loads((tmp_path / "b.json").read_text())["pair_wall_ratios"] == pytest.approx([0.8, 1.1, 0.9])


@pytest.mark.parametrize("args, needle", [
    (["--threads", "-3"], "--threads -3"),
    (["--workers", "-1"], "data.workers: -1 must be ≥ 0"),
    (["--preset", "nope"], "'nope'"),
    (["--lr", "-1"], "train.lr: -1.0 must be positive"),
    (["--json", "/nonexistent-dir/b.json"], "its folder does not exist"),
    (["--folder", "FILE"], "not a folder"),
    (["--folder", "FULL"], "not empty, and not this digits set"),
])
def test_trainer_bench_refuses_before_any_run(args: list[str], needle: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Bad flags, a --json that cannot be written and a --folder holding something else: one line, exit 2,
    no trainer started and nothing written (the check used to come after minutes of runs, or never)."""
    from vt_core.bench.trainer import main as bench_main

    monkeypatch.setenv("VT_TIMM_TRAIN", str(tmp_path / "train.py"))  # present; never run here
    (tmp_path / "train.py").write_text("raise SystemExit('must not run')\n")
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "FULL").mkdir()
    (tmp_path / "FULL" / "mine.txt").write_text("a user's data")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert bench_main(["--small", "--repeats", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
