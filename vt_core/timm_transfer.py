"""timm → vt_core: read the architecture off a timm ViT / Swin / PVT-v2 instance, build the equivalent
``ModelConfig`` and copy the weights.

``from_timm(model)`` returns a vt_core ``VisionTransformer`` that gives the same logits as ``model``
(fp32, eval mode). The architecture is read from the modules themselves (types, shapes, LayerNorm
eps, biases, window sizes ...), never from a name, so any size of the three families transfers,
also ones built with custom kwargs. Whatever vt_core cannot express (register tokens, layer scale,
qk-norm, Swin v2, PVT-v2 linear attention, dropout ...) raises a one-line ``ConfigError`` naming the
feature: nothing is silently dropped. That includes a Swin whose stage maps are not multiples of
the window: timm shifts and then pads (without masking padded keys when unshifted), vt_core pads,
then shifts and masks the padding, so the logits would differ; at the shipped sizes nothing is padded. Weights go through a small table of regex renames per family
and ``load_state_dict(strict=True)``.

LayerNorm eps: vt_core uses ``model.norm_eps`` for block, stage and final norms, and PyTorch's
default 1e-5 for the norms inside stems, patch merging and spatial reduction. timm's PVT-v2 does
the same split (``nn.LayerNorm`` in OverlapPatchEmbed and the SR norm, ``timm.layers.LayerNorm``
with eps 1e-6 elsewhere); every eps is checked, not assumed.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from torch import nn

from .config import ModelConfig
from .model import VisionTransformer
from .overrides import ConfigError

# ------------------------------------------------------------------ state-dict key mapping
# (pattern, replacement) applied in order with re.sub; keys no rule touches keep their name.
KEY_RULES: dict[str, list[tuple[str, str]]] = {
    "vit": [
        (r"^pos_embed$", "pos_embed.pos_embed"),
        (r"^blocks\.(\d+)\.", r"stages.0.blocks.\1."),
    ],
    "swin": [
        (r"^layers\.(\d+)\.", r"stages.\1."),
        (r"\.attn\.relative_position_bias_table$", ".attn.rel_pos.relative_position_bias_table"),
        (r"^head\.fc\.", "head."),
    ],
    "pvt_v2": [
        (r"\.attn\.sr\.", ".attn.reduce.sr."),
        (r"\.attn\.norm\.", ".attn.reduce.norm."),
    ],
}

FIXED_EPS = 1e-5  # nn.LayerNorm's default: vt_core's stem / patch-merging / spatial-reduction norms


def convert_state_dict(state: dict[str, torch.Tensor], family: str) -> dict[str, torch.Tensor]:
    """Rename a timm state dict to vt_core's keys with ``KEY_RULES[family]``."""
    rules = KEY_RULES[family]
    out = {}
    for key, value in state.items():
        new = key
        for pattern, repl in rules:
            new = re.sub(pattern, repl, new)
        out[new] = value
    return out


# ------------------------------------------------------------------ public API
def from_timm(timm_model: nn.Module) -> VisionTransformer:
    """The vt_core model equivalent to ``timm_model`` (ViT, Swin or PVT-v2), with its weights,
    on its device and dtype and in its train/eval mode."""
    family = timm_family(timm_model)
    cfg = timm_config(timm_model)
    model = VisionTransformer(cfg)
    state = convert_state_dict(timm_model.state_dict(), family)
    model.load_state_dict(state, strict=True)
    ref = next(timm_model.parameters())
    return model.to(device=ref.device, dtype=ref.dtype).train(timm_model.training)


def timm_family(timm_model: nn.Module) -> str:
    from timm.models.pvt_v2 import PyramidVisionTransformerV2
    from timm.models.swin_transformer import SwinTransformer
    from timm.models.vision_transformer import VisionTransformer as TimmViT

    kind = type(timm_model)
    if kind is TimmViT:
        return "vit"
    if kind is SwinTransformer:
        return "swin"
    if kind is PyramidVisionTransformerV2:
        return "pvt_v2"
    raise ConfigError(
        f"from_timm: {kind.__module__}.{kind.__name__} is not supported; vt_core takes timm's VisionTransformer, "
        "SwinTransformer (v1) and PyramidVisionTransformerV2 (subclasses such as distilled ViTs are refused)"
    )


def timm_config(timm_model: nn.Module) -> ModelConfig:
    """The ModelConfig of ``timm_model``; raises ConfigError naming the first unsupported feature."""
    family = timm_family(timm_model)
    fields = {"vit": _vit_fields, "swin": _swin_fields, "pvt_v2": _pvt_v2_fields}[family](timm_model)
    fields.update(_common_fields(timm_model, family))
    return ModelConfig().replace(**fields)


# ------------------------------------------------------------------ shared checks
def _refuse(family: str, feature: str) -> ConfigError:
    return ConfigError(f"from_timm: {family}: not supported by vt_core: {feature}")


def _layer_norm_eps(mod: nn.Module, where: str, family: str) -> float:
    """eps of a plain affine LayerNorm (torch's or timm's), refusing anything else."""
    from timm.layers import LayerNorm as TimmLayerNorm

    if type(mod) not in (nn.LayerNorm, TimmLayerNorm) or not mod.elementwise_affine or mod.bias is None:
        raise _refuse(family, f"{where} is {type(mod).__name__} (vt_core has affine LayerNorms only)")
    return float(mod.eps)


def _fixed_norm(mod: nn.Module, where: str, family: str) -> None:
    eps = _layer_norm_eps(mod, where, family)
    if eps != FIXED_EPS:
        raise _refuse(family, f"{where} eps {eps:g} (vt_core's is {FIXED_EPS:g})")


def _one_eps(norms: list[tuple[str, nn.Module]], family: str) -> float:
    """The single eps shared by block / stage / final norms (``model.norm_eps``)."""
    eps = {}
    for where, mod in norms:
        eps.setdefault(_layer_norm_eps(mod, where, family), where)
    if len(eps) > 1:
        found = ", ".join(f"{e:g} ({w})" for e, w in eps.items())
        raise _refuse(family, f"different LayerNorm eps across block/final norms: {found}")
    return next(iter(eps))


def _gelu(act: nn.Module, where: str, family: str) -> None:
    if type(act) is not nn.GELU or act.approximate != "none":
        raise _refuse(family, f"activation {act!r} at {where} (vt_core uses exact nn.GELU)")


def _linear(mod: nn.Module, where: str, family: str, bias: bool = True) -> nn.Linear:
    if type(mod) is not nn.Linear:
        raise _refuse(family, f"{where} is {type(mod).__name__}, not nn.Linear")
    if bias and mod.bias is None:
        raise _refuse(family, f"{where} without bias")
    return mod


def _mlp_ratio(dim: int, hidden: int) -> float:
    """A ratio r with int(dim * r) == hidden, as vt_core (and timm) compute the hidden width."""
    r = hidden / dim
    for _ in range(8):
        if int(dim * r) == hidden:
            return r
        r = math.nextafter(r, math.inf)
    return hidden / dim  # unreachable for real widths; validation then reports the mismatch


def _square(value: Any, what: str, family: str) -> int:
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise _refuse(family, f"non-square {what} {a}×{b}")
    return int(a)


def _common_fields(m: nn.Module, family: str) -> dict[str, Any]:
    """Things every family shares: dropout (refused), the drop-path schedule, the architecture name."""
    from timm.layers import DropPath, PatchDropout

    rates = []
    for name, mod in m.named_modules():
        if isinstance(mod, nn.Dropout) and mod.p > 0:
            raise _refuse(family, f"dropout p={mod.p:g} at {name} (vt_core has drop path only)")
        if isinstance(mod, PatchDropout):
            raise _refuse(family, f"patch dropout at {name}")
        if name.endswith("drop_path1"):  # one per block, in order; drop_path2 has the same rate
            rates.append(float(mod.drop_prob) if isinstance(mod, DropPath) else 0.0)
    top = max(rates, default=0.0)
    if rates and top > 0:
        expected = torch.linspace(0, top, len(rates)).tolist()
        if any(abs(a - b) > 1e-6 for a, b in zip(rates, expected)):
            raise _refuse(family, "a drop-path schedule that is not linear from 0 over all blocks")
    name = (getattr(m, "pretrained_cfg", None) or {}).get("architecture") or "custom"
    return {"drop_path": top, "name": name}


def _head(mod: nn.Module, family: str) -> int:
    if isinstance(mod, nn.Identity):
        raise _refuse(family, "num_classes=0 (no classifier head; create the timm model with num_classes ≥ 1)")
    return _linear(mod, "head", family).out_features


# ------------------------------------------------------------------ ViT
def _vit_fields(m: nn.Module) -> dict[str, Any]:
    from timm.layers import Attention as TimmAttention
    from timm.layers import Mlp as TimmMlp
    from timm.layers import PatchEmbed as TimmPatchEmbed
    from timm.models.vision_transformer import Block as TimmBlock

    fam = "ViT"
    pe = m.patch_embed
    if type(pe) is not TimmPatchEmbed:
        raise _refuse(fam, f"patch embedding {type(pe).__name__} (hybrid / CNN stems)")
    if not isinstance(pe.norm, nn.Identity):
        raise _refuse(fam, "a norm in the patch embedding (embed_norm_layer)")
    if pe.proj.bias is None:
        raise _refuse(fam, "a patch embedding without bias (pre_norm, CLIP style)")
    if getattr(pe, "dynamic_img_pad", False):
        raise _refuse(fam, "dynamic_img_pad")
    patch = _square(pe.patch_size, "patch size", fam)
    img = _square(pe.img_size, "image size", fam)
    proj = pe.proj
    if tuple(proj.kernel_size) != (patch, patch) or tuple(proj.stride) != (patch, patch) or any(proj.padding):
        raise _refuse(fam, f"patch projection {proj} (vt_core's is a conv with kernel = stride = patch)")
    if m.num_reg_tokens:
        raise _refuse(fam, f"register tokens (reg_tokens={m.num_reg_tokens})")
    if getattr(m, "attn_pool", None) is not None:
        raise _refuse(fam, f"attention pooling (global_pool={m.global_pool!r})")
    if not isinstance(m.norm_pre, nn.Identity):
        raise _refuse(fam, "a norm before the blocks (pre_norm, CLIP style)")

    cls = m.cls_token is not None
    if m.global_pool == "token":
        pool = "cls"
    elif m.global_pool == "avg" and not cls:
        pool = "mean"
    elif m.global_pool == "avg":
        raise _refuse(fam, "a class token with global_pool='avg' (vt_core's mean pooling has no class token)")
    else:
        raise _refuse(fam, f"global_pool={m.global_pool!r}")
    norms: list[tuple[str, nn.Module]] = []
    # vt_core's placement: final norm before class-token pooling, fc_norm after mean pooling
    before, after = not isinstance(m.norm, nn.Identity), not isinstance(m.fc_norm, nn.Identity)
    if (before, after) != ((True, False) if pool == "cls" else (False, True)):
        where = {(True, False): "before pooling only", (False, True): "after pooling only (fc_norm)",
                 (False, False): "nowhere (final_norm=False)", (True, True): "both before and after pooling"}
        want = "before it" if pool == "cls" else "after it (fc_norm)"
        raise _refuse(fam, f"global_pool={m.global_pool!r} with the final norm {where[before, after]}; "
                      f"vt_core norms {want}")
    norms.append(("norm", m.norm) if pool == "cls" else ("fc_norm", m.fc_norm))

    if m.pos_embed is None:
        pos = "none"
    else:
        if m.no_embed_class and m.num_prefix_tokens:
            raise _refuse(fam, "no_embed_class (position embedding without the class token's entry)")
        pos = "abs"

    dim = m.embed_dim
    heads, ratios, qkv_bias = set(), set(), set()
    for i, b in enumerate(m.blocks):
        where = f"blocks.{i}"
        if type(b) is not TimmBlock:
            raise _refuse(fam, f"block type {type(b).__name__}")
        if not (isinstance(b.ls1, nn.Identity) and isinstance(b.ls2, nn.Identity)):
            raise _refuse(fam, "layer scale (init_values)")
        a = b.attn
        if type(a) is not TimmAttention:
            raise _refuse(fam, f"attention type {type(a).__name__}")
        if not (isinstance(a.q_norm, nn.Identity) and isinstance(a.k_norm, nn.Identity)):
            raise _refuse(fam, "qk_norm")
        if not isinstance(getattr(a, "norm", nn.Identity()), nn.Identity):
            raise _refuse(fam, "a norm inside attention (scale_attn_norm)")
        if getattr(a, "gate", None) is not None:
            raise _refuse(fam, "gated attention")
        if a.head_dim * a.num_heads != dim:
            raise _refuse(fam, f"attn_head_dim {a.head_dim} × {a.num_heads} heads ≠ embed dim {dim}")
        qkv = _linear(a.qkv, f"{where}.attn.qkv", fam, bias=False)
        _linear(a.proj, f"{where}.attn.proj", fam)
        mlp = b.mlp
        if type(mlp) is not TimmMlp:
            raise _refuse(fam, f"MLP type {type(mlp).__name__}")
        _gelu(mlp.act, f"{where}.mlp.act", fam)
        if not isinstance(mlp.norm, nn.Identity):
            raise _refuse(fam, "a norm inside the MLP (scale_mlp_norm)")
        fc1 = _linear(mlp.fc1, f"{where}.mlp.fc1", fam)
        _linear(mlp.fc2, f"{where}.mlp.fc2", fam)
        heads.add(a.num_heads)
        ratios.add(_mlp_ratio(dim, fc1.out_features))
        qkv_bias.add(qkv.bias is not None)
        norms += [(f"{where}.norm1", b.norm1), (f"{where}.norm2", b.norm2)]
    if len(heads) > 1 or len(ratios) > 1 or len(qkv_bias) > 1:
        raise _refuse(fam, "blocks that differ in heads, MLP width or qkv bias")
    return dict(
        layout="isotropic", img_size=img, in_chans=proj.in_channels, num_classes=_head(m.head, fam),
        stem="patch", patch_size=patch, stem_norm=False, depths=(len(m.blocks),), dims=(dim,),
        heads=(heads.pop(),), mlp_ratio=(ratios.pop(),), mixer="global", pos=pos, ffn="mlp", pool=pool,
        stage_norm=False, qkv_bias=qkv_bias.pop(), norm_eps=_one_eps(norms, fam),
    )


# ------------------------------------------------------------------ Swin
def _swin_fields(m: nn.Module) -> dict[str, Any]:
    from timm.layers import ClassifierHead
    from timm.layers import Mlp as TimmMlp
    from timm.layers import PatchEmbed as TimmPatchEmbed
    from timm.models.swin_transformer import PatchMerging as TimmMerging
    from timm.models.swin_transformer import SwinTransformerBlock, SwinTransformerStage
    from timm.models.swin_transformer import WindowAttention as TimmWindowAttention

    fam = "Swin"
    pe = m.patch_embed
    if type(pe) is not TimmPatchEmbed:
        raise _refuse(fam, f"patch embedding {type(pe).__name__}")
    if pe.proj.bias is None:
        raise _refuse(fam, "a patch embedding without bias")
    patch = _square(pe.patch_size, "patch size", fam)
    img = _square(pe.img_size, "image size", fam)
    proj = pe.proj
    if tuple(proj.kernel_size) != (patch, patch) or tuple(proj.stride) != (patch, patch) or any(proj.padding):
        raise _refuse(fam, f"patch projection {proj} (vt_core's is a conv with kernel = stride = patch)")
    stem_norm = not isinstance(pe.norm, nn.Identity)
    if stem_norm:
        _fixed_norm(pe.norm, "patch_embed.norm", fam)

    head = m.head
    if type(head) is not ClassifierHead or head.global_pool.pool_type != "avg":
        raise _refuse(fam, f"global_pool={getattr(m, 'global_pool', '?')!r} (vt_core pools by the mean)")
    if not isinstance(head.flatten, nn.Identity):
        raise _refuse(fam, "a convolutional classifier head")

    dims, depths, heads, ratios, windows, qkv_bias = [], [], [], [], [], set()
    norms: list[tuple[str, nn.Module]] = [("norm", m.norm)]
    block_windows = []  # per stage: [(window, shift) of each block] as timm built them
    for i, stage in enumerate(m.layers):
        where = f"layers.{i}"
        if type(stage) is not SwinTransformerStage:
            raise _refuse(fam, f"stage type {type(stage).__name__}")
        if i == 0 and not isinstance(stage.downsample, nn.Identity):
            raise _refuse(fam, "downsampling before the first stage")
        if i > 0:
            if type(stage.downsample) is not TimmMerging:
                raise _refuse(fam, f"downsample {type(stage.downsample).__name__} at {where}")
            _fixed_norm(stage.downsample.norm, f"{where}.downsample.norm", fam)
            _linear(stage.downsample.reduction, f"{where}.downsample.reduction", fam, bias=False)
            if stage.downsample.reduction.bias is not None:
                raise _refuse(fam, f"patch merging with a bias at {where}")
        stage_heads, stage_ratios, stage_windows = set(), set(), []
        for j, b in enumerate(stage.blocks):
            bw = f"{where}.blocks.{j}"
            if type(b) is not SwinTransformerBlock:
                raise _refuse(fam, f"block type {type(b).__name__}")
            if b.always_partition:
                raise _refuse(fam, "always_partition=True (vt_core clamps a window to a smaller feature map)")
            a = b.attn
            if type(a) is not TimmWindowAttention:
                raise _refuse(fam, f"attention type {type(a).__name__}")
            dim = b.dim
            if a.qkv.out_features != 3 * dim:
                raise _refuse(fam, f"head_dim × heads ≠ dim {dim} at {bw}")
            qkv = _linear(a.qkv, f"{bw}.attn.qkv", fam, bias=False)
            _linear(a.proj, f"{bw}.attn.proj", fam)
            if type(b.mlp) is not TimmMlp or not isinstance(b.mlp.norm, nn.Identity):
                raise _refuse(fam, f"MLP type {type(b.mlp).__name__} at {bw}")
            _gelu(b.mlp.act, f"{bw}.mlp.act", fam)
            fc1 = _linear(b.mlp.fc1, f"{bw}.mlp.fc1", fam)
            _linear(b.mlp.fc2, f"{bw}.mlp.fc2", fam)
            stage_heads.add(a.num_heads)
            stage_ratios.add(_mlp_ratio(dim, fc1.out_features))
            qkv_bias.add(qkv.bias is not None)
            win = _square(b.window_size, "window", fam)
            shift = _square(b.shift_size, "shift", fam)
            stage_windows.append((win, shift))
            norms += [(f"{bw}.norm1", b.norm1), (f"{bw}.norm2", b.norm2)]
        if len(stage_heads) > 1 or len(stage_ratios) > 1:
            raise _refuse(fam, f"blocks of {where} that differ in heads or MLP width")
        dims.append(stage.blocks[0].dim)
        depths.append(len(stage.blocks))
        heads.append(stage_heads.pop())
        ratios.append(stage_ratios.pop())
        block_windows.append(stage_windows)
        ref = getattr(m, "_ref_window_sizes", None)
        windows.append(_square(ref[i], "window", fam) if ref is not None else max(w for w, _ in stage_windows))
    if len(qkv_bias) > 1:
        raise _refuse(fam, "blocks that differ in qkv bias")
    fields = dict(
        layout="hierarchical", img_size=img, in_chans=proj.in_channels, num_classes=_head(head.fc, fam),
        stem="patch", patch_size=patch, stem_norm=stem_norm, downsample="merge", depths=tuple(depths),
        dims=tuple(dims), heads=tuple(heads), mlp_ratio=tuple(ratios), mixer="window", window_size=tuple(windows),
        shift=True, pos="rel", ffn="mlp", pool="mean", stage_norm=False, qkv_bias=qkv_bias.pop(),
        norm_eps=_one_eps(norms, fam),
    )
    # vt_core's window layout must be timm's, block by block; and no padding: timm shifts then pads
    # (and does not mask padded keys without a shift), vt_core pads, then shifts and masks the padding.
    cfg = ModelConfig().replace(**fields)
    for i, ((h, w), (win, shift)) in enumerate(zip(cfg.stage_grids(), cfg.stage_windows())):
        ours = [(win, shift if j % 2 else 0) for j in range(cfg.depths[i])]
        if ours != block_windows[i]:
            raise _refuse(fam, f"stage {i} (window, shift) per block {block_windows[i]} (vt_core's rule gives {ours})")
        if h % win or w % win:
            raise _refuse(
                fam, f"stage {i}'s {h}×{w} map padded to window {win} (timm shifts before padding, vt_core after); "
                "use an image size whose stage maps divide by the windows"
            )
    return fields


# ------------------------------------------------------------------ PVT-v2
def _pvt_v2_fields(m: nn.Module) -> dict[str, Any]:
    from timm.models.pvt_v2 import Attention as PvtAttention
    from timm.models.pvt_v2 import Block as PvtBlock
    from timm.models.pvt_v2 import MlpWithDepthwiseConv, OverlapPatchEmbed, PyramidVisionTransformerStage

    fam = "PVT-v2"

    def overlap(pe: nn.Module, where: str, k: int, s: int) -> None:
        if type(pe) is not OverlapPatchEmbed:
            raise _refuse(fam, f"{where} type {type(pe).__name__}")
        p = pe.proj
        if tuple(p.kernel_size) != (k, k) or tuple(p.stride) != (s, s) or tuple(p.padding) != (k // 2, k // 2) \
                or p.bias is None:
            raise _refuse(fam, f"{where} conv {p} (vt_core's is k={k}, s={s}, padding {k // 2}, with bias)")
        _fixed_norm(pe.norm, f"{where}.norm", fam)

    overlap(m.patch_embed, "patch_embed", 7, 4)
    if m.global_pool != "avg":
        raise _refuse(fam, f"global_pool={m.global_pool!r}")
    dims, depths, heads, ratios, kv, qkv_bias = [], [], [], [], [], set()
    norms: list[tuple[str, nn.Module]] = []
    for i, stage in enumerate(m.stages):
        where = f"stages.{i}"
        if type(stage) is not PyramidVisionTransformerStage:
            raise _refuse(fam, f"stage type {type(stage).__name__}")
        if i == 0 and stage.downsample is not None:
            raise _refuse(fam, "downsampling before the first stage")
        if i > 0:
            overlap(stage.downsample, f"{where}.downsample", 3, 2)
        norms.append((f"{where}.norm", stage.norm))
        stage_set = set()
        for j, b in enumerate(stage.blocks):
            bw = f"{where}.blocks.{j}"
            if type(b) is not PvtBlock:
                raise _refuse(fam, f"block type {type(b).__name__}")
            a = b.attn
            if type(a) is not PvtAttention:
                raise _refuse(fam, f"attention type {type(a).__name__}")
            if a.pool is not None or not isinstance(b.mlp.relu, nn.Identity):
                raise _refuse(fam, "linear spatial-reduction attention (linear=True, the '_li' variants)")
            q = _linear(a.q, f"{bw}.attn.q", fam, bias=False)
            kvl = _linear(a.kv, f"{bw}.attn.kv", fam, bias=False)
            _linear(a.proj, f"{bw}.attn.proj", fam)
            if (q.bias is None) != (kvl.bias is None):
                raise _refuse(fam, f"q and kv that differ in bias at {bw}")
            if a.sr is None:
                ratio = 1
            else:
                ratio = _square(a.sr.kernel_size, "sr kernel", fam)
                if tuple(a.sr.stride) != (ratio, ratio) or any(a.sr.padding) or a.sr.bias is None:
                    raise _refuse(fam, f"spatial reduction conv {a.sr} at {bw} (vt_core's has kernel = stride, bias)")
                _fixed_norm(a.norm, f"{bw}.attn.norm", fam)
            mlp = b.mlp
            if type(mlp) is not MlpWithDepthwiseConv:
                raise _refuse(fam, f"MLP type {type(mlp).__name__} at {bw}")
            _gelu(mlp.act, f"{bw}.mlp.act", fam)
            fc1 = _linear(mlp.fc1, f"{bw}.mlp.fc1", fam)
            _linear(mlp.fc2, f"{bw}.mlp.fc2", fam)
            dw = mlp.dwconv
            if tuple(dw.kernel_size) != (3, 3) or tuple(dw.padding) != (1, 1) or dw.groups != fc1.out_features \
                    or dw.bias is None:
                raise _refuse(fam, f"depthwise conv {dw} at {bw}")
            dim = q.in_features
            stage_set.add((dim, a.num_heads, _mlp_ratio(dim, fc1.out_features), ratio))
            qkv_bias.add(q.bias is not None)
            norms += [(f"{bw}.norm1", b.norm1), (f"{bw}.norm2", b.norm2)]
        if len(stage_set) != 1:
            raise _refuse(fam, f"blocks of {where} that differ in width, heads, MLP width or SR ratio")
        dim, h, r, sr = stage_set.pop()
        dims.append(dim), depths.append(len(stage.blocks)), heads.append(h), ratios.append(r), kv.append(sr)
    if len(qkv_bias) > 1:
        raise _refuse(fam, "blocks that differ in qkv bias")
    # PVT-v2 has no fixed input size; img_size only sets the nominal grids (no position table)
    img = int((getattr(m, "pretrained_cfg", None) or {}).get("input_size", (3, 224, 224))[-1])
    return dict(
        layout="hierarchical", img_size=img, in_chans=m.patch_embed.proj.in_channels, num_classes=_head(m.head, fam),
        stem="overlap", downsample="conv", depths=tuple(depths), dims=tuple(dims), heads=tuple(heads),
        mlp_ratio=tuple(ratios), mixer="sr", kv_ratios=tuple((k,) for k in kv), pos="none", ffn="dw",
        pool="mean", stage_norm=True, qkv_bias=qkv_bias.pop(), norm_eps=_one_eps(norms, fam),
    )


__all__ = ["KEY_RULES", "convert_state_dict", "from_timm", "timm_config", "timm_family"]
