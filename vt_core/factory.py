"""Builds a model's parts from its config: the one place where the kind names of ``vt_core.kinds``
become modules. Per-block settings are resolved once, into a ``BlockSpec`` for each block."""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from . import kinds
from .kinds import BlockSpec

if TYPE_CHECKING:
    from .config import ModelConfig


@lru_cache(maxsize=None)
def _import(path: str) -> Callable[..., Any]:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def resolve(target: kinds.Target) -> Callable[..., Any]:
    """A row's builder: the callable itself, or the object its ``"module:attr"`` path names."""
    return _import(target) if isinstance(target, str) else target


def build_stem(cfg: "ModelConfig") -> nn.Module:
    kind = kinds.STEMS[cfg.stem]
    return resolve(kind.target)(cfg, **kind.options)


def build_downsample(cfg: "ModelConfig", stage: int) -> nn.Module:
    """The downsampling that opens ``stage`` (≥ 1)."""
    kind = kinds.DOWNSAMPLES[cfg.downsample]
    return resolve(kind.target)(cfg, stage, **kind.options)


def build_mixer(spec: BlockSpec, mixer: str) -> nn.Module:
    kind = kinds.MIXERS[mixer]
    return resolve(kind.target)(spec, **kind.options)


def build_ffn(spec: BlockSpec, ffn: str) -> nn.Module:
    kind = kinds.FFNS[ffn]
    return resolve(kind.target)(spec, **kind.options)


def absolute_position(cfg: "ModelConfig") -> Callable[..., nn.Module] | None:
    """The absolute embedding builder of ``cfg.pos`` (``build(*, dim, grid, num_prefix_tokens)``), or None."""
    target = kinds.POSITIONS[cfg.pos].absolute
    return resolve(target) if target is not None else None


def relative_position(cfg: "ModelConfig") -> Callable[..., nn.Module] | None:
    """The relative bias builder of ``cfg.pos`` (``build(*, grid, num_heads)``), or None."""
    target = kinds.POSITIONS[cfg.pos].relative
    return resolve(target) if target is not None else None


def block_specs(cfg: "ModelConfig") -> list[list[BlockSpec]]:
    """Per stage, per block: the resolved settings its mixer and FFN are built from."""
    grids, windows = cfg.stage_grids(), cfg.stage_windows()
    relative = relative_position(cfg)
    # stochastic depth rising linearly over all blocks; on the CPU, so a model builds under torch.device("meta")
    rates = iter(torch.linspace(0, cfg.drop_path, sum(cfg.depths), device="cpu").tolist())
    out = []
    for i, depth in enumerate(cfg.depths):
        m, shift = windows[i]
        out.append([
            BlockSpec(
                stage=i, index=j, dim=cfg.dims[i], num_heads=cfg.heads[i], feat_size=grids[i], window_size=m,
                shift_size=shift if j % 2 else 0, kv_ratios=cfg.kv_ratios[i],
                mlp_hidden=int(cfg.dims[i] * cfg.mlp_ratio[i]), qkv_bias=cfg.qkv_bias, appearance=cfg.appearance,
                relative_bias=relative, gn_order=cfg.gn_order[i], gn_scale=cfg.gn_scale, drop_path=next(rates),
                norm_eps=cfg.norm_eps, gn_filter=cfg.gn_filters[i], layer_scale=cfg.layer_scale,
            )
            for j in range(depth)
        ])
    return out


__all__ = ["absolute_position", "block_specs", "build_downsample", "build_ffn", "build_mixer", "build_stem",
           "relative_position", "resolve"]
