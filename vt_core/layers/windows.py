"""Window partition and the shifted-window attention mask (Swin), padding-aware."""

from __future__ import annotations

import torch

# Additive logit for a forbidden pair. The official Swin code and timm add −100, which leaves a
# forbidden key a weight of e^−100 ≈ 4e−44 of an allowed one (a denormal in fp32), and less than that
# protection when a relative bias or large logits move the allowed scores down. −1e4 makes the weight
# exactly 0 after softmax's max subtraction in fp32, bf16 and fp16 alike and still fits fp16 (max
# 65504); the outputs agree with timm's −100 within fp32 rounding (tests/test_timm_parity.py).
MASK_VALUE = -1.0e4


def window_partition(x: torch.Tensor, m: int) -> torch.Tensor:
    """(B, H, W, C) with H, W multiples of m → (B·nW, m·m, C), windows in row-major order."""
    B, H, W, C = x.shape
    x = x.view(B, H // m, m, W // m, m, C).transpose(2, 3)  # B, H/m, W/m, m, m, C
    return x.reshape(B * (H // m) * (W // m), m * m, C)


def window_reverse(windows: torch.Tensor, m: int, H: int, W: int) -> torch.Tensor:
    """Inverse of ``window_partition``: (B·nW, m·m, C) → (B, H, W, C)."""
    C = windows.shape[-1]
    x = windows.view(-1, H // m, W // m, m, m, C).transpose(2, 3)  # B, H/m, m, W/m, m, C
    return x.reshape(-1, H, W, C)


def shifted_window_index(hp: int, wp: int, m: int, s: int, device: torch.device | None = None) -> torch.Tensor:
    """For the hp×wp canvas rolled by −s and cut into m×m windows: the flat canvas position of every
    window token, in ``window_partition`` order (hp·wp,). Roll and partition become one gather."""
    canvas = torch.arange(hp * wp, device=device).view(1, hp, wp, 1)
    return window_partition(torch.roll(canvas, shifts=(-s, -s), dims=(1, 2)), m).reshape(-1)


class _PermuteRows(torch.autograd.Function):
    """``x.index_select(1, index)`` for a permutation ``index`` whose inverse is ``inverse``: the
    backward is the inverse gather, not index_select's zero-filled scatter-add (atomics on GPUs)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return x.index_select(1, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(1, inverse), None, None


def permute_rows(x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """(B, N, C) → (B, N, C) with row n taken from row ``index[n]``; one copy forward and backward."""
    return _PermuteRows.apply(x, index, inverse)


def shift_regions(hp: int, wp: int, m: int, s: int, device: torch.device | None = None) -> torch.Tensor:
    """Label each position of the shifted hp×wp canvas with its region, 0–8: the 3×3 bands (rows and
    columns before the last window, in it before the shift, the last s) whose tokens the cyclic roll
    brought together although they were not neighbours (Swin §3.2, "efficient batch computation")."""
    labels = torch.zeros(hp, wp, dtype=torch.long, device=device)
    if s == 0:
        return labels
    slices = (slice(0, -m), slice(-m, -s), slice(-s, None))
    region = 0
    for hs in slices:
        for ws in slices:
            labels[hs, ws] = region
            region += 1
    return labels


def window_attention_mask(
    h: int, w: int, m: int, s: int, device: torch.device | None = None
) -> torch.Tensor | None:
    """Additive mask (nW, m², m²) for window attention on an h×w map padded to multiples of m and
    rolled by −s: a query may attend to a key of its own region that is not padding.

    None when nothing needs masking (no shift, no padding).
    """
    hp, wp = -(-h // m) * m, -(-w // m) * m
    if s == 0 and (hp, wp) == (h, w):
        return None
    labels = shift_regions(hp, wp, m, s, device)
    real = torch.zeros(hp, wp, dtype=torch.bool, device=device)
    real[:h, :w] = True
    if s:
        real = torch.roll(real, shifts=(-s, -s), dims=(0, 1))  # follow the tokens
    labels = window_partition(labels.view(1, hp, wp, 1), m).squeeze(-1)  # nW, m²
    real = window_partition(real.view(1, hp, wp, 1), m).squeeze(-1)  # nW, m²
    allowed = (labels[:, :, None] == labels[:, None, :]) & real[:, None, :]
    return torch.zeros(allowed.shape, device=device).masked_fill_(~allowed, MASK_VALUE)
