"""The Shunted Transformer written out plainly: the reference that vt_core's ``shunted_*`` models are
checked against (tests/test_reference.py) and timed against (``python -m vt_core.bench``).

Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation" (CVPR 2022):

* patch embedding (§3.3): a 7×7 stride-2 convolution, then 0, 1 or 2 (T, S, B) 3×3 convolutions, each
  with BatchNorm and ReLU, then a non-overlapping 2×2 stride-2 projection and LayerNorm: H/4 × W/4 tokens;
* four stages (any number here); every later stage starts with a 3×3 stride-2 convolution + LayerNorm
  that halves the grid and widens the channels, and every stage ends with a LayerNorm;
* pre-norm blocks: x + SSA(LN(x)), then x + FFN(LN(x)), with shunted self-attention (§3.1,
  ``shunted_attention.py``) and the detail-specific FFN (§3.2): fc1, GELU(h + DW3×3(h)), fc2, where
  the residual sits inside the activation as in the authors' released model;
* no class token and no position embedding: the logits are a linear head on the mean of the last tokens.

    ref = reference_from_config(ours.cfg)   # the shapes of a vt_core Shunted model
    copy_into_reference(ours, ref)          # its weights: the same logits up to float rounding
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from timm.layers import DropPath
from torch import nn

from ..overrides import ConfigError
from .shunted_attention import ReferenceShuntedAttention, attention_pairs, load_pairs

if TYPE_CHECKING:
    from vt_core.config import ModelConfig
    from vt_core.model import VisionTransformer


class ConvPatchEmbedding(nn.Module):
    """Image (B, 3, H, W) → tokens (B, H/4 · W/4, C) and their grid."""

    def __init__(self, *, in_chans: int, hidden: int, dim: int, extra_convs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_chans, hidden, 7, stride=2, padding=3, bias=False),
                                   nn.BatchNorm2d(hidden), nn.ReLU()]
        for _ in range(extra_convs):
            layers += [nn.Conv2d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU()]
        self.convs = nn.Sequential(*layers)
        self.proj = nn.Conv2d(hidden, dim, kernel_size=2, stride=2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        fmap = self.proj(self.convs(images))  # B, C, H/4, W/4
        return self.norm(fmap.flatten(2).transpose(1, 2)), (fmap.shape[2], fmap.shape[3])


class OverlappingDownsample(nn.Module):
    """Map (B, C, H, W) → tokens (B, ⌈H/2⌉ · ⌈W/2⌉, C') by a 3×3 stride-2 convolution and LayerNorm."""

    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_dim, dim, kernel_size=3, stride=2, padding=1)
        self.norm = nn.LayerNorm(dim)

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        fmap = self.proj(fmap)
        return self.norm(fmap.flatten(2).transpose(1, 2)), (fmap.shape[2], fmap.shape[3])


class DetailSpecificFFN(nn.Module):
    """fc1 → GELU(h + depthwise 3×3(h)) on the token grid → fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.detail = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden)  # depthwise
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        h = self.fc1(x)  # B, N, hidden
        B, N, D = h.shape
        detail = self.detail(h.transpose(1, 2).reshape(B, D, H, W)).flatten(2).transpose(1, 2)
        return self.fc2(self.act(h + detail))


class ShuntedBlock(nn.Module):
    """Pre-norm: x + SSA(LN(x)), then x + FFN(LN(x)), each branch under stochastic depth."""

    def __init__(self, dim: int, *, heads: int, ratios: tuple[int, ...], hidden: int, qkv_bias: bool,
                 drop_path: float, eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = ReferenceShuntedAttention(dim, num_heads=heads, ratios=ratios, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.ffn = DetailSpecificFFN(dim, hidden)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()  # stochastic depth

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        return x + self.drop_path(self.ffn(self.norm2(x), H, W))


class ShuntedStage(nn.Module):
    """The stage's token embedding (the stem or a downsampling), its blocks and the LayerNorm closing it."""

    def __init__(self, *, embed: nn.Module, blocks: list[ShuntedBlock], dim: int, eps: float) -> None:
        super().__init__()
        self.embed = embed
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim, eps=eps)


class ShuntedTransformerReference(nn.Module):
    """Patch embedding → stages of (downsampling, blocks, LayerNorm) → mean over tokens → linear head."""

    def __init__(self, *, in_chans: int, num_classes: int, stem_hidden: int, stem_convs: int, dims: tuple[int, ...],
                 heads: tuple[int, ...], mlp_ratios: tuple[float, ...], depths: tuple[int, ...],
                 kv_ratios: tuple[tuple[int, ...], ...], qkv_bias: bool = True, drop_path: float = 0.0,
                 eps: float = 1e-6) -> None:
        super().__init__()
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()  # rising over all blocks
        stages = []
        for i, depth in enumerate(depths):
            if i == 0:
                embed: nn.Module = ConvPatchEmbedding(in_chans=in_chans, hidden=stem_hidden, dim=dims[0],
                                                      extra_convs=stem_convs)
            else:
                embed = OverlappingDownsample(dims[i - 1], dims[i])
            first = sum(depths[:i])
            blocks = [
                ShuntedBlock(dims[i], heads=heads[i], ratios=tuple(kv_ratios[i]), hidden=int(dims[i] * mlp_ratios[i]),
                             qkv_bias=qkv_bias, drop_path=rates[first + j], eps=eps)
                for j in range(depth)
            ]
            stages.append(ShuntedStage(embed=embed, blocks=blocks, dim=dims[i], eps=eps))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images
        for i, stage in enumerate(self.stages):
            tokens, (H, W) = stage.embed(x)  # B, H·W, C
            for block in stage.blocks:
                tokens = block(tokens, H, W)
            tokens = stage.norm(tokens)
            if i + 1 < len(self.stages):  # the next stage's downsampling convolves the map
                x = tokens.transpose(1, 2).reshape(tokens.shape[0], -1, H, W)
        return self.head(tokens.mean(dim=1))


# what every Shunted model is; the reference refuses a config that differs in any of them
SHUNTED_ARCHITECTURE = dict(layout="hierarchical", stem="conv", downsample="conv", pos="none", ffn="ds", pool="mean",
                            stage_norm=True)


def reference_from_config(cfg: "ModelConfig") -> ShuntedTransformerReference:
    """A reference with the shapes of ``cfg`` (a ``shunted_*`` preset, or one with other widths, depths,
    heads or KV ratios); a ConfigError naming the field where ``cfg`` is not a Shunted Transformer."""
    for key, value in SHUNTED_ARCHITECTURE.items():
        if getattr(cfg, key) != value:
            raise ConfigError(
                f"Shunted reference: model.{key}={getattr(cfg, key)!r}; a Shunted Transformer has {value!r}"
            )
    for i, mixer in enumerate(cfg.mixer):
        if mixer != "shunted":
            raise ConfigError(
                f"Shunted reference: model.mixer stage {i} is {mixer!r}; every Shunted stage is 'shunted'"
            )
    return ShuntedTransformerReference(
        in_chans=cfg.in_chans, num_classes=cfg.num_classes, stem_hidden=cfg.stem_dim, stem_convs=cfg.stem_convs,
        dims=cfg.dims, heads=cfg.heads, mlp_ratios=cfg.mlp_ratio, depths=cfg.depths, kv_ratios=cfg.kv_ratios,
        qkv_bias=cfg.qkv_bias, drop_path=cfg.drop_path, eps=cfg.norm_eps,
    )


def copy_into_reference(ours: "VisionTransformer", ref: ShuntedTransformerReference) -> None:
    """Give ``ref`` every weight and BatchNorm statistic of a vt_core Shunted model with the same shapes;
    a ValueError where the two do not pair up tensor for tensor."""
    first = ref.stages[0].embed
    stem = ours.patch_embed
    pairs: list[tuple[nn.Module, nn.Module]] = [(first.convs, stem.conv), (first.proj, stem.proj),
                                                (first.norm, stem.norm), (ref.head, ours.head)]
    for mine, theirs in zip(ref.stages, ours.stages, strict=True):
        if theirs.downsample is not None:
            pairs += [(mine.embed.proj, theirs.downsample.proj), (mine.embed.norm, theirs.downsample.norm)]
        pairs.append((mine.norm, theirs.norm))
        for block, our_block in zip(mine.blocks, theirs.blocks, strict=True):
            pairs += [(block.norm1, our_block.norm1), (block.norm2, our_block.norm2)]
            pairs += attention_pairs(our_block.attn, block.attn)
            ffn, mlp = block.ffn, our_block.mlp
            pairs += [(ffn.fc1, mlp.fc1), (ffn.detail, mlp.dwconv), (ffn.fc2, mlp.fc2)]
    load_pairs(ref, ours, pairs)
