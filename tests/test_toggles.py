"""Every value of every toggle, on every CPU-sized preset: it builds, runs forward and backward,
gives no NaN and a finite gradient to every parameter (a toggled-off part that still creates
parameters fails here), or it is refused with a one-line ConfigError naming the field. Then
``torch.compile(fullgraph=True)`` per token mixer and position kind."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import torch

from tests.support.models import check_trains, with_companions
from vt_core import ConfigError, VisionTransformer, get_preset, list_presets

CPU_PRESETS = [n for n in list_presets() if n.endswith("_cpu")]


def _kv(*per_stage: list[int]):
    """Per-stage KV ratios, cut to the preset's number of stages."""
    return lambda n: [list(r) for r in per_stage[:n]]


TOGGLES: dict[str, dict[str, Any]] = {
    **{f"pos={p}": {"pos": p} for p in ("none", "abs", "rel", "abs+rel")},
    **{f"mixer={m}": {"mixer": m} for m in ("global", "window", "sr", "shunted", "gnconv")},
    "mixer=window,global": {"mixer": ["window", "global"]},
    "shift=on": {"mixer": "window", "shift": True},
    "shift=off": {"mixer": "window", "shift": False},
    **{f"window={w}": {"mixer": "window", "window_size": w} for w in (1, 2, 3, 4)},
    "window=64(clamped)": {"mixer": "window", "window_size": 64},
    "window=[2,8](clamped)": {"mixer": "window", "window_size": [2, 8]},
    **{f"ffn={f}": {"ffn": f} for f in ("mlp", "ds", "dw")},
    **{f"pool={p}": {"pool": p} for p in ("cls", "mean")},
    **{f"stem={s}": {"stem": s} for s in ("patch", "overlap", "conv")},
    "stem=conv,convs=2": {"stem": "conv", "stem_convs": 2, "stem_dim": 16},
    **{f"downsample={d}": {"downsample": d} for d in ("merge", "conv")},
    "appearance=off": {"pos": "rel", "appearance": False},
    "appearance=off,abs+rel": {"pos": "abs+rel", "appearance": False},
    "sr=1": {"mixer": "sr", "kv_ratios": _kv([1], [1])},
    "sr=2,1": {"mixer": "sr", "kv_ratios": _kv([2], [1])},
    "sr=4,2": {"mixer": "sr", "kv_ratios": _kv([4], [2])},
    "shunted=1": {"mixer": "shunted", "kv_ratios": _kv([1], [1])},
    "shunted=2": {"mixer": "shunted", "kv_ratios": _kv([2], [1])},
    "shunted=2+1": {"mixer": "shunted", "kv_ratios": _kv([2, 1], [1])},
    "shunted=4+2": {"mixer": "shunted", "kv_ratios": _kv([4, 2], [2, 1])},
    "shunted=8+4": {"mixer": "shunted", "kv_ratios": _kv([8, 4], [4, 2])},
    "shunted=1+1": {"mixer": "shunted", "kv_ratios": _kv([1, 1], [1, 1])},
    **{f"gn_order={o}": {"mixer": "gnconv", "gn_order": o} for o in (1, 2, 3, 4, 5)},
    "qkv_bias=off": {"qkv_bias": False},
    "stage_norm=on": {"stage_norm": True},
    "stage_norm=off": {"stage_norm": False},
    "drop_path=0.2": {"drop_path": 0.2},
}

# (preset, toggle) pairs that are illegal by design, and the field their refusal must name.
# Everything else must build, run and train.
REFUSED = {
    ("vit_cpu", "mixer=window,global"): "model.mixer",  # one stage, two entries
    ("vit_cpu", "window=[2,8](clamped)"): "model.window_size",
    ("shunted_cpu", "mixer=sr"): "model.kv_ratios",  # sr takes one ratio, the preset has two
    **{("pvt_cpu", t): "model.kv_ratios" for t in ("shunted=2+1", "shunted=4+2", "shunted=8+4", "shunted=1+1")},
    ("vit_cpu", "shunted=2+1"): "model.kv_ratios",  # 3 heads do not split into 2 groups
    ("vit_cpu", "shunted=4+2"): "model.kv_ratios",
    ("vit_cpu", "shunted=8+4"): "model.kv_ratios",
    ("vit_cpu", "shunted=1+1"): "model.kv_ratios",
    ("hornet_cpu", "shunted=2+1"): "model.kv_ratios",  # 1 head
    ("hornet_cpu", "shunted=4+2"): "model.kv_ratios",
    ("hornet_cpu", "shunted=8+4"): "model.kv_ratios",
    ("hornet_cpu", "shunted=1+1"): "model.kv_ratios",
    **{(p, "pool=cls"): "model.pool" for p in CPU_PRESETS if p != "vit_cpu"},  # hierarchical: no class token
    **{(p, t): "model.pos" for p in ("pvt_cpu", "shunted_cpu", "hornet_cpu")
       for t in ("pos=rel", "pos=abs+rel", "appearance=off", "appearance=off,abs+rel")},
}


def _cases():
    for preset in CPU_PRESETS:
        for tid in TOGGLES:
            yield pytest.param(preset, tid, id=f"{preset}-{tid}")


@pytest.mark.parametrize("preset,toggle", list(_cases()))
def test_toggle_builds_runs_and_trains(preset, toggle):
    base = get_preset(preset)
    over = with_companions(base, TOGGLES[toggle])
    if (preset, toggle) in REFUSED:
        with pytest.raises(ConfigError) as info:
            base.replace(**over)
        msg = str(info.value)
        assert "\n" not in msg and REFUSED[(preset, toggle)] in msg, msg
        return
    cfg = base.replace(**over)
    for k, v in over.items():  # the toggle took effect (per-stage values broadcast)
        got = getattr(cfg, k)
        if isinstance(got, tuple) and not isinstance(v, (list, tuple)):
            assert all(g == v for g in got), (k, got, v)
    torch.manual_seed(0)
    check_trains(VisionTransformer(cfg))


def test_clamped_window_builds_unshifted_full_windows():
    cfg = get_preset("swin_cpu").replace(window_size=64)
    model = VisionTransformer(cfg)
    for stage, (h, w) in zip(model.stages, cfg.stage_grids()):
        for block in stage.blocks:
            assert block.attn.window_size == max(h, w) and block.attn.shift_size == 0
            assert block.attn.attn_mask is None
            assert block.attn.rel_pos.relative_position_bias_table.shape[0] == (2 * max(h, w) - 1) ** 2


def test_shift_alternates_blocks():
    model = VisionTransformer(get_preset("swin_cpu"))
    assert [b.attn.shift_size for b in model.stages[0].blocks] == [0, 2]
    model = VisionTransformer(get_preset("swin_cpu").replace(shift=False))
    assert [b.attn.shift_size for s in model.stages for b in s.blocks] == [0, 0, 0, 0]


def test_off_toggles_create_no_parameters():
    """Switches that turn a part off leave no parameters behind."""
    names = lambda cfg: {n for n, _ in VisionTransformer(cfg).named_parameters()}  # noqa: E731
    vit = get_preset("vit_cpu")
    assert not any("pos_embed" in n or "relative_position" in n for n in names(vit.replace(pos="none")))
    assert not any("relative_position" in n for n in names(vit.replace(pos="abs")))
    assert not any("pos_embed" in n for n in names(vit.replace(pos="rel")))
    assert "cls_token" not in names(vit.replace(pool="mean"))
    assert not any("dwconv" in n for n in names(get_preset("shunted_cpu").replace(ffn="mlp")))
    assert not any(".aggregate." in n for n in names(get_preset("shunted_cpu").replace(kv_ratios=[[1], [1]])))
    assert not any(".reduce." in n for n in names(get_preset("pvt_cpu").replace(kv_ratios=[1, 1])))


# ----------------------------------------------------------------------------- torch.compile
def _small(name: str, **over: Any) -> VisionTransformer:
    base = get_preset(name)
    depths = (2,) if base.num_stages == 1 else (2, 1)  # two blocks: the second one is shifted
    torch.manual_seed(0)
    return VisionTransformer(base.replace(depths=depths, **over))


COMPILE_CASES = {
    "mixer=global": ("vit_cpu", {}),
    "mixer=window": ("swin_cpu", {}),
    "mixer=window,padded": ("swin_cpu", {"window_size": 3}),
    "mixer=sr": ("pvt_cpu", {}),
    "mixer=shunted": ("shunted_cpu", {}),
    "mixer=gnconv": ("hornet_cpu", {}),
    "global,pos=none": ("vit_cpu", {"pos": "none", "pool": "mean"}),
    "global,pos=rel": ("vit_cpu", {"pos": "rel"}),
    "global,pos=abs+rel,no-app": ("vit_cpu", {"pos": "abs+rel", "appearance": False}),
    "window,pos=abs": ("swin_cpu", {"pos": "abs"}),
    "window,pos=none": ("swin_cpu", {"pos": "none"}),
    "window,pos=abs+rel": ("swin_cpu", {"pos": "abs+rel"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(COMPILE_CASES))
def test_compiles_without_graph_breaks(case):
    """fullgraph=True raises on any graph break; aot_eager traces forward and backward."""
    name, over = COMPILE_CASES[case]
    torch._dynamo.reset()
    model = _small(name, **over)
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    y = compiled(x)
    y.sum().backward()
    torch.testing.assert_close(y, model(x), atol=1e-5, rtol=1e-4)
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler for inductor")
@pytest.mark.parametrize("name", ["vit_cpu", "swin_cpu", "pvt_cpu", "shunted_cpu", "hornet_cpu"],
                         ids=["global", "window", "sr", "shunted", "gnconv"])
def test_inductor_compiles_each_mixer(name):
    """One real torch.compile (inductor, C++ on the CPU) per token mixer, inference only."""
    import torch._inductor.config as inductor_config

    torch._dynamo.reset()
    model = _small(name).eval()
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad(), inductor_config.patch(compile_threads=1):  # no worker pool on a shared CPU
        torch.testing.assert_close(compiled(x), model(x), atol=1e-4, rtol=1e-3)


@pytest.mark.slow
def test_compiled_window_model_at_another_resolution():
    """A compiled Swin evaluated at a second input size (train.eval_sizes): with static shapes it
    recompiles in seconds and stays exact on the padded, shifted windows. (dynamic=None would trace
    H×W symbolically here, which takes sympy minutes: vt_core.train compiles with dynamic=False.)"""
    torch._dynamo.reset()
    model = _small("swin_cpu").eval()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager", dynamic=False)
    with torch.no_grad():
        for size in (32, 40):  # 40: 20×20 and 10×10 maps, the second padded to 12×12 for window 4
            x = torch.randn(2, 3, size, size)
            torch.testing.assert_close(compiled(x), model(x), atol=1e-5, rtol=1e-4)
