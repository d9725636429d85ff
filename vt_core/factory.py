"""The one place where a kind string from a config becomes a class."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from torch import nn

from .layers import (
    Attention,
    ConvDownsample,
    ConvMlp,
    ConvStem,
    GnConv,
    Mlp,
    OverlapPatchEmbed,
    PatchEmbed,
    PatchMerging,
    ShuntedAttention,
    SpatialReductionAttention,
    WindowAttention,
)

if TYPE_CHECKING:
    from .config import ModelConfig

MIXERS: dict[str, type[nn.Module]] = {
    "global": Attention,
    "window": WindowAttention,
    "sr": SpatialReductionAttention,
    "shunted": ShuntedAttention,
    "gnconv": GnConv,
}
FFNS: dict[str, Callable[..., nn.Module]] = {
    "mlp": Mlp,
    "ds": partial(ConvMlp, residual=True),
    "dw": partial(ConvMlp, residual=False),
}
STEMS: dict[str, type[nn.Module]] = {"patch": PatchEmbed, "overlap": OverlapPatchEmbed, "conv": ConvStem}
DOWNSAMPLES: dict[str, type[nn.Module]] = {"merge": PatchMerging, "conv": ConvDownsample}
POSITIONS = ("none", "abs", "rel", "abs+rel")
POOLS = ("cls", "mean")


def build_stem(cfg: "ModelConfig") -> nn.Module:
    kind, dim = cfg.stem, cfg.dims[0]
    if kind == "patch":
        return PatchEmbed(in_chans=cfg.in_chans, dim=dim, patch_size=cfg.patch_size, norm=cfg.stem_norm)
    if kind == "overlap":
        return OverlapPatchEmbed(in_chans=cfg.in_chans, dim=dim, kernel_size=7, stride=4)
    return ConvStem(in_chans=cfg.in_chans, dim=dim, hidden_dim=cfg.stem_dim, extra_convs=cfg.stem_convs)


def build_downsample(cfg: "ModelConfig", stage: int) -> nn.Module:
    return DOWNSAMPLES[cfg.downsample](cfg.dims[stage - 1], out_dim=cfg.dims[stage])


def build_mixer(cfg: "ModelConfig", stage: int, block: int, feat_size: tuple[int, int], window: tuple[int, int]) -> nn.Module:
    """The token mixer of block ``block`` of ``stage``; ``window`` is the stage's clamped (M, shift)."""
    kind, dim, heads = cfg.mixer[stage], cfg.dims[stage], cfg.heads[stage]
    cls = MIXERS[kind]
    rel = "rel" in cfg.pos
    if kind == "global":
        return cls(dim, num_heads=heads, feat_size=feat_size, qkv_bias=cfg.qkv_bias, rel_pos=rel, appearance=cfg.appearance)
    if kind == "window":
        m, shift = window
        return cls(
            dim, num_heads=heads, feat_size=feat_size, window_size=m, shift_size=shift if block % 2 else 0,
            qkv_bias=cfg.qkv_bias, rel_pos=rel, appearance=cfg.appearance,
        )
    if kind == "sr":
        return cls(dim, num_heads=heads, ratio=cfg.kv_ratios[stage][0], qkv_bias=cfg.qkv_bias)
    if kind == "shunted":
        return cls(dim, num_heads=heads, ratios=cfg.kv_ratios[stage], qkv_bias=cfg.qkv_bias)
    return cls(dim, order=cfg.gn_order[stage], scale=cfg.gn_scale)


def build_ffn(cfg: "ModelConfig", stage: int) -> nn.Module:
    dim = cfg.dims[stage]
    return FFNS[cfg.ffn](dim, hidden_dim=int(dim * cfg.mlp_ratio[stage]))
