"""timm's PyramidVisionTransformerV2 → a hierarchical ModelConfig with spatial-reduction attention
(PVT v2, Wang et al., Computational Visual Media 2022; timm's pvt_v2.py): overlapping patch
embeddings as stem and downsampling, then per stage blocks alike (width, heads, MLP width, SR
ratio) and a stage norm.

timm's PVT-v2 splits its LayerNorms as vt_core does: ``nn.LayerNorm`` (eps 1e-5) in
OverlapPatchEmbed and the SR norm, ``timm.layers.LayerNorm`` with eps 1e-6 elsewhere; every eps is
checked, not assumed."""

from __future__ import annotations

from typing import Any

from torch import nn

from .checks import fixed_norm, gelu, head_classes, linear, mlp_ratio, one_eps, refuse, square

FAMILY = "PVT-v2"
Norms = list[tuple[str, nn.Module]]


def pvt_v2_fields(m: nn.Module) -> dict[str, Any]:
    _overlap(m.patch_embed, "patch_embed", 7, 4)
    if m.global_pool != "avg":
        raise refuse(FAMILY, f"global_pool={m.global_pool!r}")
    dims, depths, heads, ratios, kv, qkv_bias = [], [], [], [], [], set()
    norms: Norms = []
    for i, stage in enumerate(m.stages):
        (dim, h, r, sr), stage_bias, stage_norms = _stage(stage, i)
        dims.append(dim)
        depths.append(len(stage.blocks))
        heads.append(h)
        ratios.append(r)
        kv.append(sr)
        qkv_bias |= stage_bias
        norms += stage_norms
    if len(qkv_bias) > 1:
        raise refuse(FAMILY, "blocks that differ in qkv bias")
    # PVT-v2 has no fixed input size; img_size only sets the nominal grids (no position table)
    img = int((getattr(m, "pretrained_cfg", None) or {}).get("input_size", (3, 224, 224))[-1])
    return dict(
        layout="hierarchical", img_size=img, in_chans=m.patch_embed.proj.in_channels,
        num_classes=head_classes(m.head, FAMILY), stem="overlap", downsample="conv", depths=tuple(depths),
        dims=tuple(dims), heads=tuple(heads), mlp_ratio=tuple(ratios), mixer="sr", kv_ratios=tuple((k,) for k in kv),
        pos="none", ffn="dw", pool="mean", stage_norm=True, qkv_bias=qkv_bias.pop(), norm_eps=one_eps(norms, FAMILY),
    )


def _overlap(pe: nn.Module, where: str, k: int, s: int) -> None:
    """timm's OverlapPatchEmbed: a k×k conv of stride s, padding k // 2, with bias, then a LayerNorm."""
    from timm.models.pvt_v2 import OverlapPatchEmbed

    if type(pe) is not OverlapPatchEmbed:
        raise refuse(FAMILY, f"{where} type {type(pe).__name__}")
    p = pe.proj
    if tuple(p.kernel_size) != (k, k) or tuple(p.stride) != (s, s) or tuple(p.padding) != (k // 2, k // 2) \
            or p.bias is None:
        raise refuse(FAMILY, f"{where} conv {p} (vt_core's is k={k}, s={s}, padding {k // 2}, with bias)")
    fixed_norm(pe.norm, f"{where}.norm", FAMILY)


def _stage(stage: nn.Module, i: int) -> tuple[tuple[int, int, float, int], set[bool], Norms]:
    """(width, heads, MLP ratio, SR ratio) shared by the stage's blocks, their qkv biases, and the
    stage's norms in order (the stage norm first)."""
    from timm.models.pvt_v2 import PyramidVisionTransformerStage

    where = f"stages.{i}"
    if type(stage) is not PyramidVisionTransformerStage:
        raise refuse(FAMILY, f"stage type {type(stage).__name__}")
    if i == 0 and stage.downsample is not None:
        raise refuse(FAMILY, "downsampling before the first stage")
    if i > 0:
        _overlap(stage.downsample, f"{where}.downsample", 3, 2)
    norms: Norms = [(f"{where}.norm", stage.norm)]
    shapes, qkv_bias = set(), set()
    for j, b in enumerate(stage.blocks):
        bw = f"{where}.blocks.{j}"
        shape, bias = _block(b, bw)
        shapes.add(shape)
        qkv_bias.add(bias)
        norms += [(f"{bw}.norm1", b.norm1), (f"{bw}.norm2", b.norm2)]
    if len(shapes) != 1:
        raise refuse(FAMILY, f"blocks of {where} that differ in width, heads, MLP width or SR ratio")
    return shapes.pop(), qkv_bias, norms


def _block(b: nn.Module, bw: str) -> tuple[tuple[int, int, float, int], bool]:
    """((width, heads, MLP ratio, SR ratio), qkv bias) of one PVT-v2 block."""
    from timm.models.pvt_v2 import Attention as PvtAttention
    from timm.models.pvt_v2 import Block as PvtBlock

    if type(b) is not PvtBlock:
        raise refuse(FAMILY, f"block type {type(b).__name__}")
    a = b.attn
    if type(a) is not PvtAttention:
        raise refuse(FAMILY, f"attention type {type(a).__name__}")
    if a.pool is not None or not isinstance(b.mlp.relu, nn.Identity):
        raise refuse(FAMILY, "linear spatial-reduction attention (linear=True, the '_li' variants)")
    q = linear(a.q, f"{bw}.attn.q", FAMILY, bias=False)
    kvl = linear(a.kv, f"{bw}.attn.kv", FAMILY, bias=False)
    linear(a.proj, f"{bw}.attn.proj", FAMILY)
    if (q.bias is None) != (kvl.bias is None):
        raise refuse(FAMILY, f"q and kv that differ in bias at {bw}")
    ratio = _reduction(a, bw)
    hidden = _mlp(b.mlp, bw)
    dim = q.in_features
    return (dim, a.num_heads, mlp_ratio(dim, hidden), ratio), q.bias is not None


def _reduction(a: nn.Module, bw: str) -> int:
    """The spatial-reduction ratio: 1 without a reduction, else a conv with kernel = stride and bias."""
    if a.sr is None:
        return 1
    ratio = square(a.sr.kernel_size, "sr kernel", FAMILY)
    if tuple(a.sr.stride) != (ratio, ratio) or any(a.sr.padding) or a.sr.bias is None:
        raise refuse(FAMILY, f"spatial reduction conv {a.sr} at {bw} (vt_core's has kernel = stride, bias)")
    fixed_norm(a.norm, f"{bw}.attn.norm", FAMILY)
    return ratio


def _mlp(mlp: nn.Module, bw: str) -> int:
    """The hidden width of timm's MLP with a 3×3 depthwise conv between its layers."""
    from timm.models.pvt_v2 import MlpWithDepthwiseConv

    if type(mlp) is not MlpWithDepthwiseConv:
        raise refuse(FAMILY, f"MLP type {type(mlp).__name__} at {bw}")
    gelu(mlp.act, f"{bw}.mlp.act", FAMILY)
    fc1 = linear(mlp.fc1, f"{bw}.mlp.fc1", FAMILY)
    linear(mlp.fc2, f"{bw}.mlp.fc2", FAMILY)
    dw = mlp.dwconv
    if tuple(dw.kernel_size) != (3, 3) or tuple(dw.padding) != (1, 1) or dw.groups != fc1.out_features \
            or dw.bias is None:
        raise refuse(FAMILY, f"depthwise conv {dw} at {bw}")
    return fc1.out_features
