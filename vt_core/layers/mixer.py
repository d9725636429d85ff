"""What every token mixer answers: the contract ``vt_core.factory`` and the model rely on."""

from __future__ import annotations

import torch
from timm.layers import register_notrace_module
from torch import nn


class TokenMixer(nn.Module):
    """A block's token mixer: ``forward(x (B, N, C), feat_size (H, W)) -> (B, N, C)``.

    Built from a ``vt_core.kinds.BlockSpec`` by a ``from_spec`` class method (its ``vt_core.kinds``
    row names it). A mixer that caches per-resolution state (masks, indices, bias tables, filters)
    rebuilds it in ``set_feat_size``; the default has nothing to rebuild.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        # every mixer is a leaf for timm's fx tracer (feature extraction): window partition, padding
        # and per-resolution caches are shape-dependent control flow, as in timm's own attention
        super().__init_subclass__(**kwargs)
        register_notrace_module(cls)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def set_feat_size(self, feat_size: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """Adopt another token grid (``window``: this block's clamped (M, shift) there)."""
