"""Effective receptive field (Luo et al. 2016): the gradient of a feature map's centre position
(summed over channels) with respect to the input image, |·| summed over input channels and images;
reported as the radius, in input pixels around that position's centre, holding a given share of
the gradient mass. Distance is the Chebyshev (square) one, so a k×k kernel's support has radius
(k − 1)/2."""

from __future__ import annotations

from typing import Callable, Sequence

import torch


def erf_maps(levels_of: Callable[[torch.Tensor], Sequence[torch.Tensor]], images: torch.Tensor) -> list[torch.Tensor]:
    """For each map (B, C, h, w) ``levels_of`` returns: the input-gradient mass (H, W) of its centre."""
    x = images.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        levels = levels_of(x)
        maps = []
        for i, level in enumerate(levels):
            h, w = level.shape[-2:]
            (g,) = torch.autograd.grad(level[:, :, h // 2, w // 2].sum(), x, retain_graph=i < len(levels) - 1)
            maps.append(g.abs().sum(dim=(0, 1)).double())
    return maps


def centre_px(size: int, out_size: int) -> float:
    """Input-pixel coordinate of the centre of output position out_size // 2 (stride size / out_size)."""
    stride = size / out_size
    return (out_size // 2 + 0.5) * stride - 0.5


def erf_radii(mass: torch.Tensor, out_size: tuple[int, int], shares: Sequence[float]) -> dict[str, float]:
    """Smallest Chebyshev radius around the output centre whose square holds each share of ``mass``."""
    H, W = mass.shape
    cy, cx = centre_px(H, out_size[0]), centre_px(W, out_size[1])
    dist = torch.maximum((torch.arange(H, dtype=torch.float64) - cy).abs()[:, None],
                         (torch.arange(W, dtype=torch.float64) - cx).abs()[None, :]).reshape(-1)
    order = dist.argsort()
    cum = mass.reshape(-1)[order].cumsum(0)
    total = float(cum[-1])
    out = {}
    for share in shares:
        if total <= 0:
            out[str(share)] = float("nan")
            continue
        i = int(torch.searchsorted(cum, torch.tensor(share * total * (1 - 1e-12), dtype=torch.float64)))
        out[str(share)] = float(dist[order[min(i, len(order) - 1)]])
    return out
