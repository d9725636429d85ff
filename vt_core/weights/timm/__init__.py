"""timm → vt_core: read the architecture off a timm ViT / Swin / PVT-v2 instance, build the equivalent
``ModelConfig`` and copy the weights.

``from_timm(model)`` returns a vt_core ``VisionTransformer`` that gives the same logits as ``model``
(fp32, eval mode). The architecture is read from the modules themselves (types, shapes, LayerNorm
eps, biases, window sizes ...), never from a name, so any size of the three families transfers,
also ones built with custom kwargs. Whatever vt_core cannot express (register tokens, layer scale,
qk-norm, Swin v2, PVT-v2 linear attention, dropout ...) raises a one-line ``ConfigError`` naming the
feature: nothing is silently dropped. That includes a Swin whose stage maps are not multiples of
the window (``swin``). Weights go through a small table of regex renames per family (``keys``) and
``load_state_dict(strict=True)``.

One module per family reads its architecture (``vit``, ``swin``, ``pvt_v2``); ``checks`` has what
they share (LayerNorm eps, GELU, linear layers, dropout and the drop-path schedule, the head).
"""

from __future__ import annotations

from torch import nn

from ...config import ModelConfig
from ...model import VisionTransformer
from ...overrides import ConfigError
from .checks import common_fields
from .keys import KEY_RULES, convert_state_dict
from .pvt_v2 import pvt_v2_fields
from .swin import swin_fields
from .vit import vit_fields

_FIELD_READERS = {"vit": vit_fields, "swin": swin_fields, "pvt_v2": pvt_v2_fields}


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
    fields = _FIELD_READERS[family](timm_model)
    fields.update(common_fields(timm_model, family))
    return ModelConfig().replace(**fields)


__all__ = ["KEY_RULES", "convert_state_dict", "from_timm", "timm_config", "timm_family"]
