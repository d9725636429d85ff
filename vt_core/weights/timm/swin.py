"""timm's SwinTransformer (v1) → a hierarchical ModelConfig with shifted windows (Swin, Liu et al.,
ICCV 2021; timm's swin_transformer.py): the patch stem, mean pooling, the stages (patch merging,
then blocks alike within a stage), and a window layout that must be timm's block by block.

A Swin whose stage maps are not multiples of the window is refused: timm shifts and then pads
(without masking padded keys when unshifted), vt_core pads, then shifts and masks the padding, so
the logits would differ; at the shipped sizes nothing is padded."""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import nn

from ...config import ModelConfig
from .checks import fixed_norm, gelu, head_classes, linear, mlp_ratio, one_eps, patch_conv, refuse, square

FAMILY = "Swin"
Norms = list[tuple[str, nn.Module]]


class _Stage(NamedTuple):
    dim: int
    depth: int
    heads: int
    mlp_ratio: float
    window: int
    block_windows: list[tuple[int, int]]  # (window, shift) of each block as timm built them
    qkv_bias: set[bool]
    norms: Norms


def swin_fields(m: nn.Module) -> dict[str, Any]:
    img, patch, in_chans, stem_norm = _stem(m.patch_embed)
    head = _pooled_head(m)
    stages = [_stage(m, i, stage) for i, stage in enumerate(m.layers)]
    qkv_bias = set().union(*(s.qkv_bias for s in stages))
    if len(qkv_bias) > 1:
        raise refuse(FAMILY, "blocks that differ in qkv bias")
    norms: Norms = [("norm", m.norm), *(n for s in stages for n in s.norms)]
    fields = dict(
        layout="hierarchical", img_size=img, in_chans=in_chans, num_classes=head_classes(head.fc, FAMILY),
        stem="patch", patch_size=patch, stem_norm=stem_norm, downsample="merge",
        depths=tuple(s.depth for s in stages), dims=tuple(s.dim for s in stages),
        heads=tuple(s.heads for s in stages), mlp_ratio=tuple(s.mlp_ratio for s in stages), mixer="window",
        window_size=tuple(s.window for s in stages), shift=True, pos="rel", ffn="mlp", pool="mean",
        stage_norm=False, qkv_bias=qkv_bias.pop(), norm_eps=one_eps(norms, FAMILY),
    )
    _check_windows(fields, [s.block_windows for s in stages])
    return fields


def _stem(pe: nn.Module) -> tuple[int, int, int, bool]:
    """(image size, patch size, input channels, stem norm) of timm's PatchEmbed."""
    from timm.layers import PatchEmbed as TimmPatchEmbed

    if type(pe) is not TimmPatchEmbed:
        raise refuse(FAMILY, f"patch embedding {type(pe).__name__}")
    if pe.proj.bias is None:
        raise refuse(FAMILY, "a patch embedding without bias")
    patch = square(pe.patch_size, "patch size", FAMILY)
    img = square(pe.img_size, "image size", FAMILY)
    patch_conv(pe.proj, patch, FAMILY)
    stem_norm = not isinstance(pe.norm, nn.Identity)
    if stem_norm:
        fixed_norm(pe.norm, "patch_embed.norm", FAMILY)
    return img, patch, pe.proj.in_channels, stem_norm


def _pooled_head(m: nn.Module) -> nn.Module:
    """timm's ClassifierHead, which must pool by the mean into a linear classifier."""
    from timm.layers import ClassifierHead

    head = m.head
    if type(head) is not ClassifierHead or head.global_pool.pool_type != "avg":
        raise refuse(FAMILY, f"global_pool={getattr(m, 'global_pool', '?')!r} (vt_core pools by the mean)")
    if not isinstance(head.flatten, nn.Identity):
        raise refuse(FAMILY, "a convolutional classifier head")
    return head


def _stage(m: nn.Module, i: int, stage: nn.Module) -> _Stage:
    from timm.models.swin_transformer import SwinTransformerStage

    where = f"layers.{i}"
    if type(stage) is not SwinTransformerStage:
        raise refuse(FAMILY, f"stage type {type(stage).__name__}")
    _downsample(stage.downsample, i, where)
    heads, ratios, windows, qkv_bias = set(), set(), [], set()
    norms: Norms = []
    for j, b in enumerate(stage.blocks):
        bw = f"{where}.blocks.{j}"
        num_heads, ratio, bias, window = _block(b, bw)
        heads.add(num_heads)
        ratios.add(ratio)
        qkv_bias.add(bias)
        windows.append(window)
        norms += [(f"{bw}.norm1", b.norm1), (f"{bw}.norm2", b.norm2)]
    if len(heads) > 1 or len(ratios) > 1:
        raise refuse(FAMILY, f"blocks of {where} that differ in heads or MLP width")
    dim, depth = stage.blocks[0].dim, len(stage.blocks)
    ref = getattr(m, "_ref_window_sizes", None)
    window = square(ref[i], "window", FAMILY) if ref is not None else max(w for w, _ in windows)
    return _Stage(dim, depth, heads.pop(), ratios.pop(), window, windows, qkv_bias, norms)


def _downsample(ds: nn.Module, i: int, where: str) -> None:
    """None before the first stage, timm's PatchMerging (no bias) before every other."""
    from timm.models.swin_transformer import PatchMerging as TimmMerging

    if i == 0:
        if not isinstance(ds, nn.Identity):
            raise refuse(FAMILY, "downsampling before the first stage")
        return
    if type(ds) is not TimmMerging:
        raise refuse(FAMILY, f"downsample {type(ds).__name__} at {where}")
    fixed_norm(ds.norm, f"{where}.downsample.norm", FAMILY)
    linear(ds.reduction, f"{where}.downsample.reduction", FAMILY, bias=False)
    if ds.reduction.bias is not None:
        raise refuse(FAMILY, f"patch merging with a bias at {where}")


def _block(b: nn.Module, bw: str) -> tuple[int, float, bool, tuple[int, int]]:
    """(heads, MLP ratio, qkv bias, (window, shift)) of one Swin block."""
    from timm.layers import Mlp as TimmMlp
    from timm.models.swin_transformer import SwinTransformerBlock
    from timm.models.swin_transformer import WindowAttention as TimmWindowAttention

    if type(b) is not SwinTransformerBlock:
        raise refuse(FAMILY, f"block type {type(b).__name__}")
    if b.always_partition:
        raise refuse(FAMILY, "always_partition=True (vt_core clamps a window to a smaller feature map)")
    a = b.attn
    if type(a) is not TimmWindowAttention:
        raise refuse(FAMILY, f"attention type {type(a).__name__}")
    dim = b.dim
    if a.qkv.out_features != 3 * dim:
        raise refuse(FAMILY, f"head_dim × heads ≠ dim {dim} at {bw}")
    qkv = linear(a.qkv, f"{bw}.attn.qkv", FAMILY, bias=False)
    linear(a.proj, f"{bw}.attn.proj", FAMILY)
    if type(b.mlp) is not TimmMlp or not isinstance(b.mlp.norm, nn.Identity):
        raise refuse(FAMILY, f"MLP type {type(b.mlp).__name__} at {bw}")
    gelu(b.mlp.act, f"{bw}.mlp.act", FAMILY)
    fc1 = linear(b.mlp.fc1, f"{bw}.mlp.fc1", FAMILY)
    linear(b.mlp.fc2, f"{bw}.mlp.fc2", FAMILY)
    window = (square(b.window_size, "window", FAMILY), square(b.shift_size, "shift", FAMILY))
    return a.num_heads, mlp_ratio(dim, fc1.out_features), qkv.bias is not None, window


def _check_windows(fields: dict[str, Any], block_windows: list[list[tuple[int, int]]]) -> None:
    """vt_core's window layout must be timm's, block by block; and no padding: timm shifts then pads
    (and does not mask padded keys without a shift), vt_core pads, then shifts and masks the padding."""
    cfg = ModelConfig().replace(**fields)
    for i, ((h, w), (win, shift)) in enumerate(zip(cfg.stage_grids(), cfg.stage_windows())):
        ours = [(win, shift if j % 2 else 0) for j in range(cfg.depths[i])]
        if ours != block_windows[i]:
            raise refuse(FAMILY, f"stage {i} (window, shift) per block {block_windows[i]} "
                         f"(vt_core's rule gives {ours})")
        if h % win or w % win:
            raise refuse(
                FAMILY, f"stage {i}'s {h}×{w} map padded to window {win} (timm shifts before padding, vt_core after); "
                "use an image size whose stage maps divide by the windows"
            )
