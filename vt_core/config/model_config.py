"""``ModelConfig``: every architectural switch, its per-stage normalisation, its rules and the
geometry it implies. A variant of an ablation is a preset plus dotted overrides. Per-stage fields
(``window_size``, ``mixer``, ``kv_ratios`` ...) accept one value for every stage or a tuple with one
entry per stage. Errors are ``ConfigError`` with one line naming the field, the value and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .. import kinds
from ..overrides import ConfigError, with_overrides
from .checks import check_finite, choice

GN_FILTERS = ("dw7", "gf")  # gnConv's spatial filter: depthwise 7×7, or HorNet's global-local filter
CONV_INITS = ("torch", "trunc_normal")


@dataclass(frozen=True)
class ModelConfig:
    """Every architectural switch of the suite (see docs/components.md for each one's source)."""

    name: str = "custom"
    layout: str = "isotropic"  # isotropic (ViT) | hierarchical (Swin / PVT / Shunted / HorNet)
    img_size: int = 32
    in_chans: int = 3
    num_classes: int = 10
    # stem: patch (conv k=s=patch_size), overlap (PVT-v2: conv k=2s-1), conv (Shunted: 7×7/2 + 3×3s + 2×2/2)
    stem: str = "patch"
    patch_size: int = 4
    stem_norm: bool = False  # LayerNorm after the patch projection (Swin, HorNet) or not (ViT)
    stem_norm_eps: float = 1e-5  # eps of the stem's LayerNorm: PyTorch's default (Swin, PVT, Shunted); HorNet 1e-6
    stem_convs: int = 0  # extra 3×3 convs of the conv stem (Shunted T/S/B: 0/1/2)
    stem_dim: int = 64  # width of the conv stem's hidden convs
    # between stages: merge (Swin 2×2 patch merging) | conv (PVT/Shunted 3×3/2) | ln_conv (HorNet LN + 2×2/2)
    downsample: str = "merge"
    depths: tuple[int, ...] = (4,)
    dims: tuple[int, ...] = (96,)
    heads: tuple[int, ...] = (3,)
    mlp_ratio: tuple[float, ...] = (2.0,)
    mixer: tuple[str, ...] = ("global",)  # global | window | sr | shunted | gnconv, per stage
    window_size: tuple[int, ...] = (7,)  # M per stage (window mixer)
    shift: bool = True  # alternate blocks shifted by ⌊M/2⌋ (window mixer)
    kv_ratios: tuple[tuple[int, ...], ...] = ((1,),)  # per stage, per head group (sr: one; shunted: 1+)
    gn_order: tuple[int, ...] = (3,)  # gnConv recursion order per stage (HorNet: 2, 3, 4, 5)
    gn_scale: float = 1.0 / 3.0  # HorNet's scale on the depthwise branch
    # gnConv's spatial filter per stage: dw7 (depthwise 7×7) | gf (HorNet's global-local filter). Stored
    # compact, one entry when every stage has the same one, so the default stays the default at any depth.
    gn_filter: tuple[str, ...] = ("dw7",)
    pos: str = "abs"  # none | abs | rel | abs+rel
    appearance: bool = True  # False drops q·k: attention from the relative bias alone (Swin "w/o app.")
    ffn: str = "mlp"  # mlp | ds (Shunted detail-specific, with residual) | dw (PVT-v2, no residual)
    pool: str = "mean"  # mean (valid with every mixer; learns the probes much sooner) | cls
    stage_norm: bool = False  # LayerNorm closing every stage (PVT/Shunted) instead of one final norm
    # the final LayerNorm after pooling (True: HorNet, ConvNeXt) or before it (False); None: after it only
    # for an isotropic mean-pooled model (timm's ViT with global_pool='avg'), before it otherwise
    fc_norm: bool | None = None
    layer_scale: float = 0.0  # init of a learnable per-channel scale on both residual branches (HorNet 1e-6); 0: none
    conv_init: str = "torch"  # torch (PyTorch's default) | trunc_normal (std 0.02, biases 0, as Linear layers: HorNet)
    qkv_bias: bool = True
    drop_path: float = 0.0  # stochastic depth, rising linearly to this value over all blocks
    norm_eps: float = 1e-6

    # ---------------------------------------------------------------- normalisation
    def __post_init__(self) -> None:
        n = len(self.depths)
        if n == 0:
            raise ConfigError("model.depths: at least one stage is needed")
        for name in ("dims", "heads", "mlp_ratio", "mixer", "window_size", "gn_order"):
            object.__setattr__(self, name, self._per_stage(name, getattr(self, name), n))
        object.__setattr__(self, "kv_ratios", self._kv_per_stage(self.kv_ratios, n))
        filters = self._per_stage("gn_filter", self.gn_filter, n)
        object.__setattr__(self, "gn_filter", filters[:1] if len(set(filters)) == 1 else filters)
        check_finite(self, "model.")
        if not (self.gn_scale > 0 and self.norm_eps > 0):
            raise ConfigError(f"model.gn_scale / model.norm_eps: {self.gn_scale} / {self.norm_eps} must be positive")
        self._validate()

    @staticmethod
    def _per_stage(name: str, value: Any, n: int) -> tuple:
        value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        if len(value) == 1 and n > 1:
            value = value * n
        if len(value) != n:
            raise ConfigError(f"model.{name}: {list(value)} has {len(value)} entries but the model has {n} stages")
        return value

    @staticmethod
    def _kv_per_stage(value: Any, n: int) -> tuple[tuple[int, ...], ...]:
        value = value if isinstance(value, (list, tuple)) else (value,)
        stages = tuple(tuple(v) if isinstance(v, (list, tuple)) else (v,) for v in value)
        if len(stages) == 1 and n > 1:
            stages = stages * n
        if len(stages) != n:
            raise ConfigError(
                f"model.kv_ratios: {[list(s) for s in stages]} has {len(stages)} entries but the model has {n} stages"
            )
        return tuple(tuple(int(r) for r in s) for s in stages)

    # ---------------------------------------------------------------- validation
    def _validate(self) -> None:
        """Each rule group in turn; the first that fails raises, naming the field and the value."""
        self._validate_names()
        self._validate_scalars()
        for i in range(self.num_stages):
            self._validate_stage(i)
        self._validate_tokens()
        self._validate_geometry()

    def _validate_names(self) -> None:
        choice("layout", self.layout, kinds.LAYOUTS)
        choice("stem", self.stem, kinds.STEMS)
        choice("downsample", self.downsample, kinds.DOWNSAMPLES)
        choice("pos", self.pos, kinds.POSITIONS)
        choice("ffn", self.ffn, kinds.FFNS)
        choice("pool", self.pool, kinds.POOLS)
        choice("conv_init", self.conv_init, CONV_INITS)
        for i, f in enumerate(self.gn_filters):
            if f not in GN_FILTERS:
                raise ConfigError(f"model.gn_filter: stage {i} {f!r} is not one of {', '.join(map(repr, GN_FILTERS))}")
        for i, m in enumerate(self.mixer):
            if m not in kinds.MIXERS:
                raise ConfigError(f"model.mixer: stage {i} {m!r} is not one of {', '.join(map(repr, kinds.MIXERS))}")

    def _validate_scalars(self) -> None:
        for name in ("img_size", "in_chans", "patch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name}: {getattr(self, name)} must be at least 1")
        if self.num_classes < 0:  # 0: no classifier, the pooled features come out (timm's num_classes=0)
            raise ConfigError(f"model.num_classes: {self.num_classes} must be ≥ 0 (0: no classifier)")
        if self.stem_convs < 0 or self.stem_dim < 1:
            raise ConfigError(f"model.stem_convs/stem_dim: {self.stem_convs}/{self.stem_dim} must be ≥ 0 / ≥ 1")
        if self.layer_scale < 0:
            raise ConfigError(f"model.layer_scale: {self.layer_scale} must be ≥ 0 (0: no layer scale)")
        if not self.stem_norm_eps > 0:
            raise ConfigError(f"model.stem_norm_eps: {self.stem_norm_eps} must be positive")
        if not 0.0 <= self.drop_path < 1.0:
            raise ConfigError(f"model.drop_path: {self.drop_path} must lie in [0, 1)")
        if self.layout == "isotropic" and len(self.depths) != 1:
            raise ConfigError(f"model.depths: {list(self.depths)} has several stages but model.layout is 'isotropic'")
        if self.layout == "hierarchical" and self.pool == "cls":
            raise ConfigError("model.pool: 'cls' needs model.layout='isotropic': a class token cannot be merged "
                              "between stages")
        if min(self.stem_grid()) < 1:
            raise ConfigError(f"model.img_size: {self.img_size} is smaller than the stem's stride {self.stem_stride}")

    def _validate_stage(self, i: int) -> None:
        """Stage ``i``'s widths and its mixer's own rules (heads, windows, KV ratios, gnConv orders)."""
        where, d, dim, h, r = f"stage {i}", self.depths[i], self.dims[i], self.heads[i], self.mlp_ratio[i]
        if d < 1 or dim < 1 or h < 1:
            raise ConfigError(f"model.depths/dims/heads: {where} has depth {d}, dim {dim}, heads {h}; each must be ≥ 1")
        if r <= 0:
            raise ConfigError(f"model.mlp_ratio: {where} ratio {r} must be positive")
        mixer, ratios = self.mixer[i], self.kv_ratios[i]
        row = kinds.MIXERS[mixer]
        if row.attention and dim % h:
            raise ConfigError(f"model.heads: {where} dim {dim} is not divisible by {h} heads")
        if any(k < 1 for k in ratios):
            raise ConfigError(f"model.kv_ratios: {where} {list(ratios)} must all be ≥ 1")
        if not row.gn_filter and self.gn_filters[i] != "dw7":
            raise ConfigError(f"model.gn_filter: {where} {self.gn_filters[i]!r} is a gnConv filter, but the "
                              f"stage's mixer is {mixer!r}")
        if row.check is not None:  # the mixer's own rules, carried by its kinds row
            row.check(self, i)

    def _validate_tokens(self) -> None:
        """What a class token and the position parts need of the mixers and the FFN."""
        if self.pool == "cls":
            for i, m in enumerate(self.mixer):
                if not kinds.MIXERS[m].prefix_tokens:
                    raise ConfigError(f"model.pool: 'cls' needs global attention, stage {i} mixer is {m!r}: "
                                      f"use model.pool=mean")
            if kinds.FFNS[self.ffn].token_grid:
                raise ConfigError(f"model.ffn: {self.ffn!r} convolves the token grid, which a class token is not "
                                  f"on: use model.pool=mean")
        if self.position.relative is not None:
            bad = [f"stage {i} is {m!r}" for i, m in enumerate(self.mixer) if not kinds.MIXERS[m].relative_bias]
            if bad:
                raise ConfigError(f"model.pos: {self.pos!r} needs global or window attention in every stage; "
                                  f"{', '.join(bad)}")
        if not self.appearance and self.position.relative is None:
            raise ConfigError(f"model.appearance: false leaves no attention term with model.pos={self.pos!r}; "
                              f"use pos rel or abs+rel")

    def _validate_geometry(self) -> None:
        """Every stage keeps tokens at the input size, and reduced keys/values fit their maps."""
        for i, (h, w) in enumerate(self.stage_grids()):
            if h < 1 or w < 1:
                raise ConfigError(f"model.img_size: {self.img_size} leaves no tokens at stage {i} ({h}×{w})")
            if kinds.MIXERS[self.mixer[i]].pooled_kv and max(self.kv_ratios[i]) > min(h, w):
                raise ConfigError(
                    f"model.kv_ratios: stage {i} {list(self.kv_ratios[i])}: ratio {max(self.kv_ratios[i])} exceeds the "
                    f"{h}×{w} feature map at model.img_size={self.img_size}"
                )

    # ---------------------------------------------------------------- derived geometry
    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def gn_filters(self) -> tuple[str, ...]:
        """``gn_filter`` per stage (the field itself is stored compact)."""
        return self.gn_filter * self.num_stages if len(self.gn_filter) == 1 else self.gn_filter

    @property
    def position(self) -> kinds.Position:
        """``pos`` resolved into its parts: an absolute embedding and/or a relative bias."""
        return kinds.POSITIONS[self.pos]

    @property
    def stem_stride(self) -> int:
        return kinds.STEMS[self.stem].stride(self)

    def stem_grid(self, img_size: int | None = None) -> tuple[int, int]:
        size = self.img_size if img_size is None else img_size
        g = kinds.STEMS[self.stem].grid(size, self)
        return (g, g)

    def stage_grids(self, img_size: int | None = None) -> list[tuple[int, int]]:
        """Token grid (H, W) of every stage."""
        h, w = self.stem_grid(img_size)
        grids = [(h, w)]
        down = kinds.DOWNSAMPLES[self.downsample].grid
        for _ in range(1, self.num_stages):
            h, w = down(h), down(w)
            grids.append((h, w))
        return grids

    def stage_windows(self, img_size: int | None = None) -> list[tuple[int, int]]:
        """(window, shift) per stage after clamping: a window ≥ its feature map covers it, unshifted."""
        out = []
        for i, (h, w) in enumerate(self.stage_grids(img_size)):
            m = self.window_size[i]
            shift = m // 2 if self.shift else 0
            if kinds.MIXERS[self.mixer[i]].windowed and max(h, w) <= m:
                m, shift = max(h, w), 0
            out.append((m, shift))
        return out

    def notes(self) -> list[str]:
        """Things the plan should tell the user: windows clamped to their feature maps, padding."""
        out = []
        for i, ((h, w), (m, _)) in enumerate(zip(self.stage_grids(), self.stage_windows())):
            if not kinds.MIXERS[self.mixer[i]].windowed:
                continue
            if max(h, w) <= self.window_size[i]:
                out.append(f"stage {i}: window {self.window_size[i]} clamped to the {h}×{w} feature map "
                           f"(global attention there), shift off")
            elif h % m or w % m:
                out.append(f"stage {i}: {h}×{w} feature map padded to a multiple of window {m}")
        return out

    def replace(self, **overrides: Any) -> "ModelConfig":
        return with_overrides(self, overrides, prefix="model.")


def model_config_from(data: Mapping[str, Any] | ModelConfig) -> ModelConfig:
    if isinstance(data, ModelConfig):
        return data
    return with_overrides(ModelConfig(), dict(data), prefix="model.")
