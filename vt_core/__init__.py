"""vt_core: vision transformer components as configuration switches."""

from __future__ import annotations

from typing import Any

from . import timm_models  # noqa: E402,F401  registers every preset with timm as vt_<preset>
from .config import ModelConfig
from .model import VisionTransformer
from .overrides import ConfigError
from .presets import get_preset, list_presets


def create_model(name_or_config: "str | ModelConfig", **overrides: Any) -> VisionTransformer:
    """Build a model from a preset name or a ModelConfig, with field overrides (``pos="rel"``,
    or dotted strings from a CLI: ``**{"window_size": "4"}``)."""
    cfg = get_preset(name_or_config) if isinstance(name_or_config, str) else name_or_config
    if overrides:
        cfg = cfg.replace(**{k.removeprefix("model."): v for k, v in overrides.items()})
    return VisionTransformer(cfg)


def from_timm(timm_model: Any) -> VisionTransformer:
    """The vt_core model equivalent to a timm ViT / Swin / PVT-v2, with its weights."""
    from .timm_transfer import from_timm as _from_timm

    return _from_timm(timm_model)


__all__ = ["ConfigError", "ModelConfig", "VisionTransformer", "create_model", "from_timm", "get_preset", "list_presets"]
