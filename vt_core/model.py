"""One network class for every layout: isotropic (ViT) is a single stage, hierarchical (Swin, PVT,
Shunted, HorNet-style) several stages joined by downsampling. Everything is decided by a ModelConfig."""

from __future__ import annotations

import torch
from timm.layers import trunc_normal_
from torch import nn

from .config import ModelConfig
from .factory import absolute_position, block_specs, build_downsample, build_ffn, build_mixer, build_stem
from .layers import Block


class Stage(nn.Module):
    def __init__(self, *, downsample: nn.Module | None, blocks: list[Block], norm: nn.Module) -> None:
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.ModuleList(blocks)
        self.norm = norm

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, feat_size)
        return self.norm(x)


class VisionTransformer(nn.Module):
    """Stem → (class token, absolute position) → stages of blocks → norm → pool → head.

    Norm placement follows the source models: a final norm before pooling (ViT with a class token,
    Swin), a norm closing each stage (PVT, Shunted: ``stage_norm``), or a norm after mean pooling
    (timm's ViT with ``global_pool='avg'``).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_prefix_tokens = 1 if cfg.pool == "cls" else 0
        self.patch_embed = build_stem(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dims[0])) if self.num_prefix_tokens else None
        absolute = absolute_position(cfg)
        self.pos_embed = (
            absolute(dim=cfg.dims[0], grid=cfg.stem_grid(), num_prefix_tokens=self.num_prefix_tokens)
            if absolute is not None else None
        )
        stages = []
        for i, specs in enumerate(block_specs(cfg)):
            blocks = [Block(s.dim, attn=build_mixer(s, cfg.mixer[i]), mlp=build_ffn(s, cfg.ffn), drop_path=s.drop_path,
                            norm_eps=s.norm_eps) for s in specs]
            stages.append(
                Stage(
                    downsample=build_downsample(cfg, i) if i > 0 else None,
                    blocks=blocks,
                    norm=nn.LayerNorm(cfg.dims[i], eps=cfg.norm_eps) if cfg.stage_norm else nn.Identity(),
                )
            )
        self.stages = nn.ModuleList(stages)
        dim = cfg.dims[-1]
        post_pool = cfg.layout == "isotropic" and cfg.pool == "mean"
        self.norm = nn.LayerNorm(dim, eps=cfg.norm_eps) if not (cfg.stage_norm or post_pool) else nn.Identity()
        self.fc_norm = nn.LayerNorm(dim, eps=cfg.norm_eps) if post_pool and not cfg.stage_norm else nn.Identity()
        self.head = nn.Linear(dim, cfg.num_classes)
        self.apply(_init_weights)
        if self.cls_token is not None:
            nn.init.normal_(self.cls_token, std=1e-6)

    def no_weight_decay(self) -> set[str]:
        """Parameters exempt from weight decay (timm's optimizer factory reads this): the class token
        and every position parameter (absolute embeddings, relative bias tables), as in ViT and Swin."""
        return {n for n, _ in self.named_parameters()
                if n == "cls_token" or n.startswith("pos_embed.") or ".rel_pos." in n}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Image (B, C, H, W) → final tokens (B, N, C) with any prefix token first."""
        x = self.patch_embed(x)  # B, H, W, C
        B, H, W, _ = x.shape
        grid = (H, W)
        x = x.flatten(1, 2)  # B, N, C
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(B, -1, -1), x], dim=1)
        if self.pos_embed is not None:
            x = self.pos_embed(x, grid)
        for i, stage in enumerate(self.stages):
            if stage.downsample is not None:
                x = stage.downsample(x.view(B, grid[0], grid[1], -1))  # B, H/2, W/2, C'
                grid = (x.shape[1], x.shape[2])
                x = x.flatten(1, 2)
            x = stage(x, grid)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x[:, 0] if self.cfg.pool == "cls" else x[:, self.num_prefix_tokens:].mean(dim=1)
        x = self.fc_norm(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    @torch.no_grad()
    def set_input_size(self, img_size: int | None = None, window_size: int | tuple[int, ...] | None = None) -> None:
        """Rebuild for another input size and/or window: absolute embeddings resampled, relative
        tables resized (bicubic) where the window or grid changes, shift masks rebuilt."""
        overrides = {}
        if img_size is not None:
            overrides["img_size"] = img_size
        if window_size is not None:
            overrides["window_size"] = window_size
        cfg = self.cfg.replace(**overrides)
        if self.pos_embed is not None:
            self.pos_embed.set_feat_size(cfg.stem_grid())
        for stage, specs in zip(self.stages, block_specs(cfg)):
            for block, spec in zip(stage.blocks, specs):
                block.attn.set_feat_size(spec.feat_size, (spec.window_size, spec.shift_size))
        self.cfg = cfg


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
