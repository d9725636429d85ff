"""Mean attention distance (Dosovitskiy et al. 2021, Fig. 7; Raghu et al. 2021): for each query, the
attention-weighted mean distance, in input pixels, to its keys; averaged over queries and images,
per block and head. Keys pooled r×r (PVT's SR, Shunted's MTA) sit at the centre of what they pool;
tokens with no place (a class token, padding) are left out and the rest renormalised."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..layers.mixer import TokenMixer


class AttentionDistance:
    """An ``AttentionProbe``: sums per block and head of the queries' mean distance, and counts."""

    def __init__(self, img_size: tuple[int, int]) -> None:
        self.img_size = img_size
        self.names: dict[TokenMixer, str] = {}
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, torch.Tensor] = {}
        self.stride: dict[str, float] = {}

    def __call__(self, mixer: TokenMixer, probs: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor,
                 feat_size: tuple[int, int], first_head: int = 0) -> None:
        name = self.names[mixer]
        px = q_pos.new_tensor([self.img_size[0] / feat_size[0], self.img_size[1] / feat_size[1]])
        self.stride[name] = float(px[0])
        per_query, valid = query_distances(probs.float(), q_pos * px, k_pos * px)  # (B, h, G, Nq), (G, Nq)
        heads = probs.shape[1]
        if name not in self.sums:
            self.sums[name] = torch.zeros(mixer.num_heads, dtype=torch.float64)
            self.counts[name] = torch.zeros(mixer.num_heads, dtype=torch.float64)
        hs = slice(first_head, first_head + heads)
        self.sums[name][hs] += (per_query * valid).sum(dim=(0, 2, 3)).double().cpu()
        self.counts[name][hs] += float(valid.sum()) * per_query.shape[0]

    def result(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, sums in self.sums.items():
            heads = (sums / self.counts[name].clamp(min=1)).tolist()
            out[name] = {"heads_px": heads, "mean_px": sum(heads) / len(heads), "token_px": self.stride[name]}
        return out


def query_distances(probs: torch.Tensor, q_pos: torch.Tensor, k_pos: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """probs (G·B, h, Nq, Nk) with batch-major groups, positions (G, N, 2) in pixels (NaN: no place)
    → each query's mean key distance (B, h, G, Nq) and which queries have a place (G, Nq)."""
    G = q_pos.shape[0]
    probs = probs.view(-1, G, *probs.shape[1:]).transpose(1, 2)  # B, h, G, Nq, Nk
    q_ok, k_ok = ~q_pos.isnan().any(-1), ~k_pos.isnan().any(-1)
    dist = (q_pos[:, :, None] - k_pos[:, None]).norm(dim=-1).nan_to_num(0.0)  # G, Nq, Nk
    weights = probs * k_ok[:, None].to(probs.dtype)
    mass = weights.sum(-1)
    per_query = (weights * dist).sum(-1) / mass.clamp(min=1e-12)
    return per_query, q_ok.to(probs.dtype)


def window_bound_px(window: int, token_px: float) -> float:
    """The farthest two tokens of an m×m window can be: its diagonal, in pixels."""
    return math.sqrt(2) * (window - 1) * token_px
