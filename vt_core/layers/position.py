"""Position information: learned absolute embeddings (ViT) and relative position bias (Swin)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import register_notrace_module, trunc_normal_
from torch import nn


def relative_position_index(h: int, w: int, device: torch.device | None = None) -> torch.Tensor:
    """Index into a (2h−1)(2w−1) table for every pair of tokens of an h×w grid (Swin, Liu et al.,
    ICCV 2021, eq. 4; timm's swin_transformer.py builds the same)."""
    coords = torch.stack(torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij"))
    coords = coords.flatten(1)  # 2, hw
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # hw, hw, 2 in [−(h−1), h−1] × [−(w−1), w−1]
    rel[:, :, 0] += h - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1  # row-major over the (2h−1) × (2w−1) table
    return rel.sum(-1)  # hw, hw


def resize_bias_table(table: torch.Tensor, old: tuple[int, int], new: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of a (2h−1)(2w−1) × heads table from grid ``old`` to grid ``new``."""
    if old == new:
        return table
    heads = table.shape[1]
    src = table.T.reshape(1, heads, 2 * old[0] - 1, 2 * old[1] - 1)
    dst = F.interpolate(src.float(), size=(2 * new[0] - 1, 2 * new[1] - 1), mode="bicubic", align_corners=False)
    return dst.to(table.dtype).reshape(heads, -1).T.contiguous()


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class RelativePositionBias(nn.Module):
    """A learned bias per head and relative offset, added to the attention logits (Swin eq. 4)."""

    def __init__(self, *, grid: tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self.grid = tuple(grid)
        h, w = self.grid
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * h - 1) * (2 * w - 1), num_heads))
        trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(h, w), persistent=False)

    def forward(self, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """Bias for all token pairs of ``grid`` (default: the built one): (heads, N, N)."""
        table, index = self.relative_position_bias_table, self.relative_position_index
        if grid is not None and tuple(grid) != self.grid:  # a resolution the model was not built for
            table = resize_bias_table(table, self.grid, tuple(grid))
            index = relative_position_index(*grid, device=table.device)
        n = index.shape[0]
        return table[index.view(-1)].view(n, n, -1).permute(2, 0, 1)

    def set_feat_size(self, grid: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """Resize the table in place (bicubic) for a new token grid (a window's, or the whole map's)."""
        grid = tuple(grid)
        with torch.no_grad():
            table = resize_bias_table(self.relative_position_bias_table.data, self.grid, grid)
        self.relative_position_bias_table = nn.Parameter(table)
        self.relative_position_index = relative_position_index(*grid, device=table.device)
        self.grid = grid


def resample_abs_pos(pos: torch.Tensor, old: tuple[int, int], new: tuple[int, int], num_prefix: int) -> torch.Tensor:
    """Bicubic resampling of a (1, prefix + h·w, C) embedding to another grid; prefix tokens kept."""
    if old == new:
        return pos
    prefix, grid = pos[:, :num_prefix], pos[:, num_prefix:]
    c = grid.shape[-1]
    grid = grid.reshape(1, old[0], old[1], c).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=new, mode="bicubic", align_corners=False).to(pos.dtype)
    return torch.cat([prefix, grid.permute(0, 2, 3, 1).reshape(1, new[0] * new[1], c)], dim=1)


@register_notrace_module  # a leaf for timm's fx tracer (shape-dependent control flow)
class AbsolutePositionEmbedding(nn.Module):
    """Learned absolute embedding added to the tokens (ViT), resampled when the grid changes."""

    def __init__(self, *, dim: int, grid: tuple[int, int], num_prefix_tokens: int = 0) -> None:
        super().__init__()
        self.grid = tuple(grid)
        self.num_prefix_tokens = num_prefix_tokens
        self.pos_embed = nn.Parameter(torch.zeros(1, num_prefix_tokens + grid[0] * grid[1], dim))
        trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        pos = resample_abs_pos(self.pos_embed, self.grid, tuple(grid), self.num_prefix_tokens)
        return x + pos

    def set_feat_size(self, grid: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        """Resample the embedding in place (bicubic) for a new token grid."""
        with torch.no_grad():
            pos = resample_abs_pos(self.pos_embed.data, self.grid, tuple(grid), self.num_prefix_tokens)
        self.pos_embed = nn.Parameter(pos)
        self.grid = tuple(grid)
