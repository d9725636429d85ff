"""Windows: partition/reverse, the shifted-window mask (Swin §3.2's sub-windows) and masked window
attention checked against a brute-force dense computation on odd, padded sizes."""

from __future__ import annotations

import pytest
import torch

from vt_core.layers import (
    RelativePositionBias,
    WindowAttention,
    window_attention_mask,
    window_partition,
    window_reverse,
)
from vt_core.layers.windows import MASK_VALUE


# ----------------------------------------------------------------------------- references from the paper's words
# Swin (Liu et al., ICCV 2021) §3.2: the map is cut into non-overlapping M×M windows, read row by row;
# a shifted block first rolls the map by −s, and masks attention between tokens that come from
# different windows of the shifted partition ("sub-windows"), which the roll put into one window.
def _windows_by_loops(x: torch.Tensor, m: int) -> torch.Tensor:
    """(B, H, W, C) → (B·nW, m·m, C): for each image, window after window in row-major order, the
    window's tokens in row-major order — gathered one token at a time."""
    B, H, W, C = x.shape
    out = []
    for b in range(B):
        for wi in range(H // m):
            for wj in range(W // m):
                out.append(torch.stack([x[b, wi * m + i, wj * m + j] for i in range(m) for j in range(m)]))
    return torch.stack(out)


def _allowed_after_shift(H: int, W: int, m: int, s: int) -> torch.Tensor:
    """(nW, m², m²) booleans on an H×W map rolled by −s: token p may attend to token q of its window
    iff both came from the same window of the partition shifted by s, i.e. their original rows
    (and columns) fall in the same band ⌊(y − s) / M⌋, without wrapping around."""
    def band(canvas: int, size: int) -> int:
        original = (canvas + s) % size  # where the roll by −s brought this canvas row (column) from
        return (original - s) // m if original >= s else -1  # rows above s: the partial first window

    nW = (H // m) * (W // m)
    allowed = torch.zeros(nW, m * m, m * m, dtype=torch.bool)
    for k in range(nW):
        wi, wj = divmod(k, W // m)
        cells = [(wi * m + i, wj * m + j) for i in range(m) for j in range(m)]
        for a, (ya, xa) in enumerate(cells):
            for c, (yc, xc) in enumerate(cells):
                allowed[k, a, c] = band(ya, H) == band(yc, H) and band(xa, W) == band(xc, W)
    return allowed


# ----------------------------------------------------------------------------- partition / reverse
@pytest.mark.parametrize("H,W,m", [(8, 8, 4), (12, 8, 4), (14, 21, 7), (6, 6, 1), (6, 6, 6)])
def test_partition_reverse_round_trip(H, W, m):
    x = torch.randn(2, H, W, 5)
    windows = window_partition(x, m)
    assert windows.shape == (2 * (H // m) * (W // m), m * m, 5)
    assert torch.equal(window_reverse(windows, m, H, W), x)
    # the same windows, in the same order, as gathered token by token
    assert torch.equal(windows, _windows_by_loops(x, m))


def test_partition_contents():
    H, W, m = 8, 12, 4
    x = torch.arange(H * W).view(1, H, W, 1)
    windows = window_partition(x, m).squeeze(-1)
    nw = W // m
    for k in range(windows.shape[0]):
        wi, wj = divmod(k, nw)
        expect = x[0, wi * m:(wi + 1) * m, wj * m:(wj + 1) * m, 0].reshape(-1)
        assert torch.equal(windows[k], expect)


# ----------------------------------------------------------------------------- the shift mask
@pytest.mark.parametrize(
    "H,W,m,s",
    [(8, 8, 4, 2), (12, 8, 4, 2), (16, 12, 4, 1), (16, 16, 4, 3), (14, 14, 7, 3), (9, 9, 3, 1), (6, 6, 6, 3),
     (56, 56, 7, 3), (10, 20, 5, 2)],
)
def test_shift_mask_keeps_attention_within_sub_windows(H, W, m, s):
    mask = window_attention_mask(H, W, m, s)
    allowed = _allowed_after_shift(H, W, m, s)
    assert mask is not None and mask.shape == allowed.shape == ((H // m) * (W // m), m * m, m * m)
    assert torch.equal(mask == 0, allowed)
    assert set(mask.unique().tolist()) <= {0.0, MASK_VALUE}
    # every query keeps itself, and a mask is symmetric when nothing is padded
    assert bool((torch.diagonal(mask, dim1=1, dim2=2) == 0).all())
    assert torch.equal(mask, mask.transpose(1, 2))


def test_no_mask_without_shift_or_padding():
    assert window_attention_mask(8, 8, 4, 0) is None
    assert window_attention_mask(7, 7, 7, 0) is None


@pytest.mark.parametrize("H,W,m,s", [(9, 9, 4, 2), (10, 13, 4, 2), (7, 5, 3, 1), (9, 9, 4, 0), (3, 3, 4, 2)])
def test_padded_mask_is_the_sub_window_mask_on_the_padded_canvas_minus_padded_keys(H, W, m, s):
    """On a map padded to multiples of m: the sub-windows of the padded canvas, and no padded key."""
    Hp, Wp = -(-H // m) * m, -(-W // m) * m
    mask = window_attention_mask(H, W, m, s)
    allowed = torch.ones(Hp // m * (Wp // m), m * m, m * m, dtype=torch.bool)
    if s:
        allowed &= _allowed_after_shift(Hp, Wp, m, s)
    real = torch.zeros(1, Hp, Wp, 1)
    real[:, :H, :W] = 1
    real = torch.roll(real, shifts=(-s, -s), dims=(1, 2))
    real = _windows_by_loops(real, m).view(-1, m * m).bool()
    allowed &= real[:, None, :]
    assert torch.equal(mask == 0, allowed)


# ----------------------------------------------------------------------------- masked attention, brute force
def _brute_force(attn: WindowAttention, x: torch.Tensor, H: int, W: int, m: int, s: int) -> torch.Tensor:
    """Dense attention over all H·W tokens with an explicit allowed matrix.

    A key is allowed for a query when both lie in the same window of the shifted partition of the
    padded canvas (window boundaries at s, s+m, …, not wrapped around by the cyclic roll); every
    key here is a real token (no padding). The relative bias is looked up from the 2-D offset.
    """
    B, N, C = x.shape
    h = attn.num_heads
    q, k, v = attn.qkv(x).view(B, N, 3, h, C // h).permute(2, 0, 3, 1, 4)  # B, h, N, d
    rows = torch.arange(H).repeat_interleave(W)
    cols = torch.arange(W).repeat(H)
    win_r = torch.div(rows - s, m, rounding_mode="floor")
    win_c = torch.div(cols - s, m, rounding_mode="floor")
    allowed = (win_r[:, None] == win_r[None, :]) & (win_c[:, None] == win_c[None, :])  # N, N
    logits = torch.zeros(B, h, N, N)
    if attn.appearance:
        logits = logits + (q @ k.transpose(-1, -2)) * (C // h) ** -0.5
    if attn.rel_pos is not None:
        dr = rows[:, None] - rows[None, :] + m - 1
        dc = cols[:, None] - cols[None, :] + m - 1
        idx = (dr * (2 * m - 1) + dc).clamp(0, (2 * m - 1) ** 2 - 1)  # only read where allowed
        table = attn.rel_pos.relative_position_bias_table  # (2m−1)², h
        logits = logits + table[idx].permute(2, 0, 1)
    logits = logits.masked_fill(~allowed, float("-inf"))
    out = logits.softmax(-1) @ v  # B, h, N, d
    return attn.proj(out.transpose(1, 2).reshape(B, N, C))


CASES = [
    # H, W, window, shift: odd and non-divisible sizes first
    (9, 9, 4, 2),
    (10, 13, 4, 2),
    (7, 11, 3, 1),
    (11, 7, 5, 2),
    (9, 9, 4, 0),
    (10, 13, 4, 0),
    (8, 8, 4, 2),
    (3, 3, 4, 2),  # window larger than the map, used as is: padded and masked
]


@pytest.mark.parametrize("H,W,m,s", CASES)
@pytest.mark.parametrize("rel", [False, True], ids=["no_rel", "rel"])
def test_window_attention_matches_brute_force(H, W, m, s, rel):
    torch.manual_seed(H * 100 + W * 10 + m + s)
    dim, heads = 16, 2
    attn = WindowAttention(dim, num_heads=heads, feat_size=(H, W), window_size=m, shift_size=s,
                           rel_pos=RelativePositionBias if rel else None).eval()
    if rel:
        with torch.no_grad():  # a bias that matters
            attn.rel_pos.relative_position_bias_table.normal_(std=1.0)
    x = torch.randn(2, H * W, dim)
    out = attn(x, (H, W))
    ref = _brute_force(attn, x, H, W, m, s)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("H,W,m,s", [(9, 9, 4, 2), (10, 13, 4, 2)])
def test_window_attention_without_appearance_matches_brute_force(H, W, m, s):
    torch.manual_seed(0)
    attn = WindowAttention(16, num_heads=2, feat_size=(H, W), window_size=m, shift_size=s, rel_pos=RelativePositionBias,
                           appearance=False)
    with torch.no_grad():
        attn.rel_pos.relative_position_bias_table.normal_(std=1.0)
    x = torch.randn(2, H * W, 16)
    torch.testing.assert_close(attn(x, (H, W)), _brute_force(attn, x, H, W, m, s), atol=1e-5, rtol=1e-4)


def test_window_attention_at_another_size_rebuilds_the_mask():
    """Built for 8×8, run on 10×13: the mask is computed for the new size and still exact."""
    torch.manual_seed(1)
    attn = WindowAttention(16, num_heads=2, feat_size=(8, 8), window_size=4, shift_size=2, rel_pos=RelativePositionBias)
    x = torch.randn(1, 10 * 13, 16)
    torch.testing.assert_close(attn(x, (10, 13)), _brute_force(attn, x, 10, 13, 4, 2), atol=1e-5, rtol=1e-4)
    attn.set_feat_size((10, 13), (4, 2))
    torch.testing.assert_close(attn(x, (10, 13)), _brute_force(attn, x, 10, 13, 4, 2), atol=1e-5, rtol=1e-4)


def test_padded_tokens_do_not_leak():
    """Changing a token changes only the outputs of the tokens allowed to see it."""
    H, W, m, s = 9, 9, 4, 2
    torch.manual_seed(2)
    attn = WindowAttention(16, num_heads=2, feat_size=(H, W), window_size=m, shift_size=s,
                           rel_pos=RelativePositionBias).eval()
    x = torch.randn(1, H * W, 16)
    base = attn(x, (H, W))
    for r, c in [(0, 0), (8, 8), (1, 7), (5, 2)]:
        y = x.clone()
        y[0, r * W + c] += 10.0
        changed = (attn(y, (H, W)) - base).abs().amax(-1)[0].view(H, W) > 1e-6
        rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        same = (torch.div(rows - s, m, rounding_mode="floor") == (r - s) // m) & (
            torch.div(cols - s, m, rounding_mode="floor") == (c - s) // m
        )
        assert torch.equal(changed, same), (r, c)
