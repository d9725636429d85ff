"""Recursive gated convolution gnConv (HorNet, seed 002): order-n spatial interactions without attention."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .mixer import TokenMixer

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class GnConv(TokenMixer):
    """proj_in → split into p0 and a depthwise-7×7 stack q0..q(n−1); p(k+1) = pw_k(p_k) · q_k; proj_out."""

    def __init__(self, dim: int, *, order: int = 3, scale: float = 1.0 / 3.0) -> None:
        super().__init__()
        self.order = order
        self.scale = scale
        self.dims = [dim // 2**i for i in range(order)][::-1]  # C/2^(n−1), …, C/2, C
        self.proj_in = nn.Conv2d(dim, 2 * dim, kernel_size=1)
        self.dwconv = nn.Conv2d(sum(self.dims), sum(self.dims), kernel_size=7, padding=3, groups=sum(self.dims))
        self.pws = nn.ModuleList(nn.Conv2d(self.dims[i], self.dims[i + 1], kernel_size=1) for i in range(order - 1))
        self.proj_out = nn.Conv2d(dim, dim, kernel_size=1)

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "GnConv":
        return cls(spec.dim, order=spec.gn_order, scale=spec.gn_scale)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        x = x.transpose(1, 2).reshape(B, C, *feat_size)  # B, C, H, W
        p, abc = torch.split(self.proj_in(x), (self.dims[0], sum(self.dims)), dim=1)
        gates = torch.split(self.dwconv(abc) * self.scale, self.dims, dim=1)
        p = p * gates[0]
        for pw, gate in zip(self.pws, gates[1:]):
            p = pw(p) * gate
        return self.proj_out(p).flatten(2).transpose(1, 2)  # B, N, C
