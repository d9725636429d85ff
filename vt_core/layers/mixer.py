"""What every token mixer answers: the contract ``vt_core.factory`` and the model rely on."""

from __future__ import annotations

from typing import Callable, Protocol

import torch
from timm.layers import register_notrace_module
from torch import nn


class AttentionProbe(Protocol):
    """What ``vt_core.analyze`` attaches to a mixer to read its attention (never set in training).

    Called once per ``attend`` with the softmax probabilities ``probs`` (G·B, h, Nq, Nk): G groups of
    queries (windows; 1 for global attention) of B images, and the token-grid coordinates, in token
    units (row, column), of every query ``q_pos`` (G, Nq, 2) and key ``k_pos`` (G, Nk, 2): a pooled key
    at the centre of the cell it pools; NaN for a token with no place (a class token, padding).
    ``first_head`` numbers ``probs``' heads within the mixer (Shunted's head groups).
    """

    def __call__(self, mixer: "TokenMixer", probs: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor,
                 feat_size: tuple[int, int], first_head: int = 0) -> None: ...


class TokenMixer(nn.Module):
    """A block's token mixer: ``forward(x (B, N, C), feat_size (H, W)) -> (B, N, C)``.

    Built from a ``vt_core.kinds.BlockSpec`` by a ``from_spec`` class method (its ``vt_core.kinds``
    row names it). A mixer that caches per-resolution state (masks, indices, bias tables, filters)
    rebuilds it in ``set_feat_size``; the default has nothing to rebuild.
    """

    # set on an instance by vt_core.analyze while it records attention; None (the class default) otherwise
    attention_probe: AttentionProbe | None = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        # every mixer is a leaf for timm's fx tracer (feature extraction): window partition, padding
        # and per-resolution caches are shape-dependent control flow, as in timm's own attention
        super().__init_subclass__(**kwargs)
        register_notrace_module(cls)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def set_feat_size(self, feat_size: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """Adopt another token grid (``window``: this block's clamped (M, shift) there)."""

    def probe_for(self, feat_size: tuple[int, int], positions: Callable[[], tuple[torch.Tensor, torch.Tensor]],
                  first_head: int = 0) -> Callable[[torch.Tensor], None] | None:
        """``attend``'s ``probe``: None (the fused kernel runs) unless a probe is attached; then a
        callable handing it the probabilities with ``positions()`` (q_pos, k_pos), computed only then."""
        probe = self.attention_probe
        if probe is None:
            return None
        return lambda probs: probe(self, probs, *positions(), feat_size, first_head)


def grid_positions(h: int, w: int, cell: int = 1, device: torch.device | None = None) -> torch.Tensor:
    """Centres (row, column), in token units, of an h×w grid of cells of ``cell``×``cell`` tokens,
    row-major (h·w, 2): a token's centre is i + ½, a pooled key's the middle of the tokens it pools."""
    rows = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * cell
    cols = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * cell
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).reshape(h * w, 2)


def pooled_positions(feat_size: tuple[int, int], key_grid: tuple[int, int], ratio: int,
                     device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(q_pos, k_pos) of attention from every token of ``feat_size`` to keys pooled r×r (kernel =
    stride = r) onto ``key_grid``; r = 1 is plain attention over the grid."""
    return grid_positions(*feat_size, device=device)[None], grid_positions(*key_grid, cell=ratio, device=device)[None]
