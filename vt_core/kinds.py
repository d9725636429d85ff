"""Every kind a ``ModelConfig`` can name, one table per family.

A row gives the kind's name, the builder that makes it (a ``"module:Class.method"`` path, imported
only when a model is built, so this module, and with it the config layer, needs neither torch nor
timm) and the facts the config layer validates against. ``vt_core.factory`` resolves the rows; no
other module turns a kind string into a class.

Builder protocols (see docs/components.md, "Adding a component"):

- stem ``build(cfg: ModelConfig) -> nn.Module``: image (B, C, H, W) → tokens (B, H', W', C);
- downsample ``build(cfg, stage) -> nn.Module``: (B, H, W, C) → (B, H', W', C') before ``stage``;
- token mixer ``build(spec: BlockSpec) -> TokenMixer``: (B, N, C), feat_size → (B, N, C);
- FFN ``build(spec: BlockSpec) -> nn.Module``: (B, N, C), feat_size → (B, N, C);
- absolute position ``build(*, dim, grid, num_prefix_tokens) -> nn.Module``: tokens → tokens;
- relative position ``build(*, grid, num_heads) -> nn.Module``: a (heads, N, N) logit bias.

A row's ``options`` are passed to its builder as keyword arguments, so one class can serve several
kinds that differ in a switch (Shunted's detail-specific FFN and PVT-v2's are one ``ConvMlp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Union

from .overrides import ConfigError

if TYPE_CHECKING:
    from .config import ModelConfig

Target = Union[str, Callable[..., Any]]  # "package.module:Class.method", or the callable itself


@dataclass(frozen=True)
class Stem:
    target: Target
    grid: Callable[[int, "ModelConfig"], int]  # tokens per side for an input size
    stride: Callable[["ModelConfig"], int]  # input pixels per token
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Downsample:
    target: Target
    grid: Callable[[int], int]  # tokens per side after downsampling a side of n tokens
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mixer:
    target: Target
    attention: bool = False  # multi-head: a stage's dim must divide by its heads
    relative_bias: bool = False  # takes a relative position bias over its token grid (model.pos rel)
    prefix_tokens: bool = False  # mixes a class token with the grid tokens (model.pool=cls)
    windowed: bool = False  # attends within model.window_size windows, shifted by model.shift
    pooled_kv: bool = False  # reduces keys/values by model.kv_ratios, which must fit the stage's map
    gn_filter: bool = False  # takes model.gn_filter (gnConv's spatial filter)
    check: Callable[["ModelConfig", int], None] | None = None  # its own rules for stage i (ConfigError)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ffn:
    target: Target
    token_grid: bool = False  # convolves the token grid, which a class token is not on
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Position:
    """A position encoding as its parts: an absolute embedding added to the tokens after the stem,
    a relative bias added to every attention's logits, either, both or neither."""

    absolute: Target | None = None
    relative: Target | None = None


@dataclass(frozen=True)
class BlockSpec:
    """What one block's parts are built from: the config's per-stage values resolved for this block
    (window clamped to its map, this block's shift, the relative-bias builder of ``model.pos``)."""

    stage: int
    index: int  # block index within the stage
    dim: int
    num_heads: int
    feat_size: tuple[int, int]  # token grid (H, W) at the model's input size
    window_size: int  # window M after clamping to the map
    shift_size: int  # this block's cyclic shift (0 for even blocks and unshifted stages)
    kv_ratios: tuple[int, ...]
    mlp_hidden: int
    qkv_bias: bool
    appearance: bool
    relative_bias: Callable[..., Any] | None  # the relative position builder, or None
    gn_order: int
    gn_scale: float
    drop_path: float
    norm_eps: float
    gn_filter: str = "dw7"  # gnConv's spatial filter: depthwise 7×7 or HorNet's global-local filter ("gf")
    layer_scale: float = 0.0  # init of the per-channel scales on the block's two residual branches; 0: none


def _overlap_grid(n: int) -> int:  # 7×7 conv, stride 4, padding 3
    return (n + 2 * 3 - 7) // 4 + 1


def _conv_stem_grid(n: int) -> int:  # 7×7/2 conv (padding 3), then a 2×2/2 projection
    return ((n + 2 * 3 - 7) // 2 + 1) // 2


STEMS: dict[str, Stem] = {
    "patch": Stem("vt_core.layers.patch_embed:PatchEmbed.from_config",
                  grid=lambda n, cfg: n // cfg.patch_size, stride=lambda cfg: cfg.patch_size),
    "overlap": Stem("vt_core.layers.patch_embed:OverlapPatchEmbed.from_config",
                    grid=lambda n, cfg: _overlap_grid(n), stride=lambda cfg: 4),
    "conv": Stem("vt_core.layers.patch_embed:ConvStem.from_config",
                 grid=lambda n, cfg: _conv_stem_grid(n), stride=lambda cfg: 4),
}
DOWNSAMPLES: dict[str, Downsample] = {
    "merge": Downsample("vt_core.layers.merge:PatchMerging.from_config", grid=lambda n: math.ceil(n / 2)),
    "conv": Downsample("vt_core.layers.merge:ConvDownsample.from_config", grid=lambda n: (n - 1) // 2 + 1),
    "ln_conv": Downsample("vt_core.layers.ln_conv:LayerNormConvDownsample.from_config", grid=lambda n: n // 2),
}
def _check_window(cfg: "ModelConfig", i: int) -> None:
    if cfg.window_size[i] < 1:
        raise ConfigError(f"model.window_size: stage {i} window {cfg.window_size[i]} must be ≥ 1")


def _check_sr(cfg: "ModelConfig", i: int) -> None:
    if len(cfg.kv_ratios[i]) != 1:
        raise ConfigError(f"model.kv_ratios: stage {i} {list(cfg.kv_ratios[i])}: mixer 'sr' takes one ratio per stage")


def _check_shunted(cfg: "ModelConfig", i: int) -> None:
    heads, ratios = cfg.heads[i], cfg.kv_ratios[i]
    if heads % len(ratios):
        raise ConfigError(f"model.kv_ratios: stage {i} {list(ratios)}: {heads} heads do not split into "
                          f"{len(ratios)} equal groups")


def _check_gnconv(cfg: "ModelConfig", i: int) -> None:
    order, dim = cfg.gn_order[i], cfg.dims[i]
    if order < 1 or dim % (2 ** (order - 1)):
        raise ConfigError(f"model.gn_order: stage {i} order {order} needs dim {dim} divisible by 2^(order-1)")
    if cfg.gn_filters[i] == "gf" and dim % (2 ** order):  # the filter halves gnConv's channels
        raise ConfigError(f"model.gn_filter: stage {i} 'gf' splits the depthwise channels of order {order} "
                          f"in half: dim {dim} must be divisible by 2^{order}")


MIXERS: dict[str, Mixer] = {
    "global": Mixer("vt_core.layers.attention:Attention.from_spec", attention=True, relative_bias=True,
                    prefix_tokens=True),
    "window": Mixer("vt_core.layers.window_attention:WindowAttention.from_spec", attention=True, relative_bias=True,
                    windowed=True, check=_check_window),
    "sr": Mixer("vt_core.layers.sr_attention:SpatialReductionAttention.from_spec", attention=True, pooled_kv=True,
                check=_check_sr),
    "shunted": Mixer("vt_core.layers.shunted_attention:ShuntedAttention.from_spec", attention=True, pooled_kv=True,
                     check=_check_shunted),
    "gnconv": Mixer("vt_core.layers.gnconv:GnConv.from_spec", gn_filter=True, check=_check_gnconv),
}
FFNS: dict[str, Ffn] = {
    "mlp": Ffn("vt_core.layers.ffn:Mlp.from_spec"),
    "ds": Ffn("vt_core.layers.ffn:ConvMlp.from_spec", token_grid=True, options={"residual": True}),
    "dw": Ffn("vt_core.layers.ffn:ConvMlp.from_spec", token_grid=True, options={"residual": False}),
}
_ABSOLUTE = "vt_core.layers.position:AbsolutePositionEmbedding"
_RELATIVE = "vt_core.layers.position:RelativePositionBias"
POSITIONS: dict[str, Position] = {
    "none": Position(),
    "abs": Position(absolute=_ABSOLUTE),
    "rel": Position(relative=_RELATIVE),
    "abs+rel": Position(absolute=_ABSOLUTE, relative=_RELATIVE),
}
POOLS = ("mean", "cls")
LAYOUTS = ("isotropic", "hierarchical")

FAMILIES: dict[str, dict[str, Any]] = {
    "stem": STEMS, "downsample": DOWNSAMPLES, "mixer": MIXERS, "ffn": FFNS, "pos": POSITIONS,
}
_SHIPPED = {family: frozenset(table) for family, table in FAMILIES.items()}


def register(family: str, name: str, kind: Stem | Downsample | Mixer | Ffn | Position) -> None:
    """Add a kind (e.g. your own token mixer) under ``name``; a config can then name it
    (``model.mixer=name``), and a ``Mixer`` row's ``check`` is then enforced on every stage that uses
    it. Registering an existing name replaces nothing: it is refused."""
    if family not in FAMILIES:
        raise ConfigError(f"register: unknown family {family!r}; families: {', '.join(FAMILIES)}")
    table = FAMILIES[family]
    if name in table:
        raise ConfigError(f"register: {family} {name!r} exists already")
    want = type(next(iter(table.values())))
    if not isinstance(kind, want):
        raise ConfigError(f"register: a {family} row is a vt_core.kinds.{want.__name__}, got {type(kind).__name__}")
    table[name] = kind


def unregister(family: str, name: str) -> None:
    """Remove a kind added with ``register``; shipped kinds cannot be removed."""
    if name in _SHIPPED.get(family, ()):
        raise ConfigError(f"unregister: {family} {name!r} is shipped with vt_core and stays")
    FAMILIES.get(family, {}).pop(name, None)


__all__ = ["BlockSpec", "Downsample", "FAMILIES", "FFNS", "Ffn", "LAYOUTS", "MIXERS", "Mixer", "POOLS",
           "POSITIONS", "Position", "STEMS", "Stem", "Target", "register", "unregister"]
