"""vt_core.reference.shunted: every ``shunted_*`` preset gives the logits of the plain Shunted Transformer
with the same weights, the reference shares no layer with the model it checks, and what is not a Shunted
Transformer is refused in one line."""

from __future__ import annotations

import pytest
import torch

import vt_core
from vt_core import ConfigError
from vt_core.reference import ShuntedTransformerReference, copy_into_reference, reference_from_config

SHUNTED_PRESETS = [n for n in vt_core.list_presets() if n.startswith("shunted_")]
REL_TOL = 1e-5  # max |Δ| over the largest |logit|: fp32 rounding of two orders of the same sums


def _perturb(model: torch.nn.Module, seed: int = 0) -> None:
    """Move every parameter and BatchNorm statistic off its initial value, so that a wrong copy
    (LayerNorm weights all one, biases all zero, BatchNorm at identity) would show in the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)


def _pair(name: str, img: int) -> tuple[vt_core.VisionTransformer, ShuntedTransformerReference]:
    torch.manual_seed(0)
    ours = vt_core.create_model(name, img_size=img).eval()
    _perturb(ours)
    ref = reference_from_config(ours.cfg).eval()
    copy_into_reference(ours, ref)
    return ours, ref


CASES = [pytest.param(n, 32 if n.endswith("_cpu") else 64, marks=[pytest.mark.slow] if n == "shunted_b" else [])
         for n in SHUNTED_PRESETS]
# 72 px: stage maps 18, 9, 5, 3, so the aggregation floors (9 at rate 4 → 2) and the downsampling rounds up
CASES.append(("shunted_t", 72))


@pytest.mark.parametrize("name, img", CASES)
def test_preset_matches_reference(name, img):
    """Full model, fp32, eval: the same logits as the reference with our weights."""
    ours, ref = _pair(name, img)
    assert sum(p.numel() for p in ref.parameters()) == sum(p.numel() for p in ours.parameters())
    x = torch.randn(2, 3, img, img, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = ours(x), ref(x)
    assert got.shape == want.shape == (2, ours.cfg.num_classes)
    diff, scale = (got - want).abs().max().item(), want.abs().max().item()
    assert diff <= REL_TOL * scale, f"{name} at {img}: max |Δ| {diff:.3g} against logits up to {scale:.3g}"


def test_comparison_sees_the_last_block():
    """One weight of the last block changed on our side after the copy shows in the logits: the
    comparison is not blind to the deepest layers (where a missed copy would hide)."""
    ours, ref = _pair("shunted_cpu", 32)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours.stages[-1].blocks[-1].attn.groups[0].local_conv.bias.add_(0.1)
        diff, scale = (ours(x) - ref(x)).abs().max().item(), ref(x).abs().max().item()
    assert diff > 100 * REL_TOL * scale


def test_reference_is_independent_of_our_layers():
    """The reference is built from torch.nn (and timm's DropPath) only, never from vt_core.layers."""
    ref = reference_from_config(vt_core.get_preset("shunted_t").replace(drop_path=0.1))
    modules = {type(m).__module__ for m in ref.modules()}
    assert not any(m.startswith(("vt_core.layers", "vt_core.model")) for m in modules), modules
    assert "timm.layers.drop" in modules  # stochastic depth as built, for the timed training step


def test_copy_refuses_a_model_of_other_shapes():
    ours = vt_core.create_model("shunted_cpu")
    ref = reference_from_config(vt_core.get_preset("shunted_cpu").replace(kv_ratios=[[2], [1]]))
    with pytest.raises(ValueError, match=r"ratios \[2, 1\] .* the reference \[2\]"):
        copy_into_reference(ours, ref)
    deeper = reference_from_config(vt_core.get_preset("shunted_cpu").replace(depths=(2, 3)))
    with pytest.raises(ValueError):
        copy_into_reference(ours, deeper)


@pytest.mark.parametrize("overrides, needle", [
    (dict(ffn="mlp"), "model.ffn='mlp'; a Shunted Transformer has 'ds'"),
    (dict(pos="abs"), "model.pos='abs'"),
    (dict(stage_norm=False), "model.stage_norm=False"),
    (dict(mixer=("shunted", "shunted", "shunted", "global")), "model.mixer stage 3 is 'global'"),
])
def test_reference_refuses_what_is_not_a_shunted_transformer(overrides, needle):
    with pytest.raises(ConfigError) as err:
        reference_from_config(vt_core.get_preset("shunted_t").replace(**overrides))
    assert needle in str(err.value) and "\n" not in str(err.value)
