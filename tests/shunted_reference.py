"""A straightforward reference Shunted Transformer, after seed 004 (the official Shunted code).

Seed 004 publishes the two parts that make Shunted what it is: the multi-scale ``Attention`` and the
detail-specific ``Mlp``. ``SeedShuntedAttention`` is that attention as published (explicit
``softmax(q·kᵀ)·v``, no fused kernel); the rest (conv stem, 3×3/2 downsampling, pre-norm blocks, a
LayerNorm closing each stage, mean pooling) is written out plainly around it, the way the official
model assembles them. Nothing here is tuned: it is what vt_core's ``shunted_*`` presets are checked
against (``tests/test_bench.py``) and what ``python -m vt_core.bench`` times them against.

    ref = reference_from_config(ours.cfg)   # same shapes as a vt_core Shunted model
    copy_into_reference(ours, ref)          # same weights: same logits up to float rounding
"""

from __future__ import annotations

import torch
from timm.layers import DropPath
from torch import nn

from vt_core.config import ModelConfig
from vt_core.layers import ShuntedAttention

# the seed's attention knows three two-group layouts (sr_ratio → the two groups' rates) and the lone r=1
SEED_RATIOS = {8: (8, 4), 4: (4, 2), 2: (2, 1), 1: (1,)}


# ----------------------------------------------------------------------------- seed 004's Attention
class SeedShuntedAttention(nn.Module):
    """Seed 004's ``Attention`` (official Shunted code), forward as published; dropout left out."""

    def __init__(self, dim, num_heads=8, qkv_bias=False, sr_ratio=1):
        super().__init__()
        self.dim, self.num_heads = dim, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.act = nn.GELU()
            k1, k2 = {8: (8, 4), 4: (4, 2), 2: (2, 1)}[sr_ratio]
            self.sr1 = nn.Conv2d(dim, dim, kernel_size=k1, stride=k1)
            self.norm1 = nn.LayerNorm(dim)
            self.sr2 = nn.Conv2d(dim, dim, kernel_size=k2, stride=k2)
            self.norm2 = nn.LayerNorm(dim)
            self.kv1 = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv2 = nn.Linear(dim, dim, bias=qkv_bias)
            self.local_conv1 = nn.Conv2d(dim // 2, dim // 2, kernel_size=3, padding=1, stride=1, groups=dim // 2)
            self.local_conv2 = nn.Conv2d(dim // 2, dim // 2, kernel_size=3, padding=1, stride=1, groups=dim // 2)
        else:
            self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
            self.local_conv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, stride=1, groups=dim)

    def forward(self, x, H, W):
        B, N, C = x.shape
        q = self.q(x).reshape(B, N, self.num_heads, C // self.num_heads).permute(0, 2, 1, 3)
        if self.sr_ratio > 1:
            x_ = x.permute(0, 2, 1).reshape(B, C, H, W)
            x_1 = self.act(self.norm1(self.sr1(x_).reshape(B, C, -1).permute(0, 2, 1)))
            x_2 = self.act(self.norm2(self.sr2(x_).reshape(B, C, -1).permute(0, 2, 1)))
            kv1 = self.kv1(x_1).reshape(B, -1, 2, self.num_heads // 2, C // self.num_heads).permute(2, 0, 3, 1, 4)
            kv2 = self.kv2(x_2).reshape(B, -1, 2, self.num_heads // 2, C // self.num_heads).permute(2, 0, 3, 1, 4)
            k1, v1 = kv1[0], kv1[1]
            k2, v2 = kv2[0], kv2[1]
            attn1 = ((q[:, : self.num_heads // 2] @ k1.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            v1 = v1 + self.local_conv1(
                v1.transpose(1, 2).reshape(B, -1, C // 2).transpose(1, 2).view(B, C // 2, H // self.sr_ratio, W // self.sr_ratio)
            ).view(B, C // 2, -1).view(B, self.num_heads // 2, C // self.num_heads, -1).transpose(-1, -2)
            x1 = (attn1 @ v1).transpose(1, 2).reshape(B, N, C // 2)
            attn2 = ((q[:, self.num_heads // 2:] @ k2.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            v2 = v2 + self.local_conv2(
                v2.transpose(1, 2).reshape(B, -1, C // 2).transpose(1, 2)
                .view(B, C // 2, H * 2 // self.sr_ratio, W * 2 // self.sr_ratio)
            ).view(B, C // 2, -1).view(B, self.num_heads // 2, C // self.num_heads, -1).transpose(-1, -2)
            x2 = (attn2 @ v2).transpose(1, 2).reshape(B, N, C // 2)
            x = torch.cat([x1, x2], dim=-1)
        else:
            kv = self.kv(x).reshape(B, -1, 2, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            x = (attn @ v).transpose(1, 2).reshape(B, N, C) + self.local_conv(
                v.transpose(1, 2).reshape(B, N, C).transpose(1, 2).view(B, C, H, W)
            ).view(B, C, N).transpose(1, 2)
        return self.proj(x)


def _copy_into_seed(ours: ShuntedAttention, seed: SeedShuntedAttention) -> None:
    seed.q.load_state_dict(ours.q.state_dict())
    seed.proj.load_state_dict(ours.proj.state_dict())
    if seed.sr_ratio > 1:
        for i, g in enumerate(ours.groups, start=1):
            getattr(seed, f"sr{i}").load_state_dict(g.aggregate.sr.state_dict())
            getattr(seed, f"norm{i}").load_state_dict(g.aggregate.norm.state_dict())
            getattr(seed, f"kv{i}").load_state_dict(g.kv.state_dict())
            getattr(seed, f"local_conv{i}").load_state_dict(g.local_conv.state_dict())
    else:
        (g,) = ours.groups
        assert g.aggregate is None
        seed.kv.load_state_dict(g.kv.state_dict())
        seed.local_conv.load_state_dict(g.local_conv.state_dict())


# ----------------------------------------------------------------------------- the rest of the network
class DetailSpecificMlp(nn.Module):
    """Seed 004's ``Mlp``: fc1, then GELU(h + depthwise 3×3(h)) on the token grid, then fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, kernel_size=3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        h = self.fc1(x)
        B, N, C = h.shape
        local = self.dwconv(h.transpose(1, 2).reshape(B, C, H, W)).flatten(2).transpose(1, 2)
        return self.fc2(self.act(h + local))


class ReferenceBlock(nn.Module):
    def __init__(self, dim: int, *, heads: int, sr_ratio: int, mlp_ratio: float, qkv_bias: bool, drop_path: float,
                 eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SeedShuntedAttention(dim, num_heads=heads, qkv_bias=qkv_bias, sr_ratio=sr_ratio)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = DetailSpecificMlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        return x + self.drop_path(self.mlp(self.norm2(x), H, W))


class ConvHead(nn.Module):
    """The stem: 7×7/2 conv + BN + ReLU, ``num_convs`` × (3×3 conv + BN + ReLU), a 2×2/2 conv, LayerNorm."""

    def __init__(self, in_chans: int, hidden: int, dim: int, num_convs: int) -> None:
        super().__init__()
        layers = [nn.Conv2d(in_chans, hidden, 7, 2, padding=3, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True)]
        for _ in range(num_convs):
            layers += [nn.Conv2d(hidden, hidden, 3, 1, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True)]
        layers.append(nn.Conv2d(hidden, dim, kernel_size=2, stride=2))
        self.conv = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.conv(x)
        _, _, H, W = x.shape
        return self.norm(x.flatten(2).transpose(1, 2)), H, W


class ConvEmbed(nn.Module):
    """Between stages: 3×3 stride-2 conv + LayerNorm."""

    def __init__(self, in_dim: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_dim, dim, kernel_size=3, stride=2, padding=1)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)
        _, _, H, W = x.shape
        return self.norm(x.flatten(2).transpose(1, 2)), H, W


class ShuntedReference(nn.Module):
    """Shunted Transformer: stem → 4 stages of (embed, blocks, LayerNorm) → mean over tokens → head."""

    def __init__(self, *, in_chans: int = 3, num_classes: int = 1000, stem_dim: int = 64, stem_convs: int = 0,
                 dims=(64, 128, 256, 512), heads=(2, 4, 8, 16), mlp_ratios=(8, 8, 4, 4), depths=(1, 2, 4, 1),
                 sr_ratios=(8, 4, 2, 1), qkv_bias: bool = True, drop_path: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__()
        rates = torch.linspace(0, drop_path, sum(depths), device="cpu").tolist()
        self.embeds = nn.ModuleList()
        self.stages = nn.ModuleList()
        self.norms = nn.ModuleList()
        k = 0
        for i, depth in enumerate(depths):
            self.embeds.append(ConvHead(in_chans, stem_dim, dims[0], stem_convs) if i == 0 else ConvEmbed(dims[i - 1], dims[i]))
            self.stages.append(nn.ModuleList(
                ReferenceBlock(dims[i], heads=heads[i], sr_ratio=sr_ratios[i], mlp_ratio=mlp_ratios[i],
                               qkv_bias=qkv_bias, drop_path=rates[k + j], eps=eps)
                for j in range(depth)
            ))
            self.norms.append(nn.LayerNorm(dims[i], eps=eps))
            k += depth
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        for i, (embed, blocks, norm) in enumerate(zip(self.embeds, self.stages, self.norms)):
            x, H, W = embed(x)
            for blk in blocks:
                x = blk(x, H, W)
            x = norm(x)
            if i < len(self.stages) - 1:
                x = x.reshape(B, H, W, -1).permute(0, 3, 1, 2).contiguous()
        return self.head(x.mean(dim=1))


def reference_from_config(cfg: ModelConfig) -> ShuntedReference:
    """A reference with the shapes of ``cfg`` (a vt_core Shunted config such as ``shunted_s``); a
    ValueError naming the field for what the seed's code cannot express."""
    want = dict(layout="hierarchical", stem="conv", downsample="conv", pos="none", ffn="ds", pool="mean", stage_norm=True)
    for key, value in want.items():
        if getattr(cfg, key) != value:
            raise ValueError(f"shunted reference: model.{key}={getattr(cfg, key)!r}, the seed's model has {value!r}")
    if set(cfg.mixer) != {"shunted"}:
        raise ValueError(f"shunted reference: model.mixer={list(cfg.mixer)}, the seed's model is all 'shunted'")
    sr = []
    for i, ratios in enumerate(cfg.kv_ratios):
        match = [r for r, groups in SEED_RATIOS.items() if groups == tuple(ratios)]
        if not match:
            raise ValueError(f"shunted reference: model.kv_ratios stage {i} {list(ratios)} is not one of the seed's "
                             f"{[list(g) for g in SEED_RATIOS.values()]}")
        sr.append(match[0])
    return ShuntedReference(
        in_chans=cfg.in_chans, num_classes=cfg.num_classes, stem_dim=cfg.stem_dim, stem_convs=cfg.stem_convs,
        dims=cfg.dims, heads=cfg.heads, mlp_ratios=cfg.mlp_ratio, depths=cfg.depths, sr_ratios=tuple(sr),
        qkv_bias=cfg.qkv_bias, drop_path=cfg.drop_path, eps=cfg.norm_eps,
    )


@torch.no_grad()
def copy_into_reference(ours: nn.Module, ref: ShuntedReference) -> None:
    """Copy a vt_core Shunted model's weights (and BatchNorm statistics) into ``ref``."""
    stem = ours.patch_embed
    ref.embeds[0].conv[:-1].load_state_dict(stem.conv.state_dict())
    ref.embeds[0].conv[-1].load_state_dict(stem.proj.state_dict())
    ref.embeds[0].norm.load_state_dict(stem.norm.state_dict())
    for i, stage in enumerate(ours.stages):
        if stage.downsample is not None:
            ref.embeds[i].proj.load_state_dict(stage.downsample.proj.state_dict())
            ref.embeds[i].norm.load_state_dict(stage.downsample.norm.state_dict())
        for blk, rblk in zip(stage.blocks, ref.stages[i], strict=True):
            rblk.norm1.load_state_dict(blk.norm1.state_dict())
            rblk.norm2.load_state_dict(blk.norm2.state_dict())
            _copy_into_seed(blk.attn, rblk.attn)
            for name in ("fc1", "dwconv", "fc2"):
                getattr(rblk.mlp, name).load_state_dict(getattr(blk.mlp, name).state_dict())
        ref.norms[i].load_state_dict(stage.norm.state_dict())
    ref.head.load_state_dict(ours.head.state_dict())
