"""vt_core.measure: parameter and MAC counts against the papers' tables, the attention cost against
Swin's complexity formulas (eq. 1–2), the SDPA CPU kernel counted, and the CLI.

MACs are what the papers call FLOPs; ``flops`` = 2 × ``macs``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count

from vt_core import ConfigError, create_model, get_preset
from vt_core.layers import Attention, RelativePositionBias, WindowAttention
from vt_core.measure import count_forward, count_macs, count_params, main, measure, register_sdpa_cpu_flops

ROOT = Path(__file__).resolve().parents[1]
slow = pytest.mark.slow

# ------------------------------------------------------------------ the papers' tables
# (params in M, MACs in G as printed, whether the printed params include the classifier head, source).
# Every printed number is rounded: the tolerance is its half-unit of rounding plus 2 %.
PAPER = {
    "swin_tiny_patch4_window7_224": ("28", "4.5", True, "Swin paper, Table 1(a)"),
    "swin_small_patch4_window7_224": ("50", "8.7", True, "Swin paper, Table 1(a)"),
    "swin_base_patch4_window7_224": ("88", "15.4", True, "Swin paper, Table 1(a)"),
    "vit_base_patch16_224": ("86", "17.6", True, "ViT-B/16 at 224² (Dosovitskiy et al. Table 1)"),
    "shunted_t": ("11.5", "2.1", True, "Shunted paper"),
    "shunted_s": ("22.4", "4.9", True, "Shunted paper"),
    "shunted_b": ("39.6", "8.1", True, "Shunted paper"),
    # PVT-v2's table does not use one convention: b0's 3.4M is the count WITHOUT the head (3.41M;
    # 3.67M with it), b2's 25.4M the count WITH it (25.36M; 24.85M without).
    "pvt_v2_b0": ("3.4", "0.6", False, "PVT-v2 paper (head not counted)"),
    "pvt_v2_b1": ("14.0", "2.1", True, "PVT-v2 official code (= timm pvt_v2_b1); see PAPER_DISCREPANCIES"),
    "pvt_v2_b2": ("25.4", "4.0", True, "PVT-v2 paper (head counted)"),
    # HorNet (Rao et al., NeurIPS 2022): the official code's README table, ImageNet-1k models at 224²
    "hornet_tiny_7x7": ("22", "4.0", True, "HorNet official README"),
    "hornet_tiny_gf": ("23", "3.9", True, "HorNet official README"),
    "hornet_small_7x7": ("50", "8.8", True, "HorNet official README"),
    "hornet_small_gf": ("50", "8.7", True, "HorNet official README"),
    "hornet_base_7x7": ("87", "15.6", True, "HorNet official README"),
    "hornet_base_gf": ("88", "15.5", True, "HorNet official README; see docs/measure.md on its 15.41G"),
}
# Where the paper's number is not met by either convention, with the reason. Each is pinned by a
# test (the gap must stay what is written here), not hidden in a tolerance.
PAPER_DISCREPANCIES = {
    # PVT-v2-b1 is given as 13.1M (the figure quoted for the paper). Our b1 has exactly the
    # parameters of the official architecture (timm's pvt_v2_b1, ported from the official code;
    # test_counts_equal_timms checks equality): 14,009,000 with the head, 13,496,000
    # without. Neither is within 2 % + rounding of 13.1M (+6.9 % / +3.0 %), while its MACs (2.108G
    # vs 2.1G) and b0/b2 match. The published shapes (dims 64/128/320/512, depths 2/2/2/2, MLP ratios
    # 8/8/4/4, SR ratios 8/4/2/1, heads 1/2/5/8) give 13.50M without the head, so 13.1M cannot be
    # reproduced from them; the suite asserts the official code's 14.0M (head counted) instead.
    "pvt_v2_b1": ("13.1", 13_496_000, "13.1M matches neither convention: 13.50M without the head, 14.01M with it"),
}


def _tolerance(printed: str) -> float:
    """Absolute tolerance for a printed, rounded number: half a unit in its last digit + 2 %."""
    value = Decimal(printed)
    half_unit = Decimal(1).scaleb(value.as_tuple().exponent) / 2
    return float(half_unit + value * Decimal("0.02"))


@lru_cache(maxsize=None)
def _measured(name: str) -> dict:
    return measure(name)


_BIG = {"swin_small_patch4_window7_224", "swin_base_patch4_window7_224", "vit_base_patch16_224", "shunted_b",
        "hornet_base_7x7", "hornet_base_gf"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=slow) if n in _BIG else n for n in PAPER])
def test_params_and_macs_match_paper(name):
    params, gmacs, with_head, source = PAPER[name]
    m = _measured(name)
    counted = m["params"] if with_head else m["params_without_head"]
    assert abs(counted / 1e6 - float(params)) <= _tolerance(params), (
        f"{name}: {counted / 1e6:.3f}M params vs {params}M ({source})"
    )
    assert abs(m["gmacs"] - float(gmacs)) <= _tolerance(gmacs), f"{name}: {m['gmacs']:.3f} GMACs vs {gmacs}G ({source})"
    assert m["flops"] == 2 * m["macs"]


def test_paper_discrepancies_are_as_documented():
    for name, (printed, no_head, why) in PAPER_DISCREPANCIES.items():
        m = _measured(name)
        assert m["params_without_head"] == no_head, why
        for counted in (m["params"], m["params_without_head"]):  # still out of reach of the paper's number
            assert abs(counted / 1e6 - float(printed)) > _tolerance(printed), f"{name} now matches {printed}M: {why}"


def test_tolerance_reflects_rounding():
    assert _tolerance("28") == pytest.approx(0.5 + 0.56)
    assert _tolerance("4.5") == pytest.approx(0.05 + 0.09)
    assert _tolerance("15.4") == pytest.approx(0.05 + 0.308)


@pytest.mark.parametrize(
    "name", ["pvt_v2_b0", "pvt_v2_b1", pytest.param("pvt_v2_b2", marks=slow),
             pytest.param("swin_tiny_patch4_window7_224", marks=slow), "vit_tiny_patch16_224"]
)
def test_counts_equal_timms(name):
    """Same parameter count and the same counted MACs as timm's model of the same name (timm's PVT-v2
    is the official code; pretrained=False, nothing downloaded): the presets are the published
    architectures, and the counter treats both implementations' kernels alike (timm's counted on the
    CPU with its own attention code, ours on meta)."""
    import timm

    with torch.random.fork_rng(devices=[]):
        ref = timm.create_model(name, pretrained=False)
    m = _measured(name)
    assert m["params"] == count_params(ref)
    assert m["macs"] == count_macs(ref, img_size=224)["macs"]


# ------------------------------------------------------------------ attention cost: Swin eq. 1–2
def omega_msa(h: int, w: int, c: int) -> int:
    return 4 * h * w * c * c + 2 * (h * w) ** 2 * c


def omega_wmsa(h: int, w: int, c: int, m: int) -> int:
    return 4 * h * w * c * c + 2 * m * m * h * w * c


@pytest.mark.parametrize("rel_pos", [False, True])
@pytest.mark.parametrize("h, w, c, heads",
                         [(7, 7, 96, 3), (14, 14, 192, 6), (8, 12, 64, 2), (16, 16, 128, 4), (5, 3, 32, 1)])
def test_global_attention_cost_is_omega_msa(h, w, c, heads, rel_pos):
    attn = Attention(c, num_heads=heads, feat_size=(h, w), rel_pos=RelativePositionBias if rel_pos else None)
    counted = count_forward(attn, torch.randn(2, h * w, c), (h, w))
    assert counted["macs"] == 2 * omega_msa(h, w, c)  # batch 2
    assert counted["by_op"]["attention"] == 2 * 2 * (h * w) ** 2 * c  # QKᵀ and AV


@pytest.mark.parametrize("shift", [0, 1, "half"])
@pytest.mark.parametrize(
    "h, w, c, heads, m",
    [(56, 56, 96, 3, 7), (28, 28, 192, 6, 7), (16, 24, 64, 2, 8), (12, 12, 32, 1, 4), (12, 6, 48, 3, 3)]
)
def test_window_attention_cost_is_omega_wmsa(h, w, c, heads, m, shift):
    shift = m // 2 if shift == "half" else shift
    attn = WindowAttention(c, num_heads=heads, feat_size=(h, w), window_size=m, shift_size=shift,
                           rel_pos=RelativePositionBias)
    counted = count_forward(attn, torch.randn(1, h * w, c), (h, w))
    assert counted["macs"] == omega_wmsa(h, w, c, m)
    assert counted["by_op"]["attention"] == 2 * m * m * h * w * c


@pytest.mark.parametrize("name", ["vit_cpu", "swin_cpu"])
def test_every_mixer_of_a_model_costs_its_formula(name):
    cfg = get_preset(name)
    counted = count_macs(cfg)
    windows = cfg.stage_windows()
    n = 0
    for i, ((h, w), depth, c) in enumerate(zip(cfg.stage_grids(), cfg.depths, cfg.dims)):
        for j in range(depth):
            got = counted["by_module"][f"stages.{i}.blocks.{j}.attn"]
            if cfg.mixer[i] == "global":  # a class token is one more token: Ω with hw → N
                tokens = h * w + (cfg.pool == "cls")
                assert got == omega_msa(tokens, 1, c)
            else:
                assert h % windows[i][0] == 0 and w % windows[i][0] == 0
                assert got == omega_wmsa(h, w, c, windows[i][0])
            n += 1
    assert n == sum(cfg.depths)


# ------------------------------------------------------------------ the counter itself
def test_sdpa_counted_on_every_path():
    """torch's counter alone counts the CPU flash kernel as 0; after registration every dispatch
    path (CPU with/without mask, the math fallback on meta) counts 2·b·h·s²·d MACs."""
    register_sdpa_cpu_flops()
    register_sdpa_cpu_flops()  # idempotent
    b, h, s, d = 2, 3, 20, 8
    expected_flops = 2 * 2 * b * h * s * s * d
    for device in ("cpu", "meta"):
        q = torch.randn(b, h, s, d, device=device)
        for mask in (None, torch.zeros(s, s, device=device)):
            with FlopCounterMode(display=False) as fc:
                F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
            assert fc.get_total_flops() == expected_flops, (device, mask is not None)
    q = torch.randn(b, h, s, d, requires_grad=True)
    with FlopCounterMode(display=False) as fc:
        F.scaled_dot_product_attention(q, q, q).sum().backward()
    # the CPU flash backward counted too, with torch's formula (5 products: QKᵀ recomputed)
    backward = sdpa_backward_flop_count(*[(b, h, s, d)] * 4)
    assert fc.get_total_flops() == expected_flops + backward == 3.5 * expected_flops


@pytest.mark.parametrize("name", ["vit_cpu", "swin_cpu", "pvt_cpu", "shunted_cpu", "hornet_cpu"])
def test_meta_count_equals_cpu_count(name):
    """Configs are counted on the meta device (SDPA's math fallback there, the CPU flash kernel on the
    CPU): the same numbers, module by module."""
    cfg = get_preset(name).replace(img_size=40)  # 40: Swin windows padded, odd PVT/Shunted maps
    meta, model = count_macs(cfg), create_model(cfg)
    cpu = count_macs(model)
    assert next(model.parameters()).device.type == "cpu"
    assert meta["by_module"] == cpu["by_module"] and meta["by_op"] == cpu["by_op"] and meta["macs"] == cpu["macs"]
    assert measure(cfg)["params"] == count_params(model)


def test_counts_are_consistent():
    cfg = get_preset("shunted_cpu")
    one, two = count_macs(cfg), count_macs(cfg, batch=2)
    assert two["macs"] == 2 * one["macs"] and two["flops"] == 2 * two["macs"]
    assert sum(one["by_part"].values()) == one["macs"] == sum(one["by_op"].values())
    assert sum(s["mixer"] for s in one["by_stage"]) == one["by_part"]["mixer"]
    model = create_model(cfg)
    assert count_params(model) == sum(p.numel() for p in model.parameters())
    assert count_params(model) - count_params(model, exclude_head=True) == 96 * 10 + 10


def test_measure_overrides_and_sizes():
    base = measure("swin_cpu")
    assert base["gmacs"] == pytest.approx(base["macs"] / 1e9) and base["gflops"] == pytest.approx(2 * base["gmacs"])
    absolute = measure("swin_cpu", overrides={"model.pos": "abs"})
    assert absolute["params"] != base["params"]
    assert measure("swin_cpu", overrides=["pos=abs"])["params"] == absolute["params"]
    bigger = measure("swin_cpu", img_size=64)
    assert bigger["img_size"] == 64 and bigger["macs"] > 3 * base["macs"]
    assert measure(get_preset("swin_cpu").replace(img_size=64))["macs"] == bigger["macs"]
    for bad in ({"model.nope": 1}, {"window_size": "abc"}, {"train.lr": 1}):
        with pytest.raises(ConfigError):
            measure("swin_cpu", overrides=bad)
    with pytest.raises(ConfigError):
        measure("no_such_preset")


def test_measure_leaves_the_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    measure("vit_cpu")
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", ["pvt_cpu", "hornet_cpu", "shunted_cpu"])
def test_every_mixer_kind_is_counted(name):
    m = measure(name)
    assert all(s["mixer"] > 0 and s["ffn"] > 0 for s in m["by_stage"])
    assert m["by_op"].get("attention", 0) > 0 or name == "hornet_cpu"


# ------------------------------------------------------------------ CLI
def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "vt_core.measure", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@slow
def test_cli_subprocess():
    """The real entry point: JSON that parses and equals the API's result; a bad key exits 2 with a
    one-line message. Both processes run side by side (each is mostly the import of torch and timm)."""
    good = _cli("--preset", "swin_cpu", "--set", "model.pos=abs", "--img-size", "48", "--json")
    bad = _cli("--preset", "swin_cpu", "--set", "model.windw_size=4")
    out, err = good.communicate(timeout=300)
    assert good.returncode == 0, err
    assert json.loads(out) == json.loads(json.dumps(measure("swin_cpu", img_size=48, overrides={"pos": "abs"})))
    out, err = bad.communicate(timeout=300)
    assert bad.returncode == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "model.windw_size" in err and "model.window_size" in err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--preset", "nope"], "nope"),
        (["--preset", "swin_cpu", "--set", "window_size=abc"], "model.window_size"),
        (["--preset", "swin_cpu", "--set", "mixer=banana"], "model.mixer"),
        (["--preset", "swin_cpu", "--set", "justakey"], "justakey"),
        (["--preset", "vit_cpu", "--img-size", "2"], "img_size"),
        (["--preset", "vit_cpu", "--img-size", "big"], "--img-size"),
        (["--set", "pos=rel"], "--preset"),
    ],
)
def test_cli_errors_are_one_line_exit_2(args, needle, capsys):
    with pytest.raises(SystemExit) as e:
        code = main(args)
        raise SystemExit(code)
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and needle in err


def test_cli_human_table(capsys):
    assert main(["--preset", "vit_cpu"]) == 0
    out = capsys.readouterr().out
    assert "params" in out and "MACs" in out and "2 × MACs" in out
    assert main(["--preset", "vit_cpu", "pvt_cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].startswith("vit_cpu") and lines[2].startswith("pvt_cpu")
