"""The two models a row times, with the same weights: a preset and timm's model of the same name
(timm's weights copied into ours with ``from_timm``), or a ``shunted_*`` preset and the plain
Shunted Transformer of ``vt_core.reference`` (our weights copied into it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..overrides import ConfigError
from ..presets import PRESETS, get_preset
from ..reference import copy_into_reference, reference_from_config
from .settings import Settings

TIMM_FAMILIES = ("vit_", "swin_", "pvt_v2_")
TIMM_TWINS = tuple(n for n in PRESETS if n.startswith(TIMM_FAMILIES) and not n.endswith("_cpu"))
SHUNTED = tuple(n for n in PRESETS if n.startswith("shunted_") and not n.endswith("_cpu"))
REFERENCE_LABEL = "reference (vt_core.reference.shunted)"


@dataclass
class Pair:
    """Our model and the one it is timed against, with the same weights."""

    name: str
    ours: nn.Module
    ref: nn.Module
    ref_label: str
    flops_per_img: int  # forward FLOPs (2 × MACs) at the benchmark's image size
    max_abs_diff: float = float("nan")


def _family(name: str) -> str:
    return "shunted" if name in SHUNTED else next(f.rstrip("_") for f in TIMM_FAMILIES if name.startswith(f))


def _timm_kwargs(name: str, img_size: int) -> dict[str, Any]:
    # PVT-v2 has no input size (no position table): it runs at any size as built
    return {} if _family(name) == "pvt_v2" else {"img_size": img_size}


def _build_timm(name: str, img_size: int, *, fused_attn: int, device: torch.device | str) -> nn.Module:
    import timm
    from timm.layers import set_fused_attn, use_fused_attn

    before = 2 if use_fused_attn(experimental=True) else int(use_fused_attn())  # the process-wide setting
    set_fused_attn(fused_attn > 0, experimental=fused_attn > 1)
    try:
        with torch.device(device):
            return timm.create_model(name, pretrained=False, **_timm_kwargs(name, img_size))
    finally:
        set_fused_attn(before > 0, experimental=before > 1)


def check_presets(names: tuple[str, ...], img_size: int, fused_attn: int) -> None:
    """Refuse what cannot be benchmarked before anything is built for real (timm models on meta)."""
    from ..weights.timm import timm_config

    for name in names:
        if name not in TIMM_TWINS + SHUNTED:
            why = "unknown preset" if name not in PRESETS else "no timm twin or reference"
            raise ConfigError(f"--presets: {name!r}: {why}; choose from {', '.join(TIMM_TWINS + SHUNTED)} or 'all'")
        try:
            if name in SHUNTED:
                cfg = get_preset(name).replace(img_size=img_size)  # refuses maps too small for the ratios
                reference_from_config(cfg)
                continue
            cfg = timm_config(_build_timm(name, img_size, fused_attn=fused_attn, device="meta"))
            if cfg.img_size != img_size:  # PVT-v2: our config is rebuilt for the size, checking the KV ratios
                cfg.replace(img_size=img_size)
        except (ConfigError, ValueError) as e:
            raise ConfigError(f"--presets: {name} at --img-size {img_size}: {e}") from None


def build_pair(name: str, s: Settings) -> Pair:
    from .. import create_model, from_timm
    from ..measure import count_macs

    torch.manual_seed(0)
    if name in SHUNTED:
        ours = create_model(name, img_size=s.img_size)
        ref = reference_from_config(ours.cfg)
        copy_into_reference(ours, ref)
        label = REFERENCE_LABEL
    else:
        ref = _build_timm(name, s.img_size, fused_attn=s.timm_fused_attn, device="cpu")
        ours = from_timm(ref)
        if ours.cfg.img_size != s.img_size:
            ours.set_input_size(img_size=s.img_size)
        label = f"timm {name}"
    flops = count_macs(ours.cfg, batch=1)["flops"]
    pair = Pair(name=name, ours=ours.to(s.device), ref=ref.to(s.device), ref_label=label, flops_per_img=flops)
    pair.max_abs_diff = _max_abs_diff(pair, s)
    return pair


@torch.no_grad()
def _max_abs_diff(pair: Pair, s: Settings) -> float:
    """Logits of one image, eval mode, fp32: the two sides compute the same function."""
    x = torch.randn(1, 3, s.img_size, s.img_size, generator=torch.Generator().manual_seed(1)).to(s.device)
    pair.ours.eval(), pair.ref.eval()
    return (pair.ours(x).float() - pair.ref(x).float()).abs().max().item()
