"""One network class for every layout: isotropic (ViT) is a single stage, hierarchical (Swin, PVT,
Shunted, HorNet) several stages joined by downsampling. Everything is decided by a ModelConfig.

The class answers what timm's tooling asks of a model (timm's ``vision_transformer.py`` and
``swin_transformer.py`` are the models): ``num_classes``, ``num_features``, ``head_hidden_size``,
``forward_features`` (unpooled: tokens (B, N, C) for an isotropic model, a map (B, H, W, C) for a
hierarchical one, ``output_fmt``), ``forward_head``, ``reset_classifier``, ``set_grad_checkpointing``,
``group_matcher`` (layer-wise LR decay), ``no_weight_decay``, ``forward_intermediates`` and
``prune_intermediate_layers`` (timm's ``features_only`` wrapper), ``feature_info``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from timm.layers import trunc_normal_
from timm.models._features import feature_take_indices
from torch import nn
from torch.utils.checkpoint import checkpoint

from .config import ModelConfig
from .factory import absolute_position, block_specs, build_downsample, build_ffn, build_mixer, build_stem
from .layers import Block

POOLS = {"cls": "token", "mean": "avg"}  # model.pool → timm's global_pool


class Stage(nn.Module):
    """Downsampling (hierarchical stages after the first), blocks, and an optional closing norm."""

    def __init__(self, *, downsample: nn.Module | None, blocks: list[Block], norm: nn.Module) -> None:
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.ModuleList(blocks)
        self.norm = norm
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, N, C) on ``feat_size`` → (B, N', C') on the stage's own grid, which is returned too."""
        if self.downsample is not None:
            x = self.downsample(x.reshape(x.shape[0], feat_size[0], feat_size[1], x.shape[-1]))  # B, H', W', C'
            feat_size = (x.shape[1], x.shape[2])
            x = x.flatten(1, 2)
        for block in self.blocks:
            if self.grad_checkpointing and self.training:
                x = checkpoint(block, x, feat_size, use_reentrant=False)  # recomputed in backward (same RNG)
            else:
                x = block(x, feat_size)
        return self.norm(x), feat_size


class VisionTransformer(nn.Module):
    """Stem → (class token, absolute position) → stages of blocks → norm → pool → head.

    Norm placement follows the source models: a final norm before pooling (ViT with a class token,
    Swin), a norm closing each stage (PVT, Shunted: ``stage_norm``), or a norm after pooling (timm's
    ViT with ``global_pool='avg'``; HorNet: ``fc_norm=True``).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_prefix_tokens = 1 if cfg.pool == "cls" else 0
        self.num_classes = cfg.num_classes
        self.num_features = self.head_hidden_size = cfg.dims[-1]
        self.global_pool = POOLS[cfg.pool]
        self.output_fmt = "NLC" if cfg.layout == "isotropic" else "NHWC"
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
                            norm_eps=s.norm_eps, layer_scale=s.layer_scale) for s in specs]
            stages.append(
                Stage(
                    downsample=build_downsample(cfg, i) if i > 0 else None,
                    blocks=blocks,
                    norm=nn.LayerNorm(cfg.dims[i], eps=cfg.norm_eps) if cfg.stage_norm else nn.Identity(),
                )
            )
        self.stages = nn.ModuleList(stages)
        self.feature_info = feature_info(cfg)
        dim = cfg.dims[-1]
        post_pool = cfg.fc_norm if cfg.fc_norm is not None else cfg.layout == "isotropic" and cfg.pool == "mean"
        self.norm = nn.LayerNorm(dim, eps=cfg.norm_eps) if not (cfg.stage_norm or post_pool) else nn.Identity()
        # after pooling: asked for (fc_norm=True, even after stage norms), or the isotropic default without them
        with_fc_norm = post_pool and (cfg.fc_norm is True or not cfg.stage_norm)
        self.fc_norm = nn.LayerNorm(dim, eps=cfg.norm_eps) if with_fc_norm else nn.Identity()
        self.head = nn.Linear(dim, cfg.num_classes) if cfg.num_classes > 0 else nn.Identity()
        self.apply(partial(_init_weights, convs=cfg.conv_init == "trunc_normal"))
        if self.cls_token is not None:
            nn.init.normal_(self.cls_token, std=1e-6)

    # ------------------------------------------------------------------------------------- forward
    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Image (B, C, H, W) → tokens (B, N, C) with any prefix token first, and the token grid."""
        x = self.patch_embed(x)  # B, H, W, C
        grid = (x.shape[1], x.shape[2])
        x = x.flatten(1, 2)  # B, N, C
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        if self.pos_embed is not None:
            x = self.pos_embed(x, grid)
        return x, grid

    def _as_map(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Grid tokens (B, N, C) → (B, H, W, C), prefix tokens dropped."""
        return x[:, self.num_prefix_tokens:].reshape(x.shape[0], grid[0], grid[1], x.shape[-1])

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Image (B, C, H, W) → unpooled features after the final norm: tokens (B, N, C), prefix token
        first, for an isotropic model; a map (B, H, W, C) for a hierarchical one (``output_fmt``)."""
        x, grid = self._embed(x)
        for stage in self.stages:
            x, grid = stage(x, grid)
        x = self.norm(x)
        return x if self.output_fmt == "NLC" else self._as_map(x, grid)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool ``forward_features``' output as ``global_pool`` says ('' keeps every position), then
        the post-pool norm and the classifier (``pre_logits``: the pooled features)."""
        if self.global_pool == "token":
            x = x[:, 0]
        elif self.global_pool == "avg":
            x = x[:, self.num_prefix_tokens:].mean(dim=1) if self.output_fmt == "NLC" else x.mean(dim=(1, 2))
        x = self.fc_norm(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    # ------------------------------------------------------------------------------------- intermediates
    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """timm's feature API: the outputs of the levels in ``feature_info`` (stages of a hierarchical
        model, blocks of an isotropic one) chosen by ``indices`` (None: all; n: the last n; a list),
        as NCHW maps (or NHWC; NLC tokens for an isotropic model). ``norm`` applies the final norm
        (to every block output of an isotropic model, to the last stage of a hierarchical one)."""
        if output_fmt not in ("NCHW", "NHWC") + (("NLC",) if self.output_fmt == "NLC" else ()):
            raise ValueError(f"forward_intermediates: output_fmt {output_fmt!r} is not supported by this model")
        take, last = feature_take_indices(len(self.feature_info), indices)
        x, grid = self._embed(x)
        levels = self._levels()
        out = []
        for i, level in enumerate(levels):
            if stop_early and i > last:
                break
            x, grid = level(x, grid)
            if i in take:
                y = self.norm(x) if norm and (self.output_fmt == "NLC" or i == len(levels) - 1) else x
                if output_fmt != "NLC":
                    y = self._as_map(y, grid)
                    y = y.permute(0, 3, 1, 2).contiguous() if output_fmt == "NCHW" else y
                out.append(y)
        if intermediates_only:
            return out
        x = self.norm(x)
        return (x if self.output_fmt == "NLC" else self._as_map(x, grid)), out

    def _levels(self) -> list[Any]:
        """What each feature level runs, ``(x, grid) -> (x, grid)``: a whole stage, or (isotropic) one
        block, the stage's closing norm after its last one."""
        if self.output_fmt == "NHWC":
            return list(self.stages)
        stage = self.stages[0]
        n = len(stage.blocks)

        def level(j: int) -> Any:
            def run(x: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
                x = stage.blocks[j](x, grid)
                return (stage.norm(x) if j == n - 1 else x), grid
            return run

        return [level(j) for j in range(n)]

    def prune_intermediate_layers(self, indices: int | list[int] = 1, prune_norm: bool = False,
                                  prune_head: bool = True) -> list[int]:
        """Drop the levels after the last one ``indices`` takes (timm's ``features_only`` calls this)."""
        take, last = feature_take_indices(len(self.feature_info), indices)
        cut = last < len(self.feature_info) - 1  # the final norm belongs to the last level: it goes too
        if self.output_fmt == "NHWC":
            self.stages = self.stages[:last + 1]
        else:
            self.stages[0].blocks = self.stages[0].blocks[:last + 1]
        self.feature_info = self.feature_info[:last + 1]
        if prune_norm or cut:
            self.norm = nn.Identity()
        if prune_head:
            self.fc_norm = nn.Identity()
            self.reset_classifier(0, "")
        return take

    # ------------------------------------------------------------------------------------- timm's API
    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A new classifier for ``num_classes`` (0: none, the pooled features come out); ``global_pool``
        'avg', 'token' (needs the class token) or '' (no pooling: every position comes out)."""
        if global_pool is not None:
            if global_pool not in ("avg", "token", ""):
                raise ValueError(f"reset_classifier: global_pool {global_pool!r} is not 'avg', 'token' or ''")
            if global_pool == "token" and not self.num_prefix_tokens:
                raise ValueError("reset_classifier: global_pool 'token' needs a class token (model.pool=cls)")
            self.global_pool = global_pool
        self.num_classes = num_classes
        ref = next(self.parameters())
        self.head = nn.Linear(self.num_features, num_classes, device=ref.device, dtype=ref.dtype) \
            if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            _init_weights(self.head)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing of every block: the same outputs and gradients, less memory."""
        for stage in self.stages:
            stage.grad_checkpointing = enable

    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:
        """Parameter groups for timm's layer-wise LR decay: the stem (with class token and absolute
        position), then each block (``coarse``: each stage), the closing norms last."""
        return dict(
            stem=r"^cls_token|^pos_embed|^patch_embed",
            blocks=r"^stages\.(\d+)" if coarse else [
                (r"^stages\.(\d+)\.downsample", (0,)),
                (r"^stages\.(\d+)\.blocks\.(\d+)", None),
                (r"^stages\.(\d+)\.norm", (99999,)),
                (r"^norm|^fc_norm", (99999,)),
            ],
        )

    def no_weight_decay(self) -> set[str]:
        """Parameters exempt from weight decay (timm's optimizer factory reads this): the class token
        and every position parameter (absolute embeddings, relative bias tables), as in ViT and Swin."""
        return {n for n, _ in self.named_parameters()
                if n == "cls_token" or n.startswith("pos_embed.") or ".rel_pos." in n}

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


def feature_info(cfg: ModelConfig) -> list[dict[str, Any]]:
    """timm's ``feature_info``: channels, reduction (input pixels per token) and module of each level."""
    if cfg.layout == "isotropic":
        return [dict(num_chs=cfg.dims[0], reduction=cfg.stem_stride, module=f"stages.0.blocks.{j}")
                for j in range(cfg.depths[0])]
    (h, _), grids = cfg.stem_grid(), cfg.stage_grids()
    return [dict(num_chs=d, reduction=cfg.stem_stride * h // g[0], module=f"stages.{i}")
            for i, (d, g) in enumerate(zip(cfg.dims, grids))]


def _init_weights(m: nn.Module, convs: bool = False) -> None:
    """Linear layers (and, with ``convs``, convolutions: ``model.conv_init=trunc_normal``, HorNet) get
    truncated-normal weights (std 0.02) and zero biases; other convolutions keep PyTorch's init."""
    if isinstance(m, nn.Linear) or convs and isinstance(m, nn.Conv2d):
        trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
