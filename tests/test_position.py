"""Position: the relative index of Swin eq. 4, bias tables and their bicubic resizing, absolute
embedding resampling, and models run at a resolution / window other than the one they were built for."""

from __future__ import annotations

import pytest
import torch

from vt_core import create_model
from vt_core.layers import Attention, RelativePositionBias, WindowAttention, relative_position_index
from vt_core.layers.position import AbsolutePositionEmbedding, resample_abs_pos, resize_bias_table


def _index_by_loops(h: int, w: int) -> torch.Tensor:
    """Swin (Liu et al., ICCV 2021) eq. 4: the bias of query (yq, xq) and key (yk, xk) is entry
    (yq − yk + h − 1, xq − xk + w − 1) of a (2h−1)×(2w−1) table, read row-major — pair by pair."""
    n = h * w
    index = torch.empty(n, n, dtype=torch.long)
    for q in range(n):
        for k in range(n):
            (yq, xq), (yk, xk) = divmod(q, w), divmod(k, w)
            index[q, k] = (yq - yk + h - 1) * (2 * w - 1) + (xq - xk + w - 1)
    return index


# ----------------------------------------------------------------------------- the index
@pytest.mark.parametrize("h,w", [(1, 1), (2, 2), (4, 4), (7, 7), (3, 5), (6, 2)])
def test_relative_position_index_is_swin_eq4(h, w):
    assert torch.equal(relative_position_index(h, w), _index_by_loops(h, w))


@pytest.mark.parametrize("m", [1, 2, 3, 4, 7])
def test_relative_position_index_range_and_symmetry(m):
    idx = relative_position_index(m, m)
    n, size = m * m, (2 * m - 1) ** 2
    assert idx.shape == (n, n)
    assert int(idx.min()) == 0 and int(idx.max()) == size - 1
    assert idx.unique().numel() == size  # every table entry is used
    center = (size - 1) // 2  # offset (0, 0)
    assert bool((idx.diagonal() == center).all())
    # offset (i − j) and (j − i) sit mirrored about the centre of the table
    assert torch.equal(idx + idx.T, torch.full_like(idx, 2 * center))
    # an index depends on the 2-D offset only
    rows, cols = torch.arange(m).repeat_interleave(m), torch.arange(m).repeat(m)
    dr = rows[:, None] - rows[None, :]
    dc = cols[:, None] - cols[None, :]
    assert torch.equal(idx, (dr + m - 1) * (2 * m - 1) + (dc + m - 1))


# ----------------------------------------------------------------------------- tables
@pytest.mark.parametrize("m,heads", [(4, 2), (7, 3)])
def test_relative_position_bias_table_and_lookup(m, heads):
    rpb = RelativePositionBias(grid=(m, m), num_heads=heads)
    table = rpb.relative_position_bias_table
    assert table.shape == ((2 * m - 1) ** 2, heads)
    bias = rpb()
    assert bias.shape == (heads, m * m, m * m)
    idx = relative_position_index(m, m)
    assert torch.equal(bias, table[idx].permute(2, 0, 1))


@pytest.mark.parametrize("old,new", [((4, 4), (6, 6)), ((7, 7), (4, 4)), ((8, 8), (12, 12)), ((3, 5), (5, 3))])
def test_bicubic_resize_keeps_shapes_and_centre(old, new):
    heads = 3
    table = torch.randn((2 * old[0] - 1) * (2 * old[1] - 1), heads)
    out = resize_bias_table(table, old, new)
    assert out.shape == ((2 * new[0] - 1) * (2 * new[1] - 1), heads)
    # the zero offset maps exactly onto the zero offset (odd sizes, align_corners=False): its value survives
    c_old = ((2 * old[0] - 1) * (2 * old[1] - 1) - 1) // 2
    c_new = ((2 * new[0] - 1) * (2 * new[1] - 1) - 1) // 2
    torch.testing.assert_close(out[c_new], table[c_old])
    # a constant table stays constant
    const = torch.full_like(table, 0.25)
    torch.testing.assert_close(resize_bias_table(const, old, new), torch.full_like(out, 0.25))
    assert resize_bias_table(table, old, old) is table


def test_bias_at_another_grid_uses_the_resized_table():
    rpb = RelativePositionBias(grid=(4, 4), num_heads=2)
    bias = rpb((6, 5))
    assert bias.shape == (2, 30, 30)
    table = resize_bias_table(rpb.relative_position_bias_table, (4, 4), (6, 5))
    assert torch.equal(bias, table[relative_position_index(6, 5)].permute(2, 0, 1))
    rpb.set_feat_size((6, 5))
    assert rpb.relative_position_bias_table.shape == (11 * 9, 2)
    assert torch.equal(rpb(), bias)


# ----------------------------------------------------------------------------- absolute embeddings
@pytest.mark.parametrize("prefix", [0, 1])
def test_abs_embedding_resampling(prefix):
    emb = AbsolutePositionEmbedding(dim=8, grid=(4, 4), num_prefix_tokens=prefix)
    pos = emb.pos_embed
    out = resample_abs_pos(pos, (4, 4), (6, 3), prefix)
    assert out.shape == (1, prefix + 18, 8)
    assert torch.equal(out[:, :prefix], pos[:, :prefix])  # the class token's embedding is kept
    assert resample_abs_pos(pos, (4, 4), (4, 4), prefix) is pos
    const = torch.ones(1, prefix + 16, 8)
    torch.testing.assert_close(resample_abs_pos(const, (4, 4), (7, 7), prefix), torch.ones(1, prefix + 49, 8))
    x = torch.zeros(2, prefix + 18, 8)
    torch.testing.assert_close(emb(x, (6, 3)), out.expand(2, -1, -1))
    emb.set_feat_size((6, 3))
    assert emb.pos_embed.shape == (1, prefix + 18, 8) and emb.grid == (6, 3)
    torch.testing.assert_close(emb(x, (6, 3)), out.expand(2, -1, -1))


# ----------------------------------------------------------------------------- models at other resolutions
POSITIONS = ["none", "abs", "rel", "abs+rel"]
FAMILIES = {
    # ViT-like: global attention with a class token; Swin-like: shifted windows on a hierarchy
    "vit": ("vit_cpu", {}),
    "vit_mean": ("vit_cpu", {"pool": "mean"}),
    "swin": ("swin_cpu", {}),
}


def _model(family: str, pos: str, **extra):
    name, over = FAMILIES[family]
    torch.manual_seed(0)
    model = create_model(name, pos=pos, **over, **extra).eval()
    with torch.no_grad():  # position parameters large enough to matter
        for n, p in model.named_parameters():
            if "relative_position_bias_table" in n or "pos_embed" in n:
                p.normal_(std=0.5)
    return model


@pytest.mark.parametrize("pos", POSITIONS)
@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("size", [48, 40, 24])
def test_model_at_another_resolution(family, pos, size):
    """Built for 32×32, run at ``size``: by a plain forward (embeddings and tables resampled on the
    fly, masks for the new maps) and after ``set_input_size`` (the same, done once)."""
    model = _model(family, pos)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        y = model(x)
        assert y.shape == (2, 10) and torch.isfinite(y).all()
        model.set_input_size(img_size=size)
        assert model.cfg.img_size == size
        y2 = model(x)
    assert torch.isfinite(y2).all()
    cfg = model.cfg
    clamped = any(mix == "window" and m != ws
                  for mix, (m, _), ws in zip(cfg.mixer, cfg.stage_windows(), cfg.window_size))
    if not clamped:  # same computation, done once instead of per call
        torch.testing.assert_close(y2, y, atol=1e-5, rtol=1e-4)
    # the position parameters now have the new grid's shapes
    grid = model.cfg.stage_grids()[0]
    if "abs" in pos:
        assert model.pos_embed.pos_embed.shape[1] == model.num_prefix_tokens + grid[0] * grid[1]
    if "rel" in pos and family.startswith("vit"):
        table = model.stages[0].blocks[0].attn.rel_pos.relative_position_bias_table
        assert table.shape[0] == (2 * grid[0] - 1) * (2 * grid[1] - 1)
    # and it still trains
    model.train()
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("pos", POSITIONS)
@pytest.mark.parametrize("family", ["vit", "swin"])
def test_img_size_override_builds_for_that_size(family, pos):
    name, over = FAMILIES[family]
    model = create_model(name, pos=pos, img_size=48, **over)
    y = model(torch.randn(1, 3, 48, 48))
    assert y.shape == (1, 10)
    if "abs" in pos:
        assert model.pos_embed.pos_embed.shape[1] == model.num_prefix_tokens + 12 * 12 * (4 if family == "swin" else 1)


def test_relative_bias_model_is_not_translation_blind():
    """The relative table matters: zeroing it changes the logits (guards against a bias that is built but unused)."""
    for family in ("vit", "swin"):
        model = _model(family, "rel")
        x = torch.randn(1, 3, 32, 32)
        with torch.no_grad():
            y = model(x)
            for n, p in model.named_parameters():
                if "relative_position_bias_table" in n:
                    p.zero_()
            assert not torch.allclose(model(x), y)


def _window_attns(model) -> list[tuple[int, int, WindowAttention]]:
    return [(i, j, b.attn) for i, s in enumerate(model.stages) for j, b in enumerate(s.blocks)
            if isinstance(b.attn, WindowAttention)]


@pytest.mark.parametrize("pos", ["rel", "abs+rel", "none"])
@pytest.mark.parametrize("window", [2, 8, (2, 4), 16, 3])
def test_window_change_resizes_tables(pos, window):
    model = _model("swin", pos)
    model.set_input_size(window_size=window)
    windows = model.cfg.stage_windows()
    grids = model.cfg.stage_grids()
    for i, j, attn in _window_attns(model):
        m, shift = windows[i]
        assert attn.window_size == m and attn.shift_size == (shift if j % 2 else 0)
        assert m <= max(grids[i])  # a window larger than its map is clamped, shift off
        if m == max(grids[i]):
            assert attn.shift_size == 0
        if "rel" in pos:
            assert attn.rel_pos.relative_position_bias_table.shape == ((2 * m - 1) ** 2, attn.num_heads)
            assert attn.rel_pos.relative_position_index.shape == (m * m, m * m)
        else:
            assert attn.rel_pos is None
    x = torch.randn(2, 3, 32, 32)
    y = model(x)
    assert y.shape == (2, 10) and torch.isfinite(y).all()
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_window_change_keeps_zero_offset_bias():
    model = _model("swin", "rel")
    before = [a.rel_pos.relative_position_bias_table.detach().clone() for _, _, a in _window_attns(model)]
    model.set_input_size(window_size=6)
    for b, (_, _, a) in zip(before, _window_attns(model)):
        after = a.rel_pos.relative_position_bias_table
        assert after.shape == (11 * 11, a.num_heads)
        torch.testing.assert_close(after[(11 * 11 - 1) // 2], b[(7 * 7 - 1) // 2])


def test_global_rel_table_covers_the_token_grid():
    model = create_model("vit_cpu", pos="rel")
    attn = model.stages[0].blocks[0].attn
    assert isinstance(attn, Attention)
    assert attn.rel_pos.relative_position_bias_table.shape == (15 * 15, 3)
