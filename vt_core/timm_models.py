"""Every preset as a timm model: ``timm.create_model("vt_<preset>", **switches)``.

``import vt_core`` registers one entry point per preset with timm's registry, with pretrained
configs like timm's own. Any ``ModelConfig`` field is a keyword argument, so an ablation variant is
a timm model too::

    timm.create_model("vt_swin_tiny_patch4_window7_224", shift=False, pos="abs+rel", num_classes=100)
    timm.create_model("vt_swin_tiny_patch4_window7_224", pretrained=True)             # timm's weights
    timm.create_model("vt_swin_tiny_patch4_window7_224", pretrained=True,
                      pretrained_cfg_overlay=dict(file="swin_t.safetensors"))       # a local file
    timm.create_model("vt_swin_tiny_patch4_window7_224", features_only=True)         # a backbone

timm's own keyword arguments mean what they mean for timm's models: ``num_classes`` (0: no
classifier), ``in_chans``, ``img_size``, ``global_pool`` ('avg', 'token', ''), ``drop_path_rate``;
``drop_rate`` must be 0 (vt_core has no head dropout). Presets with a timm twin (ViT, Swin,
PVT-v2) carry the twin's pretrained tags, weights on timm's hub, loaded through timm's own
mechanism and converted by ``vt_core.weights.transfer`` (so ``pretrained=True`` works for a variant too:
a window change resizes the relative tables, a position switched on starts fresh).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.models import build_model_with_cfg, generate_default_cfgs, get_pretrained_cfg, register_model

from .config import ModelConfig
from .overrides import ConfigError
from .presets import PRESETS, get_preset

if TYPE_CHECKING:  # the model (torch) is imported when a vt_ model is built, not at registration
    from .model import VisionTransformer

PREFIX = "vt_"
TWIN_FAMILIES = ("vit_", "swin_", "pvt_v2_")  # presets named and built as timm's models of that name
PROBE_STATS = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # vt_core.data.transforms.PROBE_STATS (no data import here)
_TIMM_TAGS: dict[str, tuple[str, ...]] = {
    "vit_tiny_patch16_224": ("augreg_in21k_ft_in1k", "augreg_in21k"),
    "vit_small_patch16_224": ("augreg_in21k_ft_in1k", "augreg_in1k", "augreg_in21k", "dino"),
    "vit_base_patch16_224": ("augreg2_in21k_ft_in1k", "augreg_in21k_ft_in1k", "augreg_in1k", "augreg_in21k",
                             "orig_in21k_ft_in1k", "orig_in21k", "dino", "mae", "sam_in1k"),
    "swin_tiny_patch4_window7_224": ("ms_in1k", "ms_in22k_ft_in1k", "ms_in22k"),
    "swin_small_patch4_window7_224": ("ms_in22k_ft_in1k", "ms_in1k", "ms_in22k"),
    "swin_base_patch4_window7_224": ("ms_in22k_ft_in1k", "ms_in1k", "ms_in22k"),
    "pvt_v2_b0": ("in1k",), "pvt_v2_b1": ("in1k",), "pvt_v2_b2": ("in1k",),
}
_COPIED = ("url", "hf_hub_id", "num_classes", "input_size", "crop_pct", "crop_mode", "interpolation", "mean", "std",
           "license", "origin_url", "paper_ids", "notes")


def first_conv(cfg: ModelConfig) -> str:
    return "patch_embed.conv.0" if cfg.stem == "conv" else "patch_embed.proj"


def _pool_size(cfg: ModelConfig) -> tuple[int, int] | None:
    return None if cfg.layout == "isotropic" else tuple(cfg.stage_grids()[-1])


def _own_cfg(preset: str) -> dict[str, Any]:
    """The pretrained config of a preset without weights: what timm's data and benchmark tools read."""
    cfg = get_preset(preset)
    stats = PROBE_STATS if preset.endswith("_cpu") else (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)
    return dict(num_classes=cfg.num_classes, input_size=(cfg.in_chans, cfg.img_size, cfg.img_size),
                pool_size=_pool_size(cfg), crop_pct=1.0 if preset.endswith("_cpu") else 0.9, interpolation="bicubic",
                fixed_input_size=False, mean=tuple(stats[0]), std=tuple(stats[1]), first_conv=first_conv(cfg),
                classifier="head", license="apache-2.0")


def _twin_cfg(preset: str, tag: str) -> dict[str, Any]:
    """timm's pretrained config of ``preset.tag``: its weights on timm's hub, converted on load."""
    theirs = get_pretrained_cfg(f"{preset}.{tag}").to_dict()
    out = {**_own_cfg(preset), **{k: theirs[k] for k in _COPIED if theirs.get(k) is not None}}
    out.update(hf_hub_id=f"timm/{preset}.{tag}", custom_load=False,
               notes=(f"timm's {preset}.{tag} weights, renamed and fitted to the variant by vt_core.weights.transfer",))
    return out


def _default_cfgs() -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for preset in PRESETS:
        tags = _TIMM_TAGS.get(preset, ())
        if tags and preset.startswith(TWIN_FAMILIES):
            for tag in tags:
                entries[f"{PREFIX}{preset}.{tag}"] = _twin_cfg(preset, tag)
        else:
            entries[f"{PREFIX}{preset}"] = _own_cfg(preset)
    return generate_default_cfgs(entries)


def _model(cfg: ModelConfig, *, num_classes: int | None = None, in_chans: int | None = None,
           img_size: int | tuple[int, int] | None = None, global_pool: str | None = None,
           drop_path_rate: float | None = None, drop_rate: float | None = None, **switches: Any) -> VisionTransformer:
    """timm's keyword arguments and vt_core's switches → the model (``build_model_with_cfg`` calls this)."""
    over = {k.removeprefix("model."): v for k, v in switches.items()}
    if num_classes is not None:
        over["num_classes"] = num_classes
    if in_chans is not None:
        over["in_chans"] = in_chans
    if img_size is not None:
        h, w = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if h != w:
            raise ConfigError(f"img_size: {h}×{w}: vt_core models take square inputs")
        over["img_size"] = h
    if drop_path_rate is not None:
        over["drop_path"] = drop_path_rate
    if drop_rate:
        raise ConfigError(f"drop_rate: {drop_rate} — vt_core models have no head dropout (use drop_path_rate)")
    if global_pool in ("token", "avg"):
        over["pool"] = "cls" if global_pool == "token" else "mean"
    elif global_pool not in (None, ""):
        raise ConfigError(f"global_pool: {global_pool!r} is not 'avg', 'token' or ''")
    from .model import VisionTransformer

    model = VisionTransformer(cfg.replace(**over) if over else cfg)
    if global_pool == "":
        model.reset_classifier(model.num_classes, "")
    return model


def _filter(state: dict[str, Any], model: VisionTransformer) -> dict[str, Any]:
    """timm's ``pretrained_filter_fn``: any checkpoint ``vt_core.weights.transfer`` reads → this model's keys."""
    from .weights.transfer import adapt_for

    return adapt_for(model, state, checkpoint=str(model.pretrained_cfg.get("file") or
                                                   model.pretrained_cfg.get("hf_hub_id") or "pretrained"))


def create(preset: str, pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
    """What every ``vt_<preset>`` entry point calls."""
    cfg = get_preset(preset)
    levels = cfg.depths[0] if cfg.layout == "isotropic" else cfg.num_stages
    default = tuple(range(levels - 3, levels)) if cfg.layout == "isotropic" and levels >= 3 else tuple(range(levels))
    return build_model_with_cfg(
        _model, f"{PREFIX}{preset}", pretrained, model_cfg=cfg, pretrained_filter_fn=_filter,
        feature_cfg=dict(feature_cls="getter", out_indices=kwargs.pop("out_indices", default)), **kwargs,
    )


def _entry_point(preset: str) -> Any:
    def entry(pretrained: bool = False, **kwargs: Any) -> VisionTransformer:
        return create(preset, pretrained, **kwargs)

    entry.__name__ = entry.__qualname__ = f"{PREFIX}{preset}"
    entry.__module__ = __name__
    entry.__doc__ = f"vt_core preset {preset!r} (vt_core.presets); any ModelConfig field is a keyword argument."
    return entry


default_cfgs = _default_cfgs()
for _preset in PRESETS:
    _fn = _entry_point(_preset)
    setattr(sys.modules[__name__], _fn.__name__, _fn)
    register_model(_fn)

__all__ = ["PREFIX", "create", "first_conv"]
