"""HorNet as a family (Rao et al., NeurIPS 2022, and its official code): the presets' architecture on
the meta device, the CPU member training, the global-local filter against a brute-force circular
convolution and across input sizes, layer scale and initialisation as published, the new switches
on every CPU preset, and the token-mixer grid's matched sizes."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ablations.planning.grid import load_grid
from tests.support.models import check_trains, with_companions
from vt_core import ConfigError, get_preset, list_presets
from vt_core.layers.global_filter import GlobalFilter, GlobalLocalFilter, resize_filter, spectrum_size
from vt_core.layers.gnconv import GnConv
from vt_core.layers.ln_conv import LayerNormConvDownsample
from vt_core.measure import count_params
from vt_core.model import VisionTransformer

HORNET = [n for n in list_presets() if n.startswith("hornet_") and not n.endswith("_cpu")]
WIDTHS = {"tiny": 64, "small": 96, "base": 128}


def _meta(name: str, **over) -> VisionTransformer:
    with torch.device("meta"):
        return VisionTransformer(get_preset(name).replace(**over))


# ----------------------------------------------------------------------------- the published network
def test_the_family_is_complete() -> None:
    assert set(HORNET) == {f"hornet_{s}_{k}" for s in WIDTHS for k in ("7x7", "gf")}


@pytest.mark.parametrize("name", HORNET)
def test_preset_is_the_published_architecture(name: str) -> None:
    cfg = get_preset(name)
    base = WIDTHS[name.split("_")[1]]
    gf = name.endswith("_gf")
    assert cfg.depths == (2, 3, 18, 2) and cfg.dims == (base, 2 * base, 4 * base, 8 * base)
    assert cfg.gn_order == (2, 3, 4, 5) and cfg.gn_scale == pytest.approx(1 / 3) and cfg.mlp_ratio == (4.0,) * 4
    assert cfg.gn_filters == (("dw7", "dw7", "gf", "gf") if gf else ("dw7",) * 4)
    model = _meta(name)
    stem = model.patch_embed
    assert stem.proj.kernel_size == stem.proj.stride == (4, 4) and stem.norm.eps == 1e-6
    norms = [m for m in model.modules() if isinstance(m, nn.LayerNorm)]  # timm's LayerNorm2d is one too
    assert norms and all(m.eps == 1e-6 for m in norms)
    for i, stage in enumerate(model.stages):
        if i == 0:
            assert stage.downsample is None
        else:
            down = stage.downsample
            assert isinstance(down, LayerNormConvDownsample) and down.conv.kernel_size == down.conv.stride == (2, 2)
        for block in stage.blocks:
            g = block.attn
            assert isinstance(g, GnConv) and g.order == i + 2
            assert block.ls1.gamma.shape == block.ls2.gamma.shape == (cfg.dims[i],)
            assert block.mlp.fc1.out_features == 4 * cfg.dims[i] and isinstance(block.mlp.act, nn.GELU)
            if gf and i >= 2:
                glf = g.dwconv
                assert isinstance(glf, GlobalLocalFilter)
                channels = sum(g.dims)
                assert glf.dw.kernel_size == (3, 3) and glf.dw.groups == channels // 2 and glf.dw.bias is None
                # the stage's rfft2 spectrum at 224²: 14×8 in stage 3, 7×4 in stage 4
                assert glf.global_filter.complex_weight.shape == (channels // 2, *((14, 8) if i == 2 else (7, 4)), 2)
            else:
                assert isinstance(g.dwconv, nn.Conv2d) and g.dwconv.kernel_size == (7, 7)
    # global average pooling, then LayerNorm, then the head
    assert isinstance(model.norm, nn.Identity) and isinstance(model.fc_norm, nn.LayerNorm)
    assert model.head.in_features == 8 * base and model.head.out_features == 1000


# ----------------------------------------------------------------------------- the CPU member
@pytest.mark.parametrize("gn_filter", ["dw7", "gf"])
def test_cpu_member_trains_every_parameter(gn_filter: str) -> None:
    cfg = get_preset("hornet_cpu").replace(gn_filter=gn_filter)
    assert cfg.num_stages == 2 and cfg.img_size == 32 and cfg.downsample == "ln_conv" and cfg.fc_norm is True
    torch.manual_seed(0)
    model = VisionTransformer(cfg)
    check_trains(model)  # every parameter gets a finite, non-zero gradient
    if gn_filter == "gf":
        assert any("complex_weight" in n for n, _ in model.named_parameters())


def test_layer_scale_and_initialisation_as_published() -> None:
    """γ₁ = γ₂ = 1e-6 per channel; every conv and linear layer truncated-normal with std 0.02 and zero
    bias (the Fourier filter too); the families without ``conv_init`` keep PyTorch's conv init."""
    torch.manual_seed(0)
    cfg = get_preset("hornet_cpu").replace(layer_scale=1e-6, gn_filter="gf")
    model = VisionTransformer(cfg)
    gammas = [p for n, p in model.named_parameters() if n.endswith(("ls1.gamma", "ls2.gamma"))]
    assert len(gammas) == 2 * sum(cfg.depths)
    assert all(torch.equal(g, torch.full_like(g, 1e-6)) for g in gammas)
    assert all(get_preset(n).layer_scale == 1e-6 for n in HORNET)
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in layers:
        assert m.bias is None or not m.bias.any()
    weights = torch.cat([m.weight.flatten() for m in layers] +
                        [m.complex_weight.flatten() for m in model.modules() if isinstance(m, GlobalFilter)])
    assert weights.std().item() == pytest.approx(0.02, rel=0.05) and weights.abs().max() < 0.02 * 6
    stem = VisionTransformer(get_preset("swin_cpu")).patch_embed.proj  # PyTorch's kaiming-uniform
    assert stem.weight.std().item() > 0.1 and stem.bias.any()


def test_norm_after_pooling() -> None:
    torch.manual_seed(0)
    model = VisionTransformer(get_preset("hornet_cpu")).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        pooled = model.forward_features(x).mean(dim=(1, 2))  # no norm before pooling
        torch.testing.assert_close(model(x), model.head(model.fc_norm(pooled)))
    for name, norm_before in (("swin_cpu", True), ("pvt_cpu", False)):  # the default placement is unchanged
        m = VisionTransformer(get_preset(name))
        assert isinstance(m.norm, nn.LayerNorm) is norm_before and isinstance(m.fc_norm, nn.Identity)
    m = VisionTransformer(get_preset("vit_cpu").replace(pool="mean", fc_norm=False))
    assert isinstance(m.norm, nn.LayerNorm) and isinstance(m.fc_norm, nn.Identity)


def test_ln_conv_downsampling_floors_odd_maps() -> None:
    cfg = get_preset("hornet_cpu").replace(img_size=44)  # 11×11 tokens, then ⌊11/2⌋ = 5
    assert cfg.stage_grids() == [(11, 11), (5, 5)]
    model = VisionTransformer(cfg)
    assert model.forward_features(torch.randn(1, 3, 44, 44)).shape == (1, 5, 5, 96)
    down = LayerNormConvDownsample(8, out_dim=16)
    x = torch.randn(2, 5, 7, 8)  # B, H, W, C
    ref = down.conv(F.layer_norm(x, (8,), down.norm.weight, down.norm.bias, 1e-6).permute(0, 3, 1, 2))
    torch.testing.assert_close(down(x), ref.permute(0, 2, 3, 1))
    assert down(x).shape == (2, 2, 3, 16)


# ----------------------------------------------------------------------------- the global-local filter
def _circular_conv(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """y[b, c, i, j] = Σ_{a, d} k[c, a, d] · x[b, c, (i − a) mod H, (j − d) mod W], written out."""
    B, C, H, W = x.shape
    y = torch.zeros_like(x)
    for a in range(H):
        for d in range(W):
            y += k[None, :, a, d, None, None] * torch.roll(x, shifts=(a, d), dims=(2, 3))
    return y


@pytest.mark.parametrize("size", [(5, 6), (4, 7), (8, 8)])
def test_global_filter_is_a_circular_convolution(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    channels = 3
    gf = GlobalFilter(channels, feat_size=size)
    k = torch.randn(channels, *size, dtype=torch.float64)
    with torch.no_grad():  # the filter := the (unnormalised) spectrum of a real kernel
        gf.complex_weight.copy_(torch.view_as_real(torch.fft.rfft2(k)).float())
    x = torch.randn(2, channels, *size)
    torch.testing.assert_close(gf(x).double(), _circular_conv(x.double(), k), atol=1e-4, rtol=1e-4)
    assert gf.complex_weight.shape == (channels, *spectrum_size(size), 2)


def test_global_local_filter_interleaves_its_halves() -> None:
    torch.manual_seed(0)
    glf = GlobalLocalFilter(8, feat_size=(6, 6))
    x = torch.randn(2, 8, 6, 6)
    pre = glf.pre_norm(x)
    local, glob = glf.dw(pre[:, :4]), glf.global_filter(pre[:, 4:])
    mixed = torch.empty_like(x)
    mixed[:, 0::2], mixed[:, 1::2] = local, glob  # local i at 2i, global i at 2i + 1: not concatenated
    torch.testing.assert_close(glf(x), glf.post_norm(mixed))
    assert not torch.allclose(glf(x), glf.post_norm(torch.cat([local, glob], dim=1)))


def test_global_filter_follows_the_input_size() -> None:
    """A filter of constant spectrum α is α times the identity at any size, on the fly and after
    ``set_feat_size``; a filter resized for one call equals the filter stored at that size; a model
    at another input size resizes every filter to its stage's spectrum."""
    gf = GlobalFilter(2, feat_size=(14, 14))
    with torch.no_grad():
        gf.complex_weight.zero_()
        gf.complex_weight[..., 0] = 0.5
    for size in ((9, 11), (7, 7), (20, 20)):
        x = torch.randn(1, 2, *size)
        torch.testing.assert_close(gf(x), 0.5 * x, atol=1e-5, rtol=1e-5)
    gf.set_feat_size((7, 7))
    assert gf.complex_weight.shape == (2, 7, 4, 2) and isinstance(gf.complex_weight, nn.Parameter)
    x = torch.randn(1, 2, 7, 7)
    torch.testing.assert_close(gf(x), 0.5 * x, atol=1e-5, rtol=1e-5)

    torch.manual_seed(0)
    w = torch.randn(3, 14, 8, 2)
    g2 = GlobalFilter(3, feat_size=(14, 14))
    with torch.no_grad():
        g2.complex_weight.copy_(w)
    y = torch.randn(2, 3, 10, 10)
    expected = g2(y)  # resized for this call only
    assert g2.complex_weight.shape == (3, 14, 8, 2)
    g2.set_feat_size((10, 10))
    torch.testing.assert_close(g2(y), expected)  # the same filter, now stored at 10×6
    torch.testing.assert_close(g2.complex_weight.data, resize_filter(w, (10, 6)).contiguous())
    rows, cols = [0, 0, -1, -1], [0, -1, 0, -1]  # aligned corners: the four corner frequencies are kept
    torch.testing.assert_close(g2.complex_weight.data[:, rows, cols], w[:, rows, cols])

    torch.manual_seed(0)
    model = VisionTransformer(get_preset("hornet_cpu").replace(gn_filter="gf")).eval()
    before = model(torch.randn(2, 3, 48, 48))  # 12×12 and 6×6 maps, filters resized per call
    model.set_input_size(img_size=48)
    for (h, w), stage in zip(model.cfg.stage_grids(), model.stages, strict=True):
        for block in stage.blocks:
            assert block.attn.dwconv.global_filter.complex_weight.shape[1:3] == spectrum_size((h, w)) == (h, w // 2 + 1)
    x = torch.randn(2, 3, 48, 48)
    assert model(x).shape == before.shape and torch.isfinite(model(x)).all()
    model(torch.randn(1, 3, 40, 40)).sum().backward()  # and at a third size, with gradients


def test_global_filter_in_bfloat16() -> None:
    """The transforms run in float32 (cuFFT has no bfloat16); the output comes back in the input's dtype."""
    torch.manual_seed(0)
    gf = GlobalFilter(4, feat_size=(6, 6))
    with torch.no_grad():
        gf.complex_weight.normal_()
    x = torch.randn(1, 4, 6, 6)
    y = gf(x.bfloat16())
    assert y.dtype == torch.bfloat16
    torch.testing.assert_close(y.float(), gf(x.bfloat16().float()), atol=0.02, rtol=0.01)


# ----------------------------------------------------------------------------- the switches
NEW_SWITCHES = {
    "layer_scale=1e-6": {"layer_scale": 1e-6},
    "fc_norm=true": {"fc_norm": True},
    "fc_norm=false": {"fc_norm": False},
    "conv_init=trunc_normal": {"conv_init": "trunc_normal"},
    "downsample=ln_conv": {"downsample": "ln_conv"},
    "stem_norm_eps=1e-6": {"stem_norm": True, "stem_norm_eps": 1e-6},
    "gnconv,gn_filter=gf": {"mixer": "gnconv", "gn_filter": "gf"},
}


@pytest.mark.parametrize("switch", list(NEW_SWITCHES))
@pytest.mark.parametrize("preset", [n for n in list_presets() if n.endswith("_cpu")])
def test_new_switch_builds_and_trains_on_every_cpu_preset(preset: str, switch: str) -> None:
    base = get_preset(preset)
    over = with_companions(base, NEW_SWITCHES[switch])
    cfg = base.replace(**over)
    torch.manual_seed(0)
    check_trains(VisionTransformer(cfg))


def test_defaults_keep_every_existing_preset_and_run_id() -> None:
    """The new fields' defaults are what the other families did before they existed: at those values
    they are no departure, so run ids stay; a uniform gn_filter is stored compact at any depth."""
    from vt_core.config import ModelConfig, RunConfig

    default = ModelConfig()
    for name in ("swin_cpu", "pvt_cpu", "shunted_cpu", "vit_cpu", "swin_tiny_patch4_window7_224"):
        cfg = get_preset(name)
        assert (cfg.layer_scale, cfg.fc_norm, cfg.conv_init, cfg.stem_norm_eps, cfg.gn_filter) == (
            default.layer_scale, default.fc_norm, default.conv_init, default.stem_norm_eps, default.gn_filter)
        assert not any(isinstance(m, GlobalLocalFilter) for m in _meta(name).modules())
    run = RunConfig(model=get_preset("swin_cpu"))
    same = run.replace({"model.gn_filter": ["dw7", "dw7"], "model.layer_scale": 0, "model.fc_norm": None})
    assert same.run_id() == run.run_id()
    assert run.replace({"model.layer_scale": 1e-6}).run_id() != run.run_id()
    assert get_preset("hornet_cpu").replace(gn_filter=["gf", "gf"]).gn_filter == ("gf",)
    assert get_preset("hornet_tiny_gf").gn_filter == ("dw7", "dw7", "gf", "gf")


@pytest.mark.parametrize("preset,over,key,needle", [
    ("hornet_cpu", {"gn_filter": "fft"}, "model.gn_filter", "'fft'"),
    ("hornet_cpu", {"gn_filter": ["gf", "dw7", "gf"]}, "model.gn_filter", "3 entries"),
    ("swin_cpu", {"gn_filter": "gf"}, "model.gn_filter", "'window'"),
    ("hornet_cpu", {"gn_filter": "gf", "mixer": ["gnconv", "sr"], "kv_ratios": [1, 1]}, "model.gn_filter", "'sr'"),
    ("hornet_cpu", {"gn_filter": "gf", "gn_order": 5}, "model.gn_filter", "2^5"),  # 48 channels: 93 to halve
    ("hornet_cpu", {"layer_scale": -0.1}, "model.layer_scale", "-0.1"),
    ("hornet_cpu", {"conv_init": "xavier"}, "model.conv_init", "'xavier'"),
    ("hornet_cpu", {"stem_norm_eps": 0}, "model.stem_norm_eps", "0"),
    ("hornet_cpu", {"fc_norm": "maybe"}, "model.fc_norm", "maybe"),
    ("hornet_cpu", {"downsample": "ln-conv"}, "model.downsample", "'ln_conv'"),
    ("hornet_cpu", {"img_size": 4}, "model.img_size", "stage 1"),  # 1×1 tokens: ⌊1/2⌋ leaves none
])
def test_bad_values_are_refused_in_one_line(preset: str, over: dict, key: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_preset(preset).replace(**over)
    msg = str(info.value)
    assert "\n" not in msg and key in msg and needle in msg, msg


# ----------------------------------------------------------------------------- the grids
def _model_cfg(grid_name: str, profile: str, variant: str):
    """A variant's model config without its data (the paper-scale profiles' datasets are not here),
    overrides applied in the launcher's order: the preset, BASE, the profile, the variant."""
    grid = load_grid(grid_name, profile)
    prof = dict(grid.profiles[profile])
    cfg = get_preset(prof.pop("preset", grid.base["preset"]))
    (v,) = [v for v in grid.variants if v.name == variant]
    for layer in (grid.base, prof, v.overrides):
        cfg = cfg.replace(**{k.removeprefix("model."): val for k, val in layer.items() if k.startswith("model.")})
    return cfg


@pytest.mark.parametrize("profile", ["cpu", "imagenet"])
def test_token_mixer_variants_have_matched_parameter_counts(profile: str) -> None:
    grid = load_grid("token_mixer", profile)
    names = [v.name for v in grid.variants]
    cfgs = {n: _model_cfg("token_mixer", profile, n) for n in names}
    assert {c.mixer[0] for c in cfgs.values()} == {"global", "window", "sr", "shunted", "gnconv"}
    assert all(len(set(c.mixer)) == 1 for c in cfgs.values())
    with torch.device("meta"):
        params = {n: count_params(VisionTransformer(c)) for n, c in cfgs.items()}
    ref = params[grid.baseline]
    far = {n: f"{p / ref - 1:+.2%}" for n, p in params.items() if abs(p / ref - 1) > 0.005}
    assert not far, f"variants more than 0.5 % away from {grid.baseline}'s {ref:,} parameters: {far}"
    # only the mixer, its own settings and the MLP ratio differ between variants
    varied = {k for v in grid.variants for k in v.overrides}
    assert varied <= {"model.mixer", "model.shift", "model.kv_ratios", "model.mlp_ratio"}


def test_token_mixer_cpu_probe_keeps_the_theorems_conditions() -> None:
    """What the chance-level claims of the cpu profile rest on: no position encoding, a patch stem
    with 4-px tokens, downsampling inside 8-px cells, 16-px windows in both stages, and spatial
    reduction from cell-aligned blocks (vt_core/data/probes.py, cross_window and arrangement)."""
    grid = load_grid("token_mixer", "cpu")
    assert grid.profiles["cpu"]["data.name"] == "cross_window"
    for name in ("global", "sr", "window_noshift"):
        cfg = _model_cfg("token_mixer", "cpu", name)
        assert cfg.pos == "none" and cfg.stem == "patch" and cfg.downsample in ("ln_conv", "merge")
        assert cfg.ffn == "mlp" and 8 % cfg.patch_size == 0
        strides = [cfg.patch_size * 2**i for i in range(cfg.num_stages)]  # pixels per token per stage
        if name == "window_noshift":
            windows = [m for m, _ in cfg.stage_windows()]
            assert not cfg.shift and all(16 % (m * s) == 0 for m, s in zip(windows, strides, strict=True))
            assert all(max(g) > m for g, m in zip(cfg.stage_grids(), windows, strict=True))  # not clamped
        if name == "sr":
            assert all(8 % (r * s) == 0 or r == 1 for (r,), s in zip(cfg.kv_ratios, strides, strict=True))


def test_gnconv_order_grid_spans_the_orders() -> None:
    for profile, stages in (("cpu", 2), ("imagenet", 4)):
        grid = load_grid("gnconv_order", profile)
        cfgs = {v.name: _model_cfg("gnconv_order", profile, v.name) for v in grid.variants}
        for n in range(1, 6):
            assert cfgs[f"order{n}"].gn_order == (n,) * stages
        assert cfgs["rising"].gn_order == tuple(range(2, 2 + stages)) == cfgs["rising_gf"].gn_order
        assert cfgs["rising_gf"].gn_filters[-1] == "gf" and cfgs["rising_gf"].gn_filters[0] == "dw7"
        for cfg in cfgs.values():
            with torch.device("meta"):
                assert math.isfinite(count_params(VisionTransformer(cfg)))
    assert _model_cfg("gnconv_order", "imagenet", "rising") == get_preset("hornet_tiny_7x7")


@pytest.mark.slow
def test_compiles_with_the_global_filter() -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = VisionTransformer(get_preset("hornet_cpu").replace(depths=(1, 1), gn_filter="gf"))
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    y = compiled(x)
    y.sum().backward()
    torch.testing.assert_close(y, model(x), atol=1e-5, rtol=1e-4)
