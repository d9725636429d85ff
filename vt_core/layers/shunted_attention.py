"""Shunted self-attention (Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation",
CVPR 2022): head groups attend to keys/values aggregated at different rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .aggregation import TokenAggregation
from .attention import attend
from .mixer import TokenMixer, pooled_positions

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class KVGroup(nn.Module):
    """One head group's keys and values: MTA at rate r (none for a lone r=1) + local enhancement on V."""

    def __init__(self, dim: int, *, group_dim: int, ratio: int, aggregate: bool, qkv_bias: bool) -> None:
        super().__init__()
        self.aggregate = TokenAggregation(dim, ratio=ratio, act=True) if aggregate else None
        self.kv = nn.Linear(dim, group_dim * 2, bias=qkv_bias)
        # LE: depthwise 3×3 on V over the aggregated grid
        self.local_conv = nn.Conv2d(group_dim, group_dim, kernel_size=3, padding=1, groups=group_dim)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int], heads: int):
        B, _, _ = x.shape
        grid = feat_size
        if self.aggregate is not None:
            x, grid = self.aggregate(x, feat_size)  # B, N/r², C
        k, v = self.kv(x).view(B, -1, 2, heads, self.local_conv.in_channels // heads).permute(2, 0, 3, 1, 4).unbind(0)
        return k, v, grid  # B, h_g, Nk, d


class ShuntedAttention(TokenMixer):
    """Heads split evenly into ``len(ratios)`` groups; group i sees K/V aggregated at ``ratios[i]``.

    A single group with ratio 1 is plain attention with the local enhancement added to the output
    (the last stage of Shunted), as in the official code.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        ratios: tuple[int, ...] = (1,),
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.ratios = tuple(ratios)
        n = len(self.ratios)
        self.single = n == 1 and self.ratios[0] == 1
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.groups = nn.ModuleList(
            KVGroup(dim, group_dim=dim // n, ratio=r, aggregate=not self.single, qkv_bias=qkv_bias) for r in self.ratios
        )
        self.proj = nn.Linear(dim, dim)

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "ShuntedAttention":
        return cls(spec.dim, num_heads=spec.num_heads, ratios=spec.kv_ratios, qkv_bias=spec.qkv_bias)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q(x).view(B, N, self.num_heads, -1).transpose(1, 2)  # B, h, N, d
        heads = self.num_heads // len(self.groups)
        outs = []
        for i, group in enumerate(self.groups):
            k, v, grid = group(x, feat_size, heads)
            qg = q[:, i * heads:(i + 1) * heads]
            le = group.local_conv(v.transpose(1, 2).reshape(B, grid[0], grid[1], -1).permute(0, 3, 1, 2))
            le = le.flatten(2).view(B, heads, -1, le.shape[2] * le.shape[3]).transpose(-1, -2)  # B, h_g, Nk, d
            ratio = 1 if group.aggregate is None else group.aggregate.sr.stride[0]
            probe = self.probe_for(feat_size, lambda g=grid, r=ratio: pooled_positions(feat_size, g, r, x.device),
                                   first_head=i * heads)
            drop = self.attn_drop if self.training else 0.0
            if self.single:  # LE on the output: attention(V) + LE(V), both on the full grid
                out = attend(qg, k, v, dropout_p=drop, probe=probe) + le
            else:  # LE on V before attention
                out = attend(qg, k, v + le, dropout_p=drop, probe=probe)
            outs.append(out.transpose(1, 2).reshape(B, N, -1))
        return self.proj(torch.cat(outs, dim=-1))
