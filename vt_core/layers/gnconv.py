"""Recursive gated convolution gnConv (HorNet, Rao et al., NeurIPS 2022, §3.1): order-n spatial
interactions without attention."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .global_filter import GlobalLocalFilter
from .mixer import TokenMixer

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class GnConv(TokenMixer):
    """proj_in → split into p0 and a spatially filtered stack q0..q(n−1); p(k+1) = pw_k(p_k) · q_k; proj_out.

    The spatial filter of the stack is a 7×7 depthwise conv (``spatial="dw7"``, HorNet 7×7) or the
    global-local filter (``spatial="gf"``, HorNet GF), whose Fourier filter is sized for ``feat_size``.
    """

    def __init__(self, dim: int, *, order: int = 3, scale: float = 1.0 / 3.0, spatial: str = "dw7",
                 feat_size: tuple[int, int] = (14, 14), norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.order = order
        self.scale = scale
        self.dims = [dim // 2**i for i in range(order)][::-1]  # C/2^(n−1), …, C/2, C
        channels = sum(self.dims)
        self.proj_in = nn.Conv2d(dim, 2 * dim, kernel_size=1)
        if spatial == "dw7":
            self.dwconv: nn.Module = nn.Conv2d(channels, channels, kernel_size=7, padding=3, groups=channels)
        elif spatial == "gf":
            self.dwconv = GlobalLocalFilter(channels, feat_size=feat_size, eps=norm_eps)
        else:
            raise ValueError(f"GnConv: spatial filter {spatial!r} is not 'dw7' or 'gf'")
        self.pws = nn.ModuleList(nn.Conv2d(self.dims[i], self.dims[i + 1], kernel_size=1) for i in range(order - 1))
        self.proj_out = nn.Conv2d(dim, dim, kernel_size=1)

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "GnConv":
        return cls(spec.dim, order=spec.gn_order, scale=spec.gn_scale, spatial=spec.gn_filter,
                   feat_size=spec.feat_size, norm_eps=spec.norm_eps)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        x = x.transpose(1, 2).reshape(B, C, *feat_size)  # B, C, H, W
        p, abc = torch.split(self.proj_in(x), (self.dims[0], sum(self.dims)), dim=1)
        gates = torch.split(self.dwconv(abc) * self.scale, self.dims, dim=1)
        p = p * gates[0]
        for pw, gate in zip(self.pws, gates[1:]):
            p = pw(p) * gate
        return self.proj_out(p).flatten(2).transpose(1, 2)  # B, N, C

    def set_feat_size(self, feat_size: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """The global-local filter's Fourier filter is resized to the new map's spectrum (bilinear)."""
        if isinstance(self.dwconv, GlobalLocalFilter):
            self.dwconv.set_feat_size(feat_size)
