"""Components: Shunted self-attention against the plain reference and its KV group splitting, the DS-FFN
residual, gnConv."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vt_core
from vt_core.layers import ConvMlp, GnConv, Mlp, ShuntedAttention
from vt_core.reference import ReferenceShuntedAttention, copy_attention_into_reference

# the Shunted models' layouts (T/S/B stages 1-4; shunted_cpu is (2, 1) then (1,)), then other layouts the
# kv_ratios grid builds: one aggregated group (PVT-like, with LE on V), coarser rates, three groups
PAPER_LAYOUTS = [(8, 4), (4, 2), (2, 1), (1,)]
OTHER_LAYOUTS = [(2,), (16, 8), (4, 2, 1)]


@pytest.mark.parametrize("ratios", PAPER_LAYOUTS + OTHER_LAYOUTS, ids=str)
@pytest.mark.parametrize("grid", [(16, 16), (19, 17)], ids=["16x16", "19x17"])
@pytest.mark.parametrize("qkv_bias", [True, False])
def test_shunted_attention_matches_reference(ratios, grid, qkv_bias):
    """Same output as the reference attention with our weights; an odd grid makes the strided
    aggregation floor (19×17 at rate 8 → 2×2)."""
    heads = 2 * len(ratios)
    dim = 16 * heads
    torch.manual_seed(sum(ratios) * 10 + grid[1])
    ours = ShuntedAttention(dim, num_heads=heads, ratios=ratios, qkv_bias=qkv_bias).eval()
    with torch.no_grad():
        for g in ours.groups:  # make the local enhancement count (its default init is small)
            g.local_conv.weight.normal_(std=0.3)
            g.local_conv.bias.normal_(std=0.3)
    ref = ReferenceShuntedAttention(dim, num_heads=heads, ratios=ratios, qkv_bias=qkv_bias).eval()
    copy_attention_into_reference(ours, ref)
    H, W = grid
    x = torch.randn(2, H * W, dim)
    with torch.no_grad():
        got, want = ours(x, grid), ref(x, H, W)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_reference_attention_tells_where_the_local_enhancement_goes():
    """The comparison above has teeth: in the single-scale layer, LE(V) added to V before attention
    instead of to the attention output differs by far more than its tolerance."""
    torch.manual_seed(0)
    ours = ShuntedAttention(32, num_heads=2, ratios=(1,)).eval()
    with torch.no_grad():
        ours.groups[0].local_conv.weight.normal_(std=0.3)
    ref = ReferenceShuntedAttention(32, num_heads=2, ratios=(1,)).eval()
    copy_attention_into_reference(ours, ref)
    ref.single_scale = False  # the multi-scale layers' rule, where it does not belong
    x = torch.randn(2, 64, 32)
    with torch.no_grad():
        assert (ours(x, (8, 8)) - ref(x, 8, 8)).abs().max() > 1e-2


@pytest.mark.parametrize(
    "ratios,heads,grid",
    [((2, 1), 2, (8, 8)), ((4, 2), 4, (8, 8)), ((8, 4), 4, (16, 16)), ((4, 2, 1), 6, (8, 8)), ((2, 1), 4, (9, 7)),
     ((1,), 4, (5, 5)), ((2,), 2, (8, 8))],
)
def test_kv_groups_split_heads_and_aggregate(ratios, heads, grid):
    dim = 12 * heads
    attn = ShuntedAttention(dim, num_heads=heads, ratios=ratios)
    n = len(ratios)
    assert len(attn.groups) == n
    seen: list[tuple[int, int, tuple[int, int]]] = []

    def hook(module, args, out):
        k, v, g = out
        assert k.shape == v.shape
        seen.append((k.shape[1], k.shape[2], g))

    for g in attn.groups:
        g.register_forward_hook(hook)
    H, W = grid
    y = attn(torch.randn(2, H * W, dim), grid)
    assert y.shape == (2, H * W, dim)
    single = ratios == (1,)
    for (group_heads, nk, g), r, module in zip(seen, ratios, attn.groups):
        assert group_heads == heads // n  # heads split evenly between the groups
        assert module.kv.out_features == 2 * dim // n
        expect = (H, W) if single else (H // r, W // r)  # strided conv k = s = r floors
        assert g == expect and nk == expect[0] * expect[1]
        assert (module.aggregate is None) == single
        if not single:
            assert module.aggregate.sr.kernel_size == (r, r) and module.aggregate.sr.stride == (r, r)
            assert isinstance(module.aggregate.act, nn.GELU)


def test_shunted_groups_see_their_own_queries():
    """Changing the second group's K/V weights changes only the second half of the heads' outputs."""
    torch.manual_seed(0)
    dim, heads = 32, 4
    attn = ShuntedAttention(dim, num_heads=heads, ratios=(2, 1))
    attn.proj = nn.Identity()
    x = torch.randn(1, 64, dim)
    y0 = attn(x, (8, 8))
    with torch.no_grad():
        attn.groups[1].kv.weight.add_(torch.randn_like(attn.groups[1].kv.weight))
    y1 = attn(x, (8, 8))
    torch.testing.assert_close(y1[..., : dim // 2], y0[..., : dim // 2])
    assert not torch.allclose(y1[..., dim // 2:], y0[..., dim // 2:])


# ----------------------------------------------------------------------------- FFNs
def _h_and_dw(ffn: ConvMlp, x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    h = ffn.fc1(x)
    B, N, C = h.shape
    dw = F.conv2d(h.transpose(1, 2).reshape(B, C, *grid), ffn.dwconv.weight, ffn.dwconv.bias, padding=1, groups=C)
    return h, dw.flatten(2).transpose(1, 2)


@pytest.mark.parametrize("grid", [(8, 8), (5, 7)])
def test_ds_ffn_is_gelu_of_h_plus_dw(grid):
    torch.manual_seed(0)
    ffn = ConvMlp(16, hidden_dim=32, residual=True)
    x = torch.randn(2, grid[0] * grid[1], 16)
    h, dw = _h_and_dw(ffn, x, grid)
    torch.testing.assert_close(ffn(x, grid), ffn.fc2(F.gelu(h + dw)))


@pytest.mark.parametrize("grid", [(8, 8), (5, 7)])
def test_dw_ffn_without_residual_is_gelu_of_dw(grid):
    torch.manual_seed(0)
    ffn = ConvMlp(16, hidden_dim=32, residual=False)
    x = torch.randn(2, grid[0] * grid[1], 16)
    h, dw = _h_and_dw(ffn, x, grid)
    torch.testing.assert_close(ffn(x, grid), ffn.fc2(F.gelu(dw)))


def test_ds_ffn_with_zero_dwconv_is_the_plain_mlp():
    torch.manual_seed(0)
    ds = ConvMlp(16, hidden_dim=32, residual=True)
    mlp = Mlp(16, hidden_dim=32)
    mlp.fc1.load_state_dict(ds.fc1.state_dict())
    mlp.fc2.load_state_dict(ds.fc2.state_dict())
    with torch.no_grad():
        ds.dwconv.weight.zero_()
        ds.dwconv.bias.zero_()
    x = torch.randn(2, 36, 16)
    torch.testing.assert_close(ds(x, (6, 6)), mlp(x, (6, 6)))
    # ... while the residual-free variant then sees nothing: GELU(0) → fc2's bias alone
    dw = ConvMlp(16, hidden_dim=32, residual=False)
    dw.load_state_dict(ds.state_dict())
    torch.testing.assert_close(dw(x, (6, 6)), ds.fc2.bias.expand(2, 36, 16))


def test_ffn_factory_kinds():
    from vt_core.factory import block_specs, build_ffn

    (spec, *_), *_ = block_specs(vt_core.get_preset("shunted_cpu"))
    assert type(build_ffn(spec, "mlp")) is Mlp
    assert build_ffn(spec, "ds").residual is True
    assert build_ffn(spec, "dw").residual is False


# ----------------------------------------------------------------------------- gnConv
def _gnconv_reference(g: GnConv, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """HorNet's gnConv written out: p0 (C/2^(n−1) channels) and q0…q(n−1) (C/2^(n−1) … C) from proj_in,
    each q_k through its own depthwise 7×7 slice, p(k+1) = pw_k(p_k) · α·q_k."""
    B, N, C = x.shape
    n = g.order
    widths = [C // 2 ** (n - 1 - k) for k in range(n)]  # q0 … q(n−1)
    y = g.proj_in(x.transpose(1, 2).reshape(B, C, *grid))
    p = y[:, : widths[0]]
    start, qs = widths[0], []
    off = 0
    for w in widths:
        wgt, b = g.dwconv.weight[off:off + w], g.dwconv.bias[off:off + w]
        qs.append(F.conv2d(y[:, start + off:start + off + w], wgt, b, padding=3, groups=w) * g.scale)
        off += w
    p = p * qs[0]
    for k in range(1, n):
        p = g.pws[k - 1](p) * qs[k]
    return g.proj_out(p).flatten(2).transpose(1, 2)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("grid", [(8, 8), (5, 9)])
def test_gnconv_shapes_and_order(order, grid):
    torch.manual_seed(order)
    dim = 64
    g = GnConv(dim, order=order)
    assert g.dims == [dim // 2 ** (order - 1 - k) for k in range(order)]  # rising widths, ending at C
    assert g.proj_in.out_channels == 2 * dim == g.dims[0] + sum(g.dims)
    assert g.dwconv.in_channels == g.dwconv.groups == sum(g.dims) and g.dwconv.kernel_size == (7, 7)
    assert len(g.pws) == order - 1
    for k, pw in enumerate(g.pws):
        assert (pw.in_channels, pw.out_channels) == (g.dims[k], g.dims[k + 1])
    x = torch.randn(2, grid[0] * grid[1], dim)
    y = g(x, grid)
    assert y.shape == x.shape
    torch.testing.assert_close(y, _gnconv_reference(g, x, grid), atol=1e-5, rtol=1e-4)


def test_gnconv_interaction_order_is_polynomial_degree():
    """gnConv of order n is a polynomial of degree n + 1 in its input when the 1×1 convs have no bias
    and proj_in is linear: scaling x by t scales the output by t^(n+1)."""
    torch.manual_seed(0)
    for order in (1, 2, 3):
        g = GnConv(16, order=order)
        with torch.no_grad():
            for conv in [g.proj_in, g.dwconv, g.proj_out, *g.pws]:
                conv.bias.zero_()
        x = torch.randn(1, 25, 16, dtype=torch.float64)
        g = g.double()
        torch.testing.assert_close(g(2 * x, (5, 5)), 2 ** (order + 1) * g(x, (5, 5)))
