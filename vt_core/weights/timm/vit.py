"""timm's VisionTransformer → an isotropic ModelConfig (ViT, Dosovitskiy et al., ICLR 2021; timm's
vision_transformer.py): the patch stem, pooling and where the final norm sits, the position
embedding, then the blocks, which must all be alike."""

from __future__ import annotations

from typing import Any

from torch import nn

from .checks import gelu, head_classes, linear, mlp_ratio, one_eps, patch_conv, refuse, square

FAMILY = "ViT"
Norms = list[tuple[str, nn.Module]]


def vit_fields(m: nn.Module) -> dict[str, Any]:
    img, patch, in_chans = _stem(m.patch_embed)
    _refuse_extras(m)
    pool, final_norm = _pooling(m)
    pos = _position(m)
    dim = m.embed_dim
    heads, ratio, qkv_bias, block_norms = _blocks(m.blocks, dim)
    return dict(
        layout="isotropic", img_size=img, in_chans=in_chans, num_classes=head_classes(m.head, FAMILY),
        stem="patch", patch_size=patch, stem_norm=False, depths=(len(m.blocks),), dims=(dim,),
        heads=(heads,), mlp_ratio=(ratio,), mixer="global", pos=pos, ffn="mlp", pool=pool,
        stage_norm=False, qkv_bias=qkv_bias, norm_eps=one_eps([final_norm, *block_norms], FAMILY),
    )


def _stem(pe: nn.Module) -> tuple[int, int, int]:
    """(image size, patch size, input channels) of timm's PatchEmbed: a plain conv, no norm."""
    from timm.layers import PatchEmbed as TimmPatchEmbed

    if type(pe) is not TimmPatchEmbed:
        raise refuse(FAMILY, f"patch embedding {type(pe).__name__} (hybrid / CNN stems)")
    if not isinstance(pe.norm, nn.Identity):
        raise refuse(FAMILY, "a norm in the patch embedding (embed_norm_layer)")
    if pe.proj.bias is None:
        raise refuse(FAMILY, "a patch embedding without bias (pre_norm, CLIP style)")
    if getattr(pe, "dynamic_img_pad", False):
        raise refuse(FAMILY, "dynamic_img_pad")
    patch = square(pe.patch_size, "patch size", FAMILY)
    img = square(pe.img_size, "image size", FAMILY)
    patch_conv(pe.proj, patch, FAMILY)
    return img, patch, pe.proj.in_channels


def _refuse_extras(m: nn.Module) -> None:
    """Tokens and norms around the blocks that vt_core's ViT has not."""
    if m.num_reg_tokens:
        raise refuse(FAMILY, f"register tokens (reg_tokens={m.num_reg_tokens})")
    if getattr(m, "attn_pool", None) is not None:
        raise refuse(FAMILY, f"attention pooling (global_pool={m.global_pool!r})")
    if not isinstance(m.norm_pre, nn.Identity):
        raise refuse(FAMILY, "a norm before the blocks (pre_norm, CLIP style)")


def _pooling(m: nn.Module) -> tuple[str, tuple[str, nn.Module]]:
    """vt_core's pooling and its final norm: before class-token pooling, fc_norm after mean pooling."""
    cls = m.cls_token is not None
    if m.global_pool == "token":
        pool = "cls"
    elif m.global_pool == "avg" and not cls:
        pool = "mean"
    elif m.global_pool == "avg":
        raise refuse(FAMILY, "a class token with global_pool='avg' (vt_core's mean pooling has no class token)")
    else:
        raise refuse(FAMILY, f"global_pool={m.global_pool!r}")
    before, after = not isinstance(m.norm, nn.Identity), not isinstance(m.fc_norm, nn.Identity)
    if (before, after) != ((True, False) if pool == "cls" else (False, True)):
        where = {(True, False): "before pooling only", (False, True): "after pooling only (fc_norm)",
                 (False, False): "nowhere (final_norm=False)", (True, True): "both before and after pooling"}
        want = "before it" if pool == "cls" else "after it (fc_norm)"
        raise refuse(FAMILY, f"global_pool={m.global_pool!r} with the final norm {where[before, after]}; "
                     f"vt_core norms {want}")
    return pool, (("norm", m.norm) if pool == "cls" else ("fc_norm", m.fc_norm))


def _position(m: nn.Module) -> str:
    if m.pos_embed is None:
        return "none"
    if m.no_embed_class and m.num_prefix_tokens:
        raise refuse(FAMILY, "no_embed_class (position embedding without the class token's entry)")
    return "abs"


def _blocks(blocks: nn.Module, dim: int) -> tuple[int, float, bool, Norms]:
    """(heads, MLP ratio, qkv bias) shared by every block, and the blocks' norms in order."""
    from timm.models.vision_transformer import Block as TimmBlock

    heads, ratios, qkv_bias = set(), set(), set()
    norms: Norms = []
    for i, b in enumerate(blocks):
        where = f"blocks.{i}"
        if type(b) is not TimmBlock:
            raise refuse(FAMILY, f"block type {type(b).__name__}")
        if not (isinstance(b.ls1, nn.Identity) and isinstance(b.ls2, nn.Identity)):
            raise refuse(FAMILY, "layer scale (init_values)")
        num_heads, bias = _attention(b.attn, where, dim)
        heads.add(num_heads)
        ratios.add(_mlp(b.mlp, where, dim))
        qkv_bias.add(bias)
        norms += [(f"{where}.norm1", b.norm1), (f"{where}.norm2", b.norm2)]
    if len(heads) > 1 or len(ratios) > 1 or len(qkv_bias) > 1:
        raise refuse(FAMILY, "blocks that differ in heads, MLP width or qkv bias")
    return heads.pop(), ratios.pop(), qkv_bias.pop(), norms


def _attention(a: nn.Module, where: str, dim: int) -> tuple[int, bool]:
    """(heads, qkv bias) of plain multi-head self-attention."""
    from timm.layers import Attention as TimmAttention

    if type(a) is not TimmAttention:
        raise refuse(FAMILY, f"attention type {type(a).__name__}")
    if not (isinstance(a.q_norm, nn.Identity) and isinstance(a.k_norm, nn.Identity)):
        raise refuse(FAMILY, "qk_norm")
    if not isinstance(getattr(a, "norm", nn.Identity()), nn.Identity):
        raise refuse(FAMILY, "a norm inside attention (scale_attn_norm)")
    if getattr(a, "gate", None) is not None:
        raise refuse(FAMILY, "gated attention")
    if a.head_dim * a.num_heads != dim:
        raise refuse(FAMILY, f"attn_head_dim {a.head_dim} × {a.num_heads} heads ≠ embed dim {dim}")
    qkv = linear(a.qkv, f"{where}.attn.qkv", FAMILY, bias=False)
    linear(a.proj, f"{where}.attn.proj", FAMILY)
    return a.num_heads, qkv.bias is not None


def _mlp(mlp: nn.Module, where: str, dim: int) -> float:
    """The MLP ratio of timm's two-layer GELU MLP."""
    from timm.layers import Mlp as TimmMlp

    if type(mlp) is not TimmMlp:
        raise refuse(FAMILY, f"MLP type {type(mlp).__name__}")
    gelu(mlp.act, f"{where}.mlp.act", FAMILY)
    if not isinstance(mlp.norm, nn.Identity):
        raise refuse(FAMILY, "a norm inside the MLP (scale_mlp_norm)")
    fc1 = linear(mlp.fc1, f"{where}.mlp.fc1", FAMILY)
    linear(mlp.fc2, f"{where}.mlp.fc2", FAMILY)
    return mlp_ratio(dim, fc1.out_features)

