"""Known answers of the mechanism measures (vt_core.analyze), on real models and layers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vt_core import get_preset
from vt_core.analyze.attention_distance import AttentionDistance, query_distances, window_bound_px
from vt_core.analyze.cka import linear_cka
from vt_core.analyze.cross_window import cross_window_dependence
from vt_core.analyze.erf import erf_maps, erf_radii
from vt_core.analyze.hooks import attention_probe
from vt_core.analyze.translation import shift_images, translation_sensitivity
from vt_core.model import VisionTransformer


def build(cfg, seed: int = 0) -> VisionTransformer:
    torch.manual_seed(seed)
    return VisionTransformer(cfg).eval()


def images(n: int = 4, size: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------ cross-window dependence
def test_unshifted_windows_have_no_cross_window_dependence():
    model = build(get_preset("swin_cpu").replace(shift=False))
    out = cross_window_dependence(model, images(), tokens=6, seed=0)
    assert len(out) == 4
    assert all(row["share"] == 0.0 for row in out.values()), out


def test_a_shifted_block_reaches_across_windows():
    model = build(get_preset("swin_cpu"))
    out = cross_window_dependence(model, images(), tokens=6, seed=0)
    assert out["stages.0.blocks.0"]["share"] == 0.0  # W-MSA, before any merging
    assert out["stages.0.blocks.1"]["shift"] == 2 and out["stages.0.blocks.1"]["share"] > 1e-4  # SW-MSA


def test_padded_unshifted_windows_stay_inside():
    """A 12×12 map in windows of 5 is padded; the padding must not carry dependence across."""
    cfg = get_preset("swin_cpu").replace(shift=False, img_size=24, window_size=5)
    out = cross_window_dependence(build(cfg), images(size=24), tokens=8, seed=0)
    assert out and all(row["share"] == 0.0 for row in out.values())


# ------------------------------------------------------------------------------ translation
def _logits(model):
    return lambda x: model(x).detach()


def test_no_position_global_attention_mean_pool_is_blind_to_aligned_cyclic_shifts():
    cfg = get_preset("vit_cpu").replace(pos="none", pool="mean")
    model, x = build(cfg), images()
    labels = torch.zeros(len(x), dtype=torch.long)
    base = model(x).detach()
    stride = cfg.stem_stride
    out = translation_sensitivity(_logits(model), x, labels, base, (stride, 3 * stride), stride)
    for row in out["shifts"]:
        assert row["patch_aligned"] and row["agreement"] == 1.0 and row["kl"] < 1e-9
    torch.testing.assert_close(model(shift_images(x, stride)), base, atol=1e-5, rtol=1e-5)
    unaligned = translation_sensitivity(_logits(model), x, labels, base, (1,), stride)["shifts"][0]
    assert not unaligned["patch_aligned"] and unaligned["kl"] > 1e-9


def test_an_absolute_embedding_sees_aligned_shifts():
    cfg = get_preset("vit_cpu").replace(pos="abs", pool="mean")
    model, x = build(cfg), images()
    with torch.no_grad():
        model.pos_embed.pos_embed.mul_(50)  # a trained embedding is far from its 0.02 initialisation
    base = model(x).detach()
    row = translation_sensitivity(_logits(model), x, torch.zeros(len(x), dtype=torch.long), base,
                                  (cfg.stem_stride,), cfg.stem_stride)["shifts"][0]
    assert row["patch_aligned"] and row["kl"] > 1e-6
    assert not torch.allclose(model(shift_images(x, cfg.stem_stride)), base, atol=1e-4)


# ------------------------------------------------------------------------------ attention distance
class MaxDistance(AttentionDistance):
    """Also keeps the largest single query's mean distance per block."""

    def __init__(self, img_size):
        super().__init__(img_size)
        self.max: dict[str, float] = {}

    def __call__(self, mixer, probs, q_pos, k_pos, feat_size, first_head=0):
        super().__call__(mixer, probs, q_pos, k_pos, feat_size, first_head)
        px = img_px = self.img_size[0] / feat_size[0]
        per_query, valid = query_distances(probs.float(), q_pos * px, k_pos * img_px)
        name = self.names[mixer]
        self.max[name] = max(self.max.get(name, 0.0), float(per_query[:, :, valid.bool()].max()))


@pytest.mark.parametrize("overrides", [{}, {"img_size": 24, "window_size": 5}, {"window_size": 2}])
def test_window_attention_distance_never_exceeds_the_window_diagonal(overrides):
    cfg = get_preset("swin_cpu").replace(**overrides)
    model = build(cfg)
    with torch.no_grad():  # sharpen attention onto the farthest keys it can: large q·k
        for name, p in model.named_parameters():
            if name.endswith("qkv.weight"):
                p.mul_(30)
    probe = MaxDistance((cfg.img_size, cfg.img_size))
    with attention_probe(model, probe) as names, torch.no_grad():
        probe.names = names
        model(images(size=cfg.img_size))
    result = probe.result()
    assert len(result) == sum(cfg.depths)
    for name, row in result.items():
        m = model.get_submodule(name).attn.window_size
        bound = window_bound_px(m, row["token_px"])
        assert probe.max[name] <= bound * (1 + 1e-6), (name, probe.max[name], bound)  # float32 rounding
        assert all(0 < h <= bound for h in row["heads_px"])


def _uniform(model: nn.Module) -> None:
    """Zero every query projection: every query attends uniformly to its keys."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("qkv.weight", "qkv.bias")):
                p[: p.shape[0] // 3].zero_()
            elif name.endswith((".q.weight", ".q.bias")):
                p.zero_()


def _grid_px(h: int, w: int, cell: float) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    return torch.stack([ys, xs], -1).reshape(-1, 2).double() * cell


def test_uniform_global_attention_distance_is_the_mean_pairwise_distance():
    cfg = get_preset("vit_cpu")  # class token: left out of queries and keys
    model = build(cfg)
    _uniform(model)
    probe = AttentionDistance((32, 32))
    with attention_probe(model, probe) as names, torch.no_grad():
        probe.names = names
        model(images())
    pts = _grid_px(8, 8, 4.0)
    expected = torch.cdist(pts, pts).mean().item()
    for row in probe.result().values():
        assert row["heads_px"] == pytest.approx([expected] * 3, rel=1e-5)


def test_uniform_reduced_attention_measures_to_the_pooled_centres():
    cfg = get_preset("pvt_cpu")  # stage 0: keys pooled 2×2 on an 8×8 map of 4-px tokens
    model = build(cfg)
    _uniform(model)
    probe = AttentionDistance((32, 32))
    with attention_probe(model, probe) as names, torch.no_grad():
        probe.names = names
        model(images())
    queries, keys = _grid_px(8, 8, 4.0), _grid_px(4, 4, 8.0)
    expected = torch.cdist(queries, keys).mean().item()
    assert probe.result()["stages.0.blocks.0"]["heads_px"] == pytest.approx([expected], rel=1e-5)


def test_the_probe_leaves_the_outputs_as_they_were_and_detaches():
    for preset in ("vit_cpu", "swin_cpu", "pvt_cpu", "shunted_cpu"):
        model, x = build(get_preset(preset)), images()
        with torch.no_grad():
            fused = model(x)
            probe = AttentionDistance((32, 32))
            with attention_probe(model, probe) as names:
                probe.names = names
                probed = model(x)
        torch.testing.assert_close(probed, fused, atol=1e-4, rtol=1e-4)
        assert probe.result(), preset
        assert all(block.attn.attention_probe is None for stage in model.stages for block in stage.blocks)


def test_shunted_head_groups_fill_every_head():
    model = build(get_preset("shunted_cpu"))
    probe = AttentionDistance((32, 32))
    with attention_probe(model, probe) as names, torch.no_grad():
        probe.names = names
        model(images())
    row = probe.result()["stages.0.blocks.0"]  # heads 0 (keys pooled 2×) and 1 (not pooled)
    assert len(row["heads_px"]) == 2 and all(h > 0 for h in row["heads_px"])
    assert probe.counts["stages.0.blocks.0"].tolist() == [4 * 64.0, 4 * 64.0]


# ------------------------------------------------------------------------------ CKA
def _direct_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Kornblith et al. eq. (the feature-space form): ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F), centred columns."""
    x, y = x.double() - x.double().mean(0), y.double() - y.double().mean(0)
    return float((y.T @ x).norm() ** 2 / ((x.T @ x).norm() * (y.T @ y).norm()))


def test_linear_cka_known_answers():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 30, generator=g), torch.randn(20, 12, generator=g)
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=g, dtype=torch.float64))
    assert linear_cka(x.double() @ q * 3.7, y) == pytest.approx(linear_cka(x, y), abs=1e-12)
    assert linear_cka(x, y) == pytest.approx(_direct_cka(x, y), abs=1e-12)
    assert 0 < linear_cka(x, y) < 1
    assert linear_cka(x, x + 1.0) == pytest.approx(1.0, abs=1e-12)  # a shift of every example: centred away
    with pytest.raises(ValueError, match="same examples"):
        linear_cka(x, y[:10])


# ------------------------------------------------------------------------------ ERF
@pytest.mark.parametrize("k", [3, 5, 7])
def test_erf_of_a_depthwise_conv_is_exactly_its_support(k):
    torch.manual_seed(k)
    conv = nn.Conv2d(3, 3, k, padding=k // 2, groups=3)
    (mass,) = erf_maps(lambda x: [conv(x)], images(n=2, size=17))
    support = mass > 0
    expected = torch.zeros(17, 17, dtype=torch.bool)
    expected[8 - k // 2: 9 + k // 2, 8 - k // 2: 9 + k // 2] = True
    assert torch.equal(support, expected)
    radii = erf_radii(mass, (17, 17), [0.5, 1.0])
    assert radii["1.0"] == (k - 1) / 2
    assert radii["0.5"] <= radii["1.0"]


def test_erf_radius_around_a_strided_output_centre():
    """A 2×2 stride-2 conv: output (4, 4) of an 8×8 input sees pixels 8–9; centre 8.5, radius ½."""
    conv = nn.Conv2d(1, 1, 2, stride=2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    (mass,) = erf_maps(lambda x: [conv(x)], torch.randn(1, 1, 16, 16))
    assert math.isclose(erf_radii(mass, (8, 8), [1.0])["1.0"], 0.5)


def test_a_model_without_attention_has_no_attention_rows_but_an_erf():
    model = build(get_preset("hornet_cpu"))
    probe = AttentionDistance((32, 32))
    with attention_probe(model, probe) as names, torch.no_grad():
        probe.names = names
        model(images())
    assert probe.result() == {}
    assert cross_window_dependence(model, images(n=2), tokens=2, seed=0) == {}
    maps = erf_maps(lambda x: model.forward_intermediates(x, intermediates_only=True, output_fmt="NCHW"),
                    images(n=2))
    assert len(maps) == 2 and all(float(m.sum()) > 0 for m in maps)
