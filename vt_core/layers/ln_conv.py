"""HorNet's downsampling between stages (Rao et al., NeurIPS 2022; ConvNeXt's, Liu et al., CVPR 2022):
a LayerNorm, then a 2×2 convolution of stride 2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from ..config import ModelConfig


class LayerNormConvDownsample(nn.Module):
    """Channels-last (B, H, W, C) → LayerNorm → 2×2/2 conv → (B, ⌊H/2⌋, ⌊W/2⌋, C').

    The norm over the channels of each position is HorNet's channels-first LayerNorm written for
    channels-last maps. The convolution has no padding, so an odd side loses its last row or column,
    as in the official network.
    """

    def __init__(self, dim: int, *, out_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.conv = nn.Conv2d(dim, out_dim, kernel_size=2, stride=2)

    @classmethod
    def from_config(cls, cfg: "ModelConfig", stage: int) -> "LayerNormConvDownsample":
        return cls(cfg.dims[stage - 1], out_dim=cfg.dims[stage], eps=cfg.norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.norm(x).permute(0, 3, 1, 2))  # B, C', H/2, W/2
        return x.permute(0, 2, 3, 1)
