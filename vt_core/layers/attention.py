"""Global multi-head self-attention (ViT's MSA), optionally with a relative position bias."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .position import RelativePositionBias


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    appearance: bool = True,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Fused scaled dot-product attention; q (…, N, d), k/v (…, Nk, d), bias broadcast to (…, N, Nk).

    SDPA's fused kernels (flash / memory-efficient, the CPU flash kernel) need 4-D q, k, v; other
    ranks run its unfused math path, so callers fold extra leading dims into the batch.

    ``appearance=False`` zeroes q, so the logits are the bias alone (Swin's "rel. pos. w/o app.").
    """
    if not appearance:
        q = torch.zeros_like(q)
    if bias is not None and bias.dim() < q.dim():
        # the fused kernels take a mask only with q's rank (a 3-D bias would send SDPA to its math path)
        bias = bias.view((1,) * (q.dim() - bias.dim()) + bias.shape)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout_p)


class Attention(nn.Module):
    """MSA over all tokens; with ``rel_pos`` a bias table over the whole token grid (prefix tokens get 0)."""

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        feat_size: tuple[int, int],
        qkv_bias: bool = True,
        rel_pos: bool = False,
        appearance: bool = True,
        attn_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.appearance = appearance
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos = RelativePositionBias(grid=feat_size, num_heads=num_heads) if rel_pos else None

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
        x = attend(q, k, v, bias, appearance=self.appearance, dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))

    def set_feat_size(self, feat_size: tuple[int, int]) -> None:
        if self.rel_pos is not None:
            self.rel_pos.set_grid(feat_size)
