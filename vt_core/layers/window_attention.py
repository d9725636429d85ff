"""Window multi-head self-attention (W-MSA) and its shifted form (SW-MSA), Swin §3.2."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend
from .position import RelativePositionBias
from .windows import window_attention_mask, window_partition, window_reverse


class WindowAttention(nn.Module):
    """Self-attention inside non-overlapping m×m windows, the map cyclically shifted by ``shift_size``.

    A map not divisible by m is padded on the bottom/right; padded keys and tokens that the roll
    brought from the opposite border are masked out. The mask is built once for ``feat_size``.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        feat_size: tuple[int, int],
        window_size: int,
        shift_size: int = 0,
        qkv_bias: bool = True,
        rel_pos: bool = True,
        appearance: bool = True,
        attn_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.window_size = window_size
        self.shift_size = shift_size
        self.appearance = appearance
        self.attn_drop = attn_drop
        self.feat_size = tuple(feat_size)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos = RelativePositionBias(grid=(window_size, window_size), num_heads=num_heads) if rel_pos else None
        self.register_buffer("attn_mask", window_attention_mask(*self.feat_size, window_size, shift_size), persistent=False)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        H, W = feat_size
        m, s = self.window_size, self.shift_size
        x = x.view(B, H, W, C)
        pad_h, pad_w = (-H) % m, (-W) % m
        if pad_h or pad_w:
            x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        Hp, Wp = H + pad_h, W + pad_w
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
        windows = window_partition(x, m)  # B·nW, m², C
        nW, L = (Hp // m) * (Wp // m), m * m
        q, k, v = self.qkv(windows).view(B, nW, L, 3, self.num_heads, -1).permute(3, 0, 1, 4, 2, 5).unbind(0)
        # q, k, v: B, nW, h, m², d — the window axis stays separate so the mask broadcasts over B
        mask = self.attn_mask if tuple(feat_size) == self.feat_size else window_attention_mask(H, W, m, s, x.device)
        bias = None
        if self.rel_pos is not None:
            bias = self.rel_pos()  # h, m², m²
        if mask is not None:
            mask = mask.unsqueeze(1)  # nW, 1, m², m²
            bias = mask if bias is None else bias + mask
        if bias is not None:
            bias = bias.to(q.dtype)
        out = attend(q, k, v, bias, appearance=self.appearance, dropout_p=self.attn_drop if self.training else 0.0)
        out = self.proj(out.transpose(2, 3).reshape(B * nW, L, C))
        x = window_reverse(out, m, Hp, Wp)
        if s:
            x = torch.roll(x, shifts=(s, s), dims=(1, 2))
        if pad_h or pad_w:
            x = x[:, :H, :W]
        return x.reshape(B, N, C)

    def set_feat_size(self, feat_size: tuple[int, int], window_size: int, shift_size: int) -> None:
        """Rebuild the mask for another map size; a new window resizes the bias table (bicubic)."""
        self.feat_size = tuple(feat_size)
        if window_size != self.window_size and self.rel_pos is not None:
            self.rel_pos.set_grid((window_size, window_size))
        self.window_size, self.shift_size = window_size, shift_size
        device = self.qkv.weight.device
        self.attn_mask = window_attention_mask(*self.feat_size, window_size, shift_size, device)
