"""Spatial-reduction attention (PVT-v2): keys/values from a map shrunk r× by a strided conv."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .aggregation import TokenAggregation
from .attention import attend
from .mixer import TokenMixer, pooled_positions

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class SpatialReductionAttention(TokenMixer):
    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        ratio: int = 1,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.reduce = TokenAggregation(dim, ratio=ratio, act=False) if ratio > 1 else None
        self.proj = nn.Linear(dim, dim)

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "SpatialReductionAttention":
        return cls(spec.dim, num_heads=spec.num_heads, ratio=spec.kv_ratios[0], qkv_bias=spec.qkv_bias)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q(x).view(B, N, self.num_heads, -1).transpose(1, 2)  # B, h, N, d
        kv_in, grid = (x, feat_size) if self.reduce is None else self.reduce(x, feat_size)  # B, N/r², C
        k, v = self.kv(kv_in).view(B, -1, 2, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4).unbind(0)
        ratio = 1 if self.reduce is None else self.reduce.sr.stride[0]
        probe = self.probe_for(feat_size, lambda: pooled_positions(feat_size, grid, ratio, x.device))
        x = attend(q, k, v, dropout_p=self.attn_drop if self.training else 0.0, probe=probe)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))
