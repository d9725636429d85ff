"""vt_core.from_timm: same logits as timm (ViT, Swin, PVT-v2) by weight transfer, configs equal to the
presets, and a one-line refusal for everything vt_core cannot express.

timm models are created with pretrained=False (random init, nothing downloaded) and every parameter is
then perturbed, so that LayerNorm weights / biases and zero-initialised biases are not trivially equal
and a wrong key mapping would show in the logits.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import timm
import torch
from torch import nn

import vt_core
from tests.support.models import tiered
from vt_core import ConfigError
from vt_core.weights.timm import convert_state_dict, timm_config, timm_family

TOL = 1e-4
PRESET_NAMES = [
    "vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224",
    "swin_tiny_patch4_window7_224", "swin_small_patch4_window7_224", "swin_base_patch4_window7_224",
    "pvt_v2_b0", "pvt_v2_b1", "pvt_v2_b2",
]
slow = pytest.mark.slow
# other sizes timm ships; the largest at reduced depth (widths, heads, MLP ratio, patch, size and windows
# as shipped: from_timm treats every block alike, so depth only adds time)
EXTRA = [
    pytest.param("vit_small_patch32_384", {}, marks=slow),
    pytest.param("vit_base_patch16_384", {}, marks=slow),
    pytest.param("vit_large_patch16_224", dict(depth=4), marks=slow),
    pytest.param("vit_large_patch32_384", dict(depth=2), marks=slow),
    pytest.param("vit_huge_patch14_224", dict(depth=2, num_classes=1000), marks=slow),  # shipped headless
    pytest.param("vit_giant_patch14_224", dict(depth=2), marks=slow),  # mlp_ratio 48/11
    pytest.param("vit_gigantic_patch14_224", dict(depth=2), marks=slow),  # mlp_ratio 64/13
    pytest.param("swin_base_patch4_window12_384", {}, marks=slow),
    pytest.param("swin_large_patch4_window7_224", dict(depths=(2, 2, 2, 2)), marks=slow),
    pytest.param("swin_large_patch4_window12_384", dict(depths=(2, 2, 2, 2)), marks=slow),
    pytest.param("swin_s3_tiny_224", {}, marks=slow),  # windows (7, 7, 14, 7)
    pytest.param("pvt_v2_b3", {}, marks=slow),
    pytest.param("pvt_v2_b4", dict(depths=(2, 2, 2, 2)), marks=slow),
    pytest.param("pvt_v2_b5", dict(depths=(2, 2, 2, 2)), marks=slow),
]
# custom kwargs: every switch from_timm reads, on small models (fast)
VARIANTS = [
    ("vit_tiny_patch16_224", dict(depth=2, class_token=False, global_pool="avg")),  # fc_norm after mean pool
    ("vit_tiny_patch16_224", dict(depth=2, qkv_bias=False, pos_embed="none")),
    ("vit_tiny_patch16_224", dict(depth=2, img_size=160, in_chans=1, num_classes=7)),
    ("vit_tiny_patch16_224", dict(depth=2, norm_layer=partial(nn.LayerNorm, eps=1e-5), mlp_ratio=48 / 11)),
    ("vit_small_patch32_224", dict(depth=2, no_embed_class=True, class_token=False, global_pool="avg")),
    ("swin_tiny_patch4_window7_224", dict(depths=(2, 2, 2, 2), img_size=256, window_size=8)),
    ("swin_tiny_patch4_window7_224", dict(depths=(2, 2, 2, 2), img_size=192, window_size=6, qkv_bias=False)),
    ("swin_tiny_patch4_window7_224", dict(depths=(2, 2, 2, 2), mlp_ratio=(4, 4, 2, 2), drop_path_rate=0.3)),
    ("pvt_v2_b0", dict(qkv_bias=False, mlp_ratios=(4, 4, 4, 4), sr_ratios=(4, 2, 1, 1))),
]


def _perturb(model: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)


def _pair(name: str, **kwargs):
    torch.manual_seed(0)
    ref = timm.create_model(name, pretrained=False, **kwargs).eval()
    _perturb(ref)
    return ref, vt_core.from_timm(ref).eval()


def _check_parity(name: str, batch: int = 1, **kwargs) -> float:
    ref, ours = _pair(name, **kwargs)
    cfg = ours.cfg
    x = torch.randn(batch, cfg.in_chans, cfg.img_size, cfg.img_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = ref(x), ours(x)
    assert got.shape == want.shape == (batch, cfg.num_classes)
    diff = (got - want).abs().max().item()
    assert diff <= TOL, f"{name} {kwargs}: max abs diff {diff:.3g} > {TOL}"
    _check_norm_eps(ref, ours)
    return diff


def _check_norm_eps(ref: nn.Module, ours: nn.Module) -> None:
    """Every timm LayerNorm lands on a vt_core LayerNorm with the same eps: logits barely feel a 1e-5 vs
    1e-6 eps with random weights, so this is checked module by module."""
    family = timm_family(ref)
    modules = dict(ours.named_modules())
    for name, mod in ref.named_modules():
        if isinstance(mod, nn.LayerNorm):
            target = next(iter(convert_state_dict({f"{name}.weight": None}, family)))[: -len(".weight")]
            assert isinstance(modules[target], nn.LayerNorm), target
            assert modules[target].eps == mod.eps, f"{name} eps {mod.eps} → {target} eps {modules[target].eps}"


# ------------------------------------------------------------------ parity
@pytest.mark.parametrize("name", tiered(PRESET_NAMES))
def test_parity_presets(name):
    _check_parity(name)


@pytest.mark.parametrize("name, kwargs", EXTRA)
def test_parity_other_sizes(name, kwargs):
    _check_parity(name, **kwargs)


@pytest.mark.parametrize("name, kwargs", VARIANTS)
def test_parity_custom_kwargs(name, kwargs):
    _check_parity(name, batch=2, **kwargs)


def test_transfer_keeps_mode_dtype_and_drop_path():
    ref = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=3, drop_path_rate=0.2).double()
    ours = vt_core.from_timm(ref)
    assert ours.training and next(ours.parameters()).dtype == torch.float64
    assert ours.cfg.drop_path == pytest.approx(0.2)
    rates = [b.drop_path1.drop_prob if hasattr(b.drop_path1, "drop_prob") else 0.0 for b in ours.stages[0].blocks]
    assert rates == pytest.approx([0.0, 0.1, 0.2])


# ------------------------------------------------------------------ configs equal the presets
@pytest.mark.parametrize("name", tiered(PRESET_NAMES))
def test_config_matches_preset(name):
    with torch.device("meta"):  # the architecture only: no weights allocated
        ref = timm.create_model(name, pretrained=False)
    ignore = {"name", "drop_path"}
    got = {k: v for k, v in dataclasses.asdict(timm_config(ref)).items() if k not in ignore}
    want = {k: v for k, v in dataclasses.asdict(vt_core.get_preset(name)).items() if k not in ignore}
    assert got == want
    assert timm_config(ref).name == name


# ------------------------------------------------------------------ refusals
REFUSED = [
    ("vit_tiny_patch16_224", dict(reg_tokens=4), "register tokens"),
    ("vit_tiny_patch16_224", dict(init_values=1e-5), "layer scale"),
    ("vit_tiny_patch16_224", dict(qk_norm=True), "qk_norm"),
    ("vit_tiny_patch16_224", dict(no_embed_class=True), "no_embed_class"),
    ("vit_tiny_patch16_224", dict(global_pool="avg"), "class token with global_pool='avg'"),
    ("vit_tiny_patch16_224", dict(class_token=False, global_pool="avg", fc_norm=False), "final norm before pooling"),
    ("vit_tiny_patch16_224", dict(global_pool="map"), "attention pooling"),
    ("vit_tiny_patch16_224", dict(pre_norm=True), "pre_norm"),
    ("vit_tiny_patch16_224", dict(num_classes=0), "num_classes=0"),
    ("vit_tiny_patch16_224", dict(drop_rate=0.1), "dropout"),
    ("vit_tiny_patch16_224", dict(act_layer="gelu_tanh"), "activation"),
    ("vit_small_patch16_18x2_224", {}, "block type ParallelThingsBlock"),
    ("vit_small_r26_s32_224", {}, "patch embedding HybridEmbed"),
    ("vit_small_patch16_rope_224", {}, "Eva is not supported"),
    ("deit_tiny_distilled_patch16_224", {}, "VisionTransformerDistilled is not supported"),
    ("swinv2_tiny_window8_256", {}, "SwinTransformerV2 is not supported"),
    ("swin_tiny_patch4_window7_224", dict(img_size=256), "padded to window 7"),
    ("swin_tiny_patch4_window7_224", dict(always_partition=True), "always_partition"),
    ("swin_tiny_patch4_window7_224", dict(norm_layer=partial(nn.LayerNorm, eps=1e-6)), "patch_embed.norm eps 1e-06"),
    ("swin_tiny_patch4_window7_224", dict(global_pool="max"), "global_pool='max'"),
    ("pvt_v2_b2_li", {}, "linear spatial-reduction attention"),
    ("pvt_v2_b0", dict(num_classes=0), "num_classes=0"),
    ("resnet18", {}, "ResNet is not supported"),
]


@pytest.mark.parametrize("name, kwargs, needle", REFUSED,
                         ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k, _ in REFUSED])
def test_unsupported_is_refused(name, kwargs, needle):
    with torch.device("meta"):
        ref = timm.create_model(name, pretrained=False, **kwargs)
    with pytest.raises(ConfigError) as info:
        timm_config(ref)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg and msg.startswith("from_timm: "), msg


def test_from_timm_refuses_before_building():
    ref = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=1, reg_tokens=1)
    with pytest.raises(ConfigError, match="register tokens"):
        vt_core.from_timm(ref)


@pytest.mark.parametrize("name, kwargs, swap", [
    ("vit_tiny_patch16_224", dict(depth=2), ("stages.0.blocks.0.norm1.bias", "stages.0.blocks.0.norm2.bias")),
    ("swin_tiny_patch4_window7_224", dict(depths=(2, 2, 2, 2)), (
        "stages.0.blocks.0.attn.rel_pos.relative_position_bias_table",
        "stages.0.blocks.1.attn.rel_pos.relative_position_bias_table",
    )),
    ("pvt_v2_b0", {}, ("stages.0.blocks.0.attn.reduce.norm.bias", "stages.0.blocks.1.attn.reduce.norm.bias")),
])
def test_parity_check_sees_a_wrong_mapping(name, kwargs, swap):
    """Negative control: with the perturbed weights, two tensors swapped in transfer break parity."""
    ref, ours = _pair(name, **kwargs)
    state = ours.state_dict()
    a, b = swap
    state[a], state[b] = state[b].clone(), state[a].clone()
    ours.load_state_dict(state)
    x = torch.randn(1, 3, ours.cfg.img_size, ours.cfg.img_size)
    with torch.no_grad():
        assert (ours(x) - ref(x)).abs().max().item() > TOL
