"""Feed-forward networks: the transformer MLP and its depthwise-conv variants (Shunted DS, PVT-v2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from timm.layers import register_notrace_module
from torch import nn

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class Mlp(nn.Module):
    """fc1 → GELU → fc2 (ViT, Swin)."""

    def __init__(self, dim: int, *, hidden_dim: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.drop = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_dim, dim)

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "Mlp":
        return cls(spec.dim, hidden_dim=spec.mlp_hidden)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class ConvMlp(nn.Module):
    """fc1 → depthwise 3×3 on the token grid → GELU → fc2.

    ``residual=True`` is Shunted's detail-specific FFN, GELU(h + DW(h)); ``residual=False`` is
    PVT-v2's GELU(DW(h)). One class, so the two ablation arms differ only in that switch.
    """

    def __init__(self, dim: int, *, hidden_dim: int, residual: bool, drop: float = 0.0) -> None:
        super().__init__()
        self.residual = residual
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.dwconv = nn.Conv2d(hidden_dim, hidden_dim, kernel_size=3, padding=1, groups=hidden_dim)
        self.act = nn.GELU()
        self.drop = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_dim, dim)

    @classmethod
    def from_spec(cls, spec: "BlockSpec", *, residual: bool) -> "ConvMlp":
        return cls(spec.dim, hidden_dim=spec.mlp_hidden, residual=residual)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        x = self.fc1(x)
        B, N, C = x.shape
        local = self.dwconv(x.transpose(1, 2).reshape(B, C, *feat_size)).flatten(2).transpose(1, 2)  # B, N, C
        x = self.act(x + local if self.residual else local)
        return self.drop(self.fc2(self.drop(x)))
