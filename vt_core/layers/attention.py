"""Global multi-head self-attention (ViT's MSA), optionally with a relative position bias."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .mixer import TokenMixer, grid_positions

if TYPE_CHECKING:
    from ..kinds import BlockSpec


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    appearance: bool = True,
    dropout_p: float = 0.0,
    probe: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Fused scaled dot-product attention; q (…, N, d), k/v (…, Nk, d), bias broadcast to (…, N, Nk).

    SDPA's fused kernels (flash / memory-efficient, the CPU flash kernel) need 4-D q, k, v; other
    ranks run its unfused math path, so callers fold extra leading dims into the batch.

    ``appearance=False`` zeroes q, so the logits are the bias alone (Swin's "rel. pos. w/o app.").
    ``probe`` (``TokenMixer.probe_for``, analysis only): the probabilities are formed explicitly
    (SDPA's own math, no dropout) and handed to it before they weight v.
    """
    if not appearance:
        q = torch.zeros_like(q)
    if probe is not None:
        logits = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
        probs = (logits if bias is None else logits + bias).softmax(dim=-1)
        probe(probs)
        return probs @ v
    if bias is not None and bias.dim() < q.dim():
        # the fused kernels take a mask only with q's rank (a 3-D bias would send SDPA to its math path)
        bias = bias.view((1,) * (q.dim() - bias.dim()) + bias.shape)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p)


class Attention(TokenMixer):
    """MSA over all tokens; with ``rel_pos`` (a relative-bias builder, e.g. ``RelativePositionBias``)
    a bias table over the whole token grid (prefix tokens get 0)."""

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        feat_size: tuple[int, int],
        qkv_bias: bool = True,
        rel_pos: Callable[..., nn.Module] | None = None,
        appearance: bool = True,
        attn_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.appearance = appearance
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos = rel_pos(grid=feat_size, num_heads=num_heads) if rel_pos is not None else None

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "Attention":
        return cls(spec.dim, num_heads=spec.num_heads, feat_size=spec.feat_size, qkv_bias=spec.qkv_bias,
                   rel_pos=spec.relative_bias, appearance=spec.appearance)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)  # B, h, N, d
        bias = None
        if self.rel_pos is not None:
            bias = self.rel_pos(feat_size)  # h, HW, HW
            prefix = N - bias.shape[-1]
            if prefix:
                bias = F.pad(bias, (prefix, 0, prefix, 0))
            bias = bias.to(q.dtype)
        probe = self.probe_for(feat_size, lambda: _with_prefix(grid_positions(*feat_size, device=x.device), N))
        x = attend(q, k, v, bias, appearance=self.appearance, dropout_p=self.attn_drop if self.training else 0.0,
                   probe=probe)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))

    def set_feat_size(self, feat_size: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        if self.rel_pos is not None:  # the table spans the whole token grid
            self.rel_pos.set_feat_size(feat_size)


def _with_prefix(pos: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid positions (HW, 2) preceded by NaN rows for the n − HW prefix tokens, as (q_pos, k_pos)."""
    pos = torch.cat([pos.new_full((n - pos.shape[0], 2), float("nan")), pos])[None]
    return pos, pos
