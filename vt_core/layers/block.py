"""The pre-norm transformer block: x + mixer(norm(x)), then x + ffn(norm(x))."""

from __future__ import annotations

import torch
from timm.layers import DropPath
from torch import nn


class Block(nn.Module):
    """One block; the token mixer (attention, windows, gnConv …) and the FFN are built by the caller."""

    def __init__(self, dim: int, *, attn: nn.Module, mlp: nn.Module, drop_path: float = 0.0, norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = attn
        self.drop_path1 = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = mlp
        self.drop_path2 = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x), feat_size))
        return x + self.drop_path2(self.mlp(self.norm2(x), feat_size))
