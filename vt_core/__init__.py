"""vt_core: vision transformer components as configuration switches.

Importing the package is cheap: nothing here loads torch or timm until a model is built. The ``vt_``
presets are registered with timm as soon as timm is imported (``vt_core.timm_hook``), so
``import vt_core; timm.create_model("vt_vit_cpu")`` works in either import order.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import timm_hook

if TYPE_CHECKING:
    from .config import ModelConfig
    from .model import VisionTransformer

timm_hook.install()

_LAZY = {  # public name -> module that defines it (imported on first use)
    "ConfigError": "vt_core.overrides",
    "ModelConfig": "vt_core.config",
    "VisionTransformer": "vt_core.model",
    "get_preset": "vt_core.presets",
    "list_presets": "vt_core.presets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vt_core' has no attribute {name!r}")


def create_model(name_or_config: "str | ModelConfig", **overrides: Any) -> "VisionTransformer":
    """Build a model from a preset name or a ModelConfig, with field overrides (``pos="rel"``,
    or dotted strings from a CLI: ``**{"window_size": "4"}``)."""
    from .model import VisionTransformer
    from .presets import get_preset

    cfg = get_preset(name_or_config) if isinstance(name_or_config, str) else name_or_config
    if overrides:
        cfg = cfg.replace(**{k.removeprefix("model."): v for k, v in overrides.items()})
    return VisionTransformer(cfg)


def from_timm(timm_model: Any) -> "VisionTransformer":
    """The vt_core model equivalent to a timm ViT / Swin / PVT-v2, with its weights."""
    from .weights.timm import from_timm as _from_timm

    return _from_timm(timm_model)


__all__ = ["ConfigError", "ModelConfig", "VisionTransformer", "create_model", "from_timm", "get_preset", "list_presets"]
