"""Window multi-head self-attention (W-MSA) and its shifted form (SW-MSA), Swin §3.2."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend
from .mixer import TokenMixer, grid_positions
from .windows import permute_rows, shifted_window_index, window_attention_mask, window_partition, window_reverse

if TYPE_CHECKING:
    from ..kinds import BlockSpec


class WindowAttention(TokenMixer):
    """Self-attention inside non-overlapping m×m windows, the map cyclically shifted by ``shift_size``.

    A map not divisible by m is padded on the bottom/right; padded keys and tokens that the roll
    brought from the opposite border are masked out. The mask, and for a shift the gather that rolls
    and partitions in one copy, are built once for ``feat_size`` (and once for any other size met).
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
        rel_pos: Callable[..., nn.Module] | None = None,
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
        self.rel_pos = rel_pos(grid=(window_size, window_size), num_heads=num_heads) if rel_pos is not None else None
        self._register_layout()

    @classmethod
    def from_spec(cls, spec: "BlockSpec") -> "WindowAttention":
        return cls(spec.dim, num_heads=spec.num_heads, feat_size=spec.feat_size, window_size=spec.window_size,
                   shift_size=spec.shift_size, qkv_bias=spec.qkv_bias, rel_pos=spec.relative_bias,
                   appearance=spec.appearance)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        H, W = feat_size
        m, s = self.window_size, self.shift_size
        pad_h, pad_w = (-H) % m, (-W) % m
        Hp, Wp = H + pad_h, W + pad_w
        mask, index, inverse = self._layout(feat_size, x.device)
        x = x.view(B, H, W, C)
        if pad_h or pad_w:
            x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        if s:  # roll by −s and partition in one gather (torch.roll alone copies once per axis)
            windows = permute_rows(x.reshape(B, Hp * Wp, C), index, inverse).view(-1, m * m, C)
        else:
            windows = window_partition(x, m)  # B·nW, m², C
        nW, L = (Hp // m) * (Wp // m), m * m
        q, k, v = self.qkv(windows).view(B * nW, L, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        # q, k, v: B·nW, h, m², d — 4-D views of the projection, what SDPA's fused kernels take
        bias = self.rel_pos() if self.rel_pos is not None else None  # h, m², m²: gathered once per forward
        if mask is not None:
            mask = mask.unsqueeze(1)  # nW, 1, m², m²
            bias = mask if bias is None else bias + mask
            # one mask per window and head: repeated over the batch, since a fused kernel's mask
            # cannot broadcast over B inside the merged B·nW axis
            bias = bias.expand(B, *bias.shape).reshape(B * nW, bias.shape[1], L, L)
        if bias is not None:
            bias = bias.to(q.dtype)
        probe = self.probe_for(feat_size, lambda: self._window_positions(feat_size, index, x.device))
        out = attend(q, k, v, bias, appearance=self.appearance, dropout_p=self.attn_drop if self.training else 0.0,
                     probe=probe)
        out = self.proj(out.transpose(1, 2).reshape(B * nW, L, C))
        if s:  # un-partition and roll back by +s: the inverse gather
            x = permute_rows(out.view(B, Hp * Wp, C), inverse, index).view(B, Hp, Wp, C)
        else:
            x = window_reverse(out, m, Hp, Wp)
        if pad_h or pad_w:
            x = x[:, :H, :W]
        return x.reshape(B, N, C)

    def _window_positions(self, feat_size: tuple[int, int], index: torch.Tensor | None,
                          device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Each window token's place on the map (nW, m², 2), in the order ``forward`` partitions
        (rolled for a shift); NaN for padding. Queries and keys are the same tokens."""
        m = self.window_size
        H, W = feat_size
        hp, wp = -(-H // m) * m, -(-W // m) * m
        pos = grid_positions(hp, wp, device=device).view(hp, wp, 2)
        pos[H:], pos[:, W:] = float("nan"), float("nan")
        if index is not None:
            pos = pos.view(hp * wp, 2)[index].view(-1, m * m, 2)
        else:
            pos = window_partition(pos.view(1, hp, wp, 2), m)
        return pos, pos

    def _layout(self, feat_size: tuple[int, int], device: torch.device) -> tuple[torch.Tensor | None, ...]:
        """(mask, window index, its inverse) for a map size: the built size's buffers, or, for another
        size, built once per size and device (eager; under torch.compile the construction is traced
        into the graph instead of a cache lookup)."""
        feat_size = tuple(feat_size)
        if feat_size == self.feat_size:
            return self.attn_mask, self.window_index, self.window_inverse
        if torch.compiler.is_compiling():
            return _build_layout(feat_size, self.window_size, self.shift_size, device)
        key = (feat_size, self.window_size, self.shift_size, device)
        if key not in self._other_layouts:
            self._other_layouts[key] = _build_layout(feat_size, self.window_size, self.shift_size, device)
        return self._other_layouts[key]

    def _register_layout(self, device: torch.device | None = None) -> None:
        mask, index, inverse = _build_layout(self.feat_size, self.window_size, self.shift_size, device)
        self.register_buffer("attn_mask", mask, persistent=False)
        self.register_buffer("window_index", index, persistent=False)
        self.register_buffer("window_inverse", inverse, persistent=False)
        self._other_layouts: dict[tuple, tuple[torch.Tensor | None, ...]] = {}

    def set_feat_size(self, feat_size: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """Rebuild the mask for another map size; a new window (M, shift) resizes the bias table (bicubic)."""
        window_size, shift_size = window if window is not None else (self.window_size, self.shift_size)
        self.feat_size = tuple(feat_size)
        if window_size != self.window_size and self.rel_pos is not None:
            self.rel_pos.set_feat_size((window_size, window_size))
        self.window_size, self.shift_size = window_size, shift_size
        self._register_layout(self.qkv.weight.device)


def _build_layout(feat_size: tuple[int, int], m: int, s: int, device: torch.device | None):
    """The shift mask (None without shift or padding) and, for a shift, the window gather and its inverse."""
    mask = window_attention_mask(*feat_size, m, s, device)
    if not s:
        return mask, None, None
    hp, wp = -(-feat_size[0] // m) * m, -(-feat_size[1] // m) * m
    index = shifted_window_index(hp, wp, m, s, device)
    return mask, index, torch.argsort(index)
