"""Model checks shared by the toggle and family tests: companion settings and one training step."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vt_core import ModelConfig, VisionTransformer
from vt_core.kinds import MIXERS


def with_companions(base: ModelConfig, toggle: dict[str, Any]) -> dict[str, Any]:
    """The toggle, plus the companion settings it needs on this preset and does not set itself:
    mean pooling where the class token cannot be used, no relative position where it is undefined."""
    over = {k: (v(base.num_stages) if callable(v) else v) for k, v in toggle.items()}
    mixers = over.get("mixer", base.mixer)
    mixers = [mixers] if isinstance(mixers, str) else list(mixers)
    if "pool" not in over and base.pool == "cls" and (
        any(m != "global" for m in mixers) or over.get("ffn", base.ffn) != "mlp"
    ):
        over["pool"] = "mean"
    if "pos" not in over and "rel" in base.pos and any(not MIXERS[m].relative_bias for m in mixers):
        over["pos"] = "none"
    return over


def zero_grad_expected(cfg: ModelConfig, name: str) -> bool:
    """Parameters that are used but whose gradient is zero by construction:
    a relative table of 1×1 windows (softmax over one key), and the last block's relative table
    under class-token pooling (the class token gets no relative bias and is all the head reads)."""
    if not name.endswith("relative_position_bias_table"):
        return False
    stage, block = int(name.split(".")[1]), int(name.split(".")[3])
    if cfg.mixer[stage] == "window" and cfg.stage_windows()[stage][0] == 1:
        return True
    return cfg.pool == "cls" and stage == cfg.num_stages - 1 and block == cfg.depths[stage] - 1


def check_trains(model: VisionTransformer, size: int = 32) -> None:
    model.train()
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size)
    y = model(x)
    assert y.shape == (2, model.cfg.num_classes)
    assert torch.isfinite(y).all()
    F.cross_entropy(y, torch.tensor([1, 3])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"parameters without a gradient: {missing}"
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients: {bad}"
    zero = [n for n, p in model.named_parameters() if not p.grad.any() and not zero_grad_expected(model.cfg, n)]
    assert not zero, f"parameters whose gradient is identically zero (unused?): {zero}"


# The fast tier (pytest -m "not slow") checks the CPU-sized presets and one published model per family;
# the other published sizes are the same code at other widths and depths, checked in the full run (CI).
FAST_PUBLISHED = frozenset({"vit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "pvt_v2_b0", "shunted_t",
                            "hornet_tiny_7x7"})


def tiered(names: list[str], prefix: str = "") -> list[Any]:
    """``names`` as pytest parameters, those outside the fast tier marked slow."""
    import pytest

    def fast(name: str) -> bool:
        preset = name.removeprefix(prefix)
        return preset.endswith("_cpu") or preset in FAST_PUBLISHED

    return [n if fast(n) else pytest.param(n, marks=pytest.mark.slow) for n in names]
