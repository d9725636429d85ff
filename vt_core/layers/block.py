"""The pre-norm transformer block: x + mixer(norm(x)), then x + ffn(norm(x)); with ``layer_scale``
each branch is scaled by a learnable per-channel γ first (CaiT's LayerScale, as HorNet's blocks)."""

from __future__ import annotations

import torch
from timm.layers import DropPath, LayerScale
from torch import nn


class Block(nn.Module):
    """One block; the token mixer (attention, windows, gnConv …) and the FFN are built by the caller.
    ``layer_scale`` > 0 initialises γ₁, γ₂ to that value (HorNet: 1e-6); 0 leaves the branches unscaled."""

    def __init__(self, dim: int, *, attn: nn.Module, mlp: nn.Module, drop_path: float = 0.0, norm_eps: float = 1e-6,
                 layer_scale: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = attn
        self.ls1 = LayerScale(dim, init_values=layer_scale) if layer_scale > 0 else nn.Identity()
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = mlp
        self.ls2 = LayerScale(dim, init_values=layer_scale) if layer_scale > 0 else nn.Identity()
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x), feat_size)))
        return x + self.drop_path2(self.ls2(self.mlp(self.norm2(x), feat_size)))
