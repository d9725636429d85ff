"""Token aggregation for reduced keys/values: strided conv + LayerNorm (+ GELU) (PVT, Shunted MTA)."""

from __future__ import annotations

import torch
from torch import nn


class TokenAggregation(nn.Module):
    """(B, N, C) on an H×W grid → (B, N/r², C) by a conv with kernel = stride = r."""

    def __init__(self, dim: int, *, ratio: int, act: bool) -> None:
        super().__init__()
        self.sr = nn.Conv2d(dim, dim, kernel_size=ratio, stride=ratio)
        self.norm = nn.LayerNorm(dim)
        self.act = nn.GELU() if act else nn.Identity()

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        B, N, C = x.shape
        x = self.sr(x.transpose(1, 2).reshape(B, C, *feat_size))  # B, C, H/r, W/r
        grid = (x.shape[2], x.shape[3])
        return self.act(self.norm(x.flatten(2).transpose(1, 2))), grid
