"""Downsampling between stages: channels-last (B, H, W, C) → (B, H/2, W/2, C')."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from timm.layers import register_notrace_module
from torch import nn

from .patch_embed import OverlapPatchEmbed

if TYPE_CHECKING:
    from ..config import ModelConfig


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class PatchMerging(nn.Module):
    """Swin: concatenate each 2×2 neighbourhood (4C) → LayerNorm → Linear to ``out_dim``; odd maps padded."""

    def __init__(self, dim: int, *, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)

    @classmethod
    def from_config(cls, cfg: "ModelConfig", stage: int) -> "PatchMerging":
        return cls(cfg.dims[stage - 1], out_dim=cfg.dims[stage])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        if H % 2 or W % 2:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
            H, W = H + H % 2, W + W % 2
        # the 2×2 neighbours in timm's order (column offset major), so timm weights transfer as they are
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)  # B, H/2, W/2, 4C
        return self.reduction(self.norm(x))


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class ConvDownsample(OverlapPatchEmbed):
    """PVT-v2 / Shunted: 3×3 stride-2 conv + LayerNorm."""

    def __init__(self, dim: int, *, out_dim: int) -> None:
        super().__init__(in_chans=dim, dim=out_dim, kernel_size=3, stride=2)

    @classmethod
    def from_config(cls, cfg: "ModelConfig", stage: int) -> "ConvDownsample":  # type: ignore[override]
        return cls(cfg.dims[stage - 1], out_dim=cfg.dims[stage])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 3, 1, 2))
