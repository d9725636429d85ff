"""Translation sensitivity: the images cyclically shifted by k pixels down and right (torch.roll, so
no content is lost or invented), against the unshifted: prediction agreement, mean KL(p₀ ‖ p_k) of
the softmax outputs, and top-1. A shift by a multiple of the stem stride is "patch aligned": it
permutes the tokens, which a model without position information and with global mixing and mean
pooling cannot see."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F


def default_shifts(stem_stride: int) -> tuple[int, ...]:
    """1 px, half a patch, one patch, two patches (the unaligned and the aligned)."""
    return tuple(sorted({1, max(1, stem_stride // 2), stem_stride, 2 * stem_stride}))


def shift_images(images: torch.Tensor, k: int) -> torch.Tensor:
    return torch.roll(images, shifts=(k, k), dims=(2, 3))


def translation_sensitivity(logits_of: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                            labels: torch.Tensor, base: torch.Tensor, shifts: tuple[int, ...],
                            stem_stride: int) -> dict[str, Any]:
    """``base``: the unshifted logits; ``logits_of`` runs the model (in batches) on shifted images."""
    logp0 = F.log_softmax(base.double(), dim=-1)
    rows = []
    for k in shifts:
        logits = logits_of(shift_images(images, k))
        logp = F.log_softmax(logits.double(), dim=-1)
        rows.append({
            "shift_px": k, "patch_aligned": k % stem_stride == 0,
            "agreement": float((logits.argmax(-1) == base.argmax(-1)).double().mean()),
            "kl": float(F.kl_div(logp, logp0, log_target=True, reduction="batchmean")),
            "top1": float((logits.argmax(-1) == labels).double().mean() * 100),
        })
    return {"top1": float((base.argmax(-1) == labels).double().mean() * 100), "stem_stride_px": stem_stride,
            "shifts": rows}
