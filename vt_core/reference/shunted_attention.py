"""Shunted self-attention spelled out: the reference that ``vt_core.layers.ShuntedAttention`` is checked against.

Ren et al., "Shunted Self-Attention via Multi-Scale Token Aggregation" (CVPR 2022), §3.1. The heads of
one layer are split evenly into groups, one per rate r_i. Group i takes its keys and values from the
tokens after multi-scale token aggregation at rate r_i (MTA: a convolution with kernel = stride = r_i,
then LayerNorm and GELU), adds to its values a local enhancement (LE: a depthwise 3×3 convolution over
the aggregated token grid), and attends with softmax(q·kᵀ / √d). The groups' outputs are concatenated
along the channels and projected. A layer with one group at rate 1 (the last stage of every Shunted
model) aggregates nothing and adds LE(V) to the attention output instead of to V, as the authors'
released model does (github.com/OliverRensu/Shunted-Transformer).

Nothing here is fused or clever: explicit ``(q @ kᵀ) * scale`` and ``softmax``. Keys and values of a
group come from one linear layer ([K | V] along its outputs), as in the released model, so the reference
does the same matrix products as the model it is timed against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from vt_core.layers import ShuntedAttention


class MultiScaleTokenAggregation(nn.Module):
    """MTA at rate r: (B, C, H, W) map → (B, ⌊H/r⌋·⌊W/r⌋, C) tokens after conv(k = s = r), LayerNorm, GELU."""

    def __init__(self, dim: int, *, rate: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(dim, dim, kernel_size=rate, stride=rate)
        self.norm = nn.LayerNorm(dim)
        self.act = nn.GELU()

    def forward(self, fmap: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        reduced = self.reduce(fmap)  # B, C, H/r, W/r
        grid = (reduced.shape[2], reduced.shape[3])
        return self.act(self.norm(reduced.flatten(2).transpose(1, 2))), grid


class HeadGroup(nn.Module):
    """Where one group of heads gets its keys and values: MTA (absent in a single-scale layer), [K | V], LE."""

    def __init__(self, dim: int, *, width: int, rate: int, aggregate: bool, qkv_bias: bool) -> None:
        super().__init__()
        self.mta = MultiScaleTokenAggregation(dim, rate=rate) if aggregate else None
        self.kv = nn.Linear(dim, 2 * width, bias=qkv_bias)
        self.local = nn.Conv2d(width, width, kernel_size=3, padding=1, groups=width)


class ReferenceShuntedAttention(nn.Module):
    """Shunted self-attention over an H×W token grid with one head group per entry of ``ratios``."""

    def __init__(self, dim: int, *, num_heads: int, ratios: tuple[int, ...], qkv_bias: bool = True) -> None:
        super().__init__()
        if dim % num_heads or num_heads % len(ratios):
            raise ValueError(f"shunted attention: dim {dim}, {num_heads} heads and ratios {list(ratios)} do not split")
        self.num_heads = num_heads
        self.ratios = tuple(ratios)
        self.heads_per_group = num_heads // len(ratios)
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.single_scale = self.ratios == (1,)
        width = dim // len(ratios)
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.groups = nn.ModuleList(
            HeadGroup(dim, width=width, rate=r, aggregate=not self.single_scale, qkv_bias=qkv_bias) for r in ratios
        )
        self.proj = nn.Linear(dim, dim)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, M, _ = t.shape  # B, M, heads_per_group · head_dim → B, heads_per_group, M, head_dim
        return t.reshape(B, M, self.heads_per_group, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, H: int, W: int) -> torch.Tensor:
        B, N, C = x.shape
        q = self.q(x).reshape(B, N, self.num_heads, self.head_dim).transpose(1, 2)  # B, heads, N, d
        fmap = x.transpose(1, 2).reshape(B, C, H, W)
        outputs = []
        for i, group in enumerate(self.groups):
            if group.mta is None:
                source, (h, w) = x, (H, W)
            else:
                source, (h, w) = group.mta(fmap)  # B, h·w, C
            k, v = group.kv(source).chunk(2, dim=-1)  # B, h·w, C/n each
            local = group.local(v.transpose(1, 2).reshape(B, -1, h, w)).flatten(2).transpose(1, 2)  # B, h·w, C/n
            if not self.single_scale:
                v = v + local
            q_i = q[:, i * self.heads_per_group:(i + 1) * self.heads_per_group]  # B, heads/n, N, d
            attn = (q_i @ self._split_heads(k).transpose(-2, -1)) * self.scale  # B, heads/n, N, h·w
            out = (attn.softmax(dim=-1) @ self._split_heads(v)).transpose(1, 2).reshape(B, N, -1)  # B, N, C/n
            outputs.append(out + local if self.single_scale else out)
        return self.proj(torch.cat(outputs, dim=-1))


def attention_pairs(ours: "ShuntedAttention", ref: ReferenceShuntedAttention) -> list[tuple[nn.Module, nn.Module]]:
    """(reference module, our module) pairs with the same parameters, for a weight copy."""
    if ours.ratios != ref.ratios or ours.num_heads != ref.num_heads:
        raise ValueError(f"shunted attention: ours has ratios {list(ours.ratios)} and {ours.num_heads} heads, "
                         f"the reference {list(ref.ratios)} and {ref.num_heads}")
    pairs: list[tuple[nn.Module, nn.Module]] = [(ref.q, ours.q), (ref.proj, ours.proj)]
    for mine, theirs in zip(ref.groups, ours.groups, strict=True):
        if (mine.mta is None) != (theirs.aggregate is None):
            raise ValueError(f"shunted attention {list(ref.ratios)}: token aggregation present on one side only")
        if mine.mta is not None:
            pairs += [(mine.mta.reduce, theirs.aggregate.sr), (mine.mta.norm, theirs.aggregate.norm)]
        pairs += [(mine.kv, theirs.kv), (mine.local, theirs.local_conv)]
    return pairs


@torch.no_grad()
def load_pairs(ref: nn.Module, ours: nn.Module, pairs: list[tuple[nn.Module, nn.Module]]) -> None:
    """Load every pair strictly (same keys, same shapes), then check that no tensor on either side was left out."""
    for mine, theirs in pairs:
        mine.load_state_dict(theirs.state_dict())
    for side, model in ((0, ref), (1, ours)):
        covered, total = sum(len(pair[side].state_dict()) for pair in pairs), len(model.state_dict())
        if covered != total:
            raise ValueError(f"weight copy: {covered} of the {total} tensors of {type(model).__name__} are paired")


def copy_attention_into_reference(ours: "ShuntedAttention", ref: ReferenceShuntedAttention) -> None:
    """Give ``ref`` the weights of a ``vt_core.layers.ShuntedAttention`` with the same shapes."""
    load_pairs(ref, ours, attention_pairs(ours, ref))
