"""The checks every family's reader shares: one-line refusals, LayerNorm eps, GELU, linear layers,
the MLP ratio, square sizes, dropout and the drop-path schedule, the classifier head.

LayerNorm eps: vt_core uses ``model.norm_eps`` for block, stage and final norms (``one_eps``), and
PyTorch's default 1e-5 for the norms inside stems, patch merging and spatial reduction
(``fixed_norm``)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ...overrides import ConfigError

FIXED_EPS = 1e-5  # nn.LayerNorm's default: vt_core's stem / patch-merging / spatial-reduction norms


def refuse(family: str, feature: str) -> ConfigError:
    return ConfigError(f"from_timm: {family}: not supported by vt_core: {feature}")


def layer_norm_eps(mod: nn.Module, where: str, family: str) -> float:
    """eps of a plain affine LayerNorm (torch's or timm's), refusing anything else."""
    from timm.layers import LayerNorm as TimmLayerNorm

    if type(mod) not in (nn.LayerNorm, TimmLayerNorm) or not mod.elementwise_affine or mod.bias is None:
        raise refuse(family, f"{where} is {type(mod).__name__} (vt_core has affine LayerNorms only)")
    return float(mod.eps)


def fixed_norm(mod: nn.Module, where: str, family: str) -> None:
    eps = layer_norm_eps(mod, where, family)
    if eps != FIXED_EPS:
        raise refuse(family, f"{where} eps {eps:g} (vt_core's is {FIXED_EPS:g})")


def one_eps(norms: list[tuple[str, nn.Module]], family: str) -> float:
    """The single eps shared by block / stage / final norms (``model.norm_eps``)."""
    eps = {}
    for where, mod in norms:
        eps.setdefault(layer_norm_eps(mod, where, family), where)
    if len(eps) > 1:
        found = ", ".join(f"{e:g} ({w})" for e, w in eps.items())
        raise refuse(family, f"different LayerNorm eps across block/final norms: {found}")
    return next(iter(eps))


def gelu(act: nn.Module, where: str, family: str) -> None:
    if type(act) is not nn.GELU or act.approximate != "none":
        raise refuse(family, f"activation {act!r} at {where} (vt_core uses exact nn.GELU)")


def linear(mod: nn.Module, where: str, family: str, bias: bool = True) -> nn.Linear:
    if type(mod) is not nn.Linear:
        raise refuse(family, f"{where} is {type(mod).__name__}, not nn.Linear")
    if bias and mod.bias is None:
        raise refuse(family, f"{where} without bias")
    return mod


def mlp_ratio(dim: int, hidden: int) -> float:
    """A ratio r with int(dim * r) == hidden, as vt_core (and timm) compute the hidden width."""
    r = hidden / dim
    for _ in range(8):
        if int(dim * r) == hidden:
            return r
        r = math.nextafter(r, math.inf)
    return hidden / dim  # unreachable for real widths; validation then reports the mismatch


def square(value: Any, what: str, family: str) -> int:
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise refuse(family, f"non-square {what} {a}×{b}")
    return int(a)


def patch_conv(proj: nn.Conv2d, patch: int, family: str) -> None:
    """ViT's and Swin's stem: one conv with kernel = stride = patch and no padding."""
    if tuple(proj.kernel_size) != (patch, patch) or tuple(proj.stride) != (patch, patch) or any(proj.padding):
        raise refuse(family, f"patch projection {proj} (vt_core's is a conv with kernel = stride = patch)")


def common_fields(m: nn.Module, family: str) -> dict[str, Any]:
    """Things every family shares: dropout (refused), the drop-path schedule, the architecture name."""
    from timm.layers import DropPath, PatchDropout

    rates = []
    for name, mod in m.named_modules():
        if isinstance(mod, nn.Dropout) and mod.p > 0:
            raise refuse(family, f"dropout p={mod.p:g} at {name} (vt_core has drop path only)")
        if isinstance(mod, PatchDropout):
            raise refuse(family, f"patch dropout at {name}")
        if name.endswith("drop_path1"):  # one per block, in order; drop_path2 has the same rate
            rates.append(float(mod.drop_prob) if isinstance(mod, DropPath) else 0.0)
    top = max(rates, default=0.0)
    if rates and top > 0:
        expected = torch.linspace(0, top, len(rates)).tolist()
        if any(abs(a - b) > 1e-6 for a, b in zip(rates, expected)):
            raise refuse(family, "a drop-path schedule that is not linear from 0 over all blocks")
    name = (getattr(m, "pretrained_cfg", None) or {}).get("architecture") or "custom"
    return {"drop_path": top, "name": name}


def head_classes(mod: nn.Module, family: str) -> int:
    """The classifier's number of classes (a linear head is all vt_core has)."""
    if isinstance(mod, nn.Identity):
        raise refuse(family, "num_classes=0 (no classifier head; create the timm model with num_classes ≥ 1)")
    return linear(mod, "head", family).out_features
