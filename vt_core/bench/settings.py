"""What one benchmark invocation times: the presets, device, dtype, batch, modes and repeats."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_PRESETS = ("vit_base_patch16_224", "swin_tiny_patch4_window7_224", "pvt_v2_b2", "shunted_s")
MODES = ("train", "infer")
DATA = ("synthetic", "probe")
# timm 1.0 reads TIMM_FUSED_ATTN once, at import, and each attention module copies the setting when
# it is built; 2 also enables the "experimental" fused path of Swin's WindowAttention, timm's
# fastest setting, so ours is compared against timm at its best. ``timm.layers.set_fused_attn`` is
# the documented switch for the same global: the bench sets it around building the timm model only
# and restores it.
TIMM_FUSED_DEFAULT = 2


@dataclass
class Settings:
    presets: tuple[str, ...]
    device: torch.device
    dtype: str  # "bf16" (autocast) or "fp32"
    batch: int
    img_size: int
    modes: tuple[str, ...]
    compile: tuple[bool, ...]  # (False,) or (False, True): eager rows, then compiled rows
    data: tuple[str, ...]
    warmup: int
    repeats: int
    steps: int
    timm_fused_attn: int
    out: Path
    threads: int | None = None  # torch.set_num_threads; None leaves torch's default
