"""Cross-window dependence: for a block of a window model, the share of an output token's
input-gradient mass (Σ over channels of |∂⟨r, y_t⟩/∂x_u|, r a fixed random direction) that comes from
input tokens u outside t's own window, measured at that block's input. "Own window": the regular
(unshifted) m×m partition of the block's map, so an unshifted window block scores exactly 0 and a
shifted one (SW-MSA) reaches across by its shifted windows."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..layers import Block
from ..layers.window_attention import WindowAttention
from .hooks import block_inputs, named_blocks


def window_ids(feat_size: tuple[int, int], m: int, device: torch.device | None = None) -> torch.Tensor:
    """The regular window of every token of an H×W map, row-major (H·W,)."""
    H, W = feat_size
    rows = torch.arange(H, device=device) // m
    cols = torch.arange(W, device=device) // m
    return (rows[:, None] * (-(-W // m)) + cols[None, :]).reshape(-1)


def block_dependence(block: Block, x: torch.Tensor, feat_size: tuple[int, int], m: int, *, tokens: int,
                     generator: torch.Generator) -> torch.Tensor:
    """Cross-window shares (images, tokens) of ``tokens`` sampled output tokens of ``block`` at input x."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = block(x, feat_size)
    prefix = x.shape[1] - feat_size[0] * feat_size[1]
    ids = window_ids(feat_size, m, x.device)
    picks = torch.randperm(len(ids), generator=generator)[:tokens].tolist()
    shares = []
    for t in picks:
        r = torch.randn(y.shape[-1], generator=generator).to(y)
        (g,) = torch.autograd.grad((y[:, prefix + t] * r).sum(), x, retain_graph=True)
        mass = g[:, prefix:].abs().sum(-1)  # images, H·W (a prefix token is no window's)
        outside = mass[:, ids != ids[t]].sum(-1)
        shares.append(outside / mass.sum(-1).clamp(min=1e-30))
    return torch.stack(shares, dim=1)


def cross_window_dependence(model: nn.Module, images: torch.Tensor, *, tokens: int,
                            seed: int) -> dict[str, dict[str, Any]]:
    """Per window block: mean share over images and sampled tokens, its SD over images, window, shift."""
    windowed = {name: (stage, block) for name, stage, block in named_blocks(model)
                if isinstance(block.attn, WindowAttention)}
    if not windowed:
        return {}
    inputs: dict[str, tuple[torch.Tensor, tuple[int, int]]] = {}
    with torch.no_grad(), block_inputs({n: b for n, (_, b) in windowed.items()}, inputs):
        model(images)
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for name, (stage, block) in windowed.items():
        x, feat_size = inputs[name]
        m = block.attn.window_size
        shares = block_dependence(block, x, feat_size, m, tokens=tokens, generator=generator).double()
        per_image = shares.mean(1)
        out[name] = {"stage": stage, "window": m, "shift": block.attn.shift_size, "share": float(per_image.mean()),
                     "sd": float(per_image.std()) if len(per_image) > 1 else 0.0}
    return out
