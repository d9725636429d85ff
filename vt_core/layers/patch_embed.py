"""Stems: image (B, 3, H, W) → token map (B, H/s, W/s, C)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from ..config import ModelConfig


class PatchEmbed(nn.Module):
    """Non-overlapping patches: conv with kernel = stride = patch (ViT, Swin, HorNet); optional LayerNorm
    (Swin; HorNet's stem is this with patch 4 and eps 1e-6, its channels-first norm on channels-last maps)."""

    def __init__(self, *, in_chans: int, dim: int, patch_size: int, norm: bool = False, norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim, eps=norm_eps) if norm else nn.Identity()

    @classmethod
    def from_config(cls, cfg: "ModelConfig") -> "PatchEmbed":
        return cls(in_chans=cfg.in_chans, dim=cfg.dims[0], patch_size=cfg.patch_size, norm=cfg.stem_norm,
                   norm_eps=cfg.stem_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))  # B, H/p, W/p, C


class OverlapPatchEmbed(nn.Module):
    """Overlapping patches: conv k, stride s, padding k//2, then LayerNorm (PVT-v2 stem k=7 s=4; the
    3×3/2 downsampling between PVT and Shunted stages). Takes and returns channels-last maps."""

    def __init__(self, *, in_chans: int, dim: int, kernel_size: int, stride: int, norm_eps: float = 1e-5) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2)
        self.norm = nn.LayerNorm(dim, eps=norm_eps)

    @classmethod
    def from_config(cls, cfg: "ModelConfig") -> "OverlapPatchEmbed":  # PVT-v2's stem
        return cls(in_chans=cfg.in_chans, dim=cfg.dims[0], kernel_size=7, stride=4, norm_eps=cfg.stem_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))  # B, H/s, W/s, C


class ConvStem(nn.Module):
    """Shunted's stem: 7×7/2 conv + BN + ReLU, ``extra_convs`` × (3×3 conv + BN + ReLU), 2×2/2 projection + LN."""

    def __init__(self, *, in_chans: int, dim: int, hidden_dim: int = 64, extra_convs: int = 0,
                 norm_eps: float = 1e-5) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_chans, hidden_dim, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(hidden_dim),
            nn.ReLU(inplace=True),
        ]
        for _ in range(extra_convs):
            layers += [
                nn.Conv2d(hidden_dim, hidden_dim, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(hidden_dim),
                nn.ReLU(inplace=True),
            ]
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Conv2d(hidden_dim, dim, kernel_size=2, stride=2)
        self.norm = nn.LayerNorm(dim, eps=norm_eps)

    @classmethod
    def from_config(cls, cfg: "ModelConfig") -> "ConvStem":
        return cls(in_chans=cfg.in_chans, dim=cfg.dims[0], hidden_dim=cfg.stem_dim, extra_convs=cfg.stem_convs,
                   norm_eps=cfg.stem_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(self.conv(x)).permute(0, 2, 3, 1))  # B, H/4, W/4, C
