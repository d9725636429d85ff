"""Named configurations as data. Published ones carry timm's names and the papers' shapes; the
``*_cpu`` ones are CPU-sized for 32×32 inputs (the embedded probes and the tests)."""

from __future__ import annotations

from typing import Any

from .config import ModelConfig
from .overrides import ConfigError

_VIT = dict(layout="isotropic", img_size=224, num_classes=1000, stem="patch", patch_size=16, pos="abs",
            mixer="global", pool="cls", mlp_ratio=4.0, norm_eps=1e-6)
_SWIN = dict(layout="hierarchical", img_size=224, num_classes=1000, stem="patch", patch_size=4, stem_norm=True,
             downsample="merge", mixer="window", window_size=7, shift=True, pos="rel", pool="mean",
             mlp_ratio=4.0, norm_eps=1e-5)
_PVT2 = dict(layout="hierarchical", img_size=224, num_classes=1000, stem="overlap", downsample="conv", mixer="sr",
             kv_ratios=[8, 4, 2, 1], pos="none", pool="mean", ffn="dw", mlp_ratio=(8, 8, 4, 4), heads=(1, 2, 5, 8),
             stage_norm=True, norm_eps=1e-6)
_SHUNTED = dict(layout="hierarchical", img_size=224, num_classes=1000, stem="conv", downsample="conv", mixer="shunted",
                kv_ratios=[[8, 4], [4, 2], [2, 1], [1]], pos="none", pool="mean", ffn="ds", dims=(64, 128, 256, 512),
                heads=(2, 4, 8, 16), mlp_ratio=(8, 8, 4, 4), stage_norm=True, norm_eps=1e-6)
# HorNet (Rao et al., NeurIPS 2022, and its official code): 4×4/4 stem + LN, LN + 2×2/2 downsampling,
# x + γ·gnConv(LN(x)), x + γ·MLP(LN(x)) with γ initialised to 1e-6, orders 2–5 with s = 1/3, pooling then LN,
# truncated-normal init of convolutions too; every LayerNorm eps 1e-6. Widths double per stage.
_HORNET = dict(layout="hierarchical", img_size=224, num_classes=1000, stem="patch", patch_size=4, stem_norm=True,
               stem_norm_eps=1e-6, downsample="ln_conv", mixer="gnconv", gn_order=(2, 3, 4, 5), gn_scale=1.0 / 3.0,
               pos="none", pool="mean", fc_norm=True, depths=(2, 3, 18, 2), heads=1, mlp_ratio=4.0, layer_scale=1e-6,
               conv_init="trunc_normal", norm_eps=1e-6)
_GF = ("dw7", "dw7", "gf", "gf")  # HorNet GF: the global-local filter in stages 3 and 4
_CPU = dict(img_size=32, num_classes=10)

PRESETS: dict[str, dict[str, Any]] = {
    # ViT (Dosovitskiy et al.; timm's vit_*_patch16_224)
    "vit_tiny_patch16_224": dict(_VIT, depths=12, dims=192, heads=3),
    "vit_small_patch16_224": dict(_VIT, depths=12, dims=384, heads=6),
    "vit_base_patch16_224": dict(_VIT, depths=12, dims=768, heads=12),
    # Swin (Liu et al. Table 1)
    "swin_tiny_patch4_window7_224": dict(_SWIN, depths=(2, 2, 6, 2), dims=(96, 192, 384, 768), heads=(3, 6, 12, 24),
                                         drop_path=0.2),
    "swin_small_patch4_window7_224": dict(_SWIN, depths=(2, 2, 18, 2), dims=(96, 192, 384, 768), heads=(3, 6, 12, 24),
                                          drop_path=0.3),
    "swin_base_patch4_window7_224": dict(_SWIN, depths=(2, 2, 18, 2), dims=(128, 256, 512, 1024),
                                         heads=(4, 8, 16, 32), drop_path=0.5),
    # PVT-v2 (Wang et al.)
    "pvt_v2_b0": dict(_PVT2, depths=(2, 2, 2, 2), dims=(32, 64, 160, 256)),
    "pvt_v2_b1": dict(_PVT2, depths=(2, 2, 2, 2), dims=(64, 128, 320, 512)),
    "pvt_v2_b2": dict(_PVT2, depths=(3, 4, 6, 3), dims=(64, 128, 320, 512)),
    # Shunted (Ren et al., official configuration)
    "shunted_t": dict(_SHUNTED, depths=(1, 2, 4, 1), stem_convs=0),
    "shunted_s": dict(_SHUNTED, depths=(2, 4, 12, 1), stem_convs=1),
    "shunted_b": dict(_SHUNTED, depths=(3, 4, 24, 2), stem_convs=2),
    # HorNet (Rao et al.), base width 64 / 96 / 128; drop path as the official training commands
    "hornet_tiny_7x7": dict(_HORNET, dims=(64, 128, 256, 512), drop_path=0.2),
    "hornet_small_7x7": dict(_HORNET, dims=(96, 192, 384, 768), drop_path=0.4),
    "hornet_base_7x7": dict(_HORNET, dims=(128, 256, 512, 1024), drop_path=0.5),
    "hornet_tiny_gf": dict(_HORNET, dims=(64, 128, 256, 512), gn_filter=_GF, drop_path=0.2),
    "hornet_small_gf": dict(_HORNET, dims=(96, 192, 384, 768), gn_filter=_GF, drop_path=0.4),
    "hornet_base_gf": dict(_HORNET, dims=(128, 256, 512, 1024), gn_filter=_GF, drop_path=0.5),
    # CPU-sized, 32×32 inputs, seconds per epoch on 2 cores
    "vit_cpu": dict(_VIT, **_CPU, patch_size=4, depths=4, dims=96, heads=3, mlp_ratio=2.0),
    "swin_cpu": dict(_SWIN, **_CPU, patch_size=2, depths=(2, 2), dims=(48, 96), heads=(2, 4), window_size=4,
                     mlp_ratio=2.0),
    "pvt_cpu": dict(_PVT2, **_CPU, depths=(2, 2), dims=(48, 96), heads=(1, 2), kv_ratios=[2, 1], mlp_ratio=(4, 4)),
    "shunted_cpu": dict(_SHUNTED, **_CPU, depths=(2, 2), dims=(48, 96), heads=(2, 4), kv_ratios=[[2, 1], [1]],
                        mlp_ratio=(4, 4), stem_dim=32),
    # HorNet's stem, orders 2, 3; layer scale at CaiT's init for shallow networks (0.1 up to depth 18): at 1e-6
    # this 4-block model had not left the cross_window probe's loss plateau after 1,024 steps, at 0.1 it solved
    # the probe within 256
    "hornet_cpu": dict(_HORNET, **_CPU, depths=(2, 2), dims=(48, 96), gn_order=(2, 3), layer_scale=0.1),
}


def list_presets() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str) -> ModelConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(list_presets())}")
    return ModelConfig().replace(name=name, **PRESETS[name])
