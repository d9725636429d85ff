"""Vectorised drawing of simple shapes into a batch of images, for the procedural probes.

Every shape is the unit ball of a positively homogeneous "distance" ``f(u, v)`` in coordinates
centred on the shape and scaled by its half-size ``r``: a pixel belongs to the shape when
``f ≤ 1`` and to its outline of thickness ``t`` when ``1 - t/r < f ≤ 1``. Every shape lies inside
its bounding box ``[cx - r, cx + r] × [cy - r, cy + r]``, which is what lets a probe confine a
shape to one cell of a grid. Coverage is computed on ``ss × ss`` sub-pixels (anti-aliasing).
"""

from __future__ import annotations

import math

import torch

KINDS = ("square", "disk", "triangle", "cross", "diamond")


def _distance(kind: str, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    au, av = u.abs(), v.abs()
    if kind == "square":
        return torch.maximum(au, av)
    if kind == "disk":
        return torch.sqrt(u * u + v * v)
    if kind == "triangle":  # apex up at v = -1, base at v = +1
        return torch.maximum(v, 2 * au - v)
    if kind == "cross":  # a plus sign, arms 0.7 of the size wide
        return torch.maximum(torch.maximum(au, av), torch.minimum(au, av) / 0.35)
    if kind == "diamond":
        return au + av
    raise ValueError(f"unknown shape kind {kind!r}")


def draw(
    img: torch.Tensor,
    kind: torch.Tensor,
    cy: torch.Tensor,
    cx: torch.Tensor,
    r: torch.Tensor,
    color: torch.Tensor,
    *,
    thickness: torch.Tensor | None = None,
    ss: int = 1,
) -> torch.Tensor:
    """Paint one shape per image, in place, and return ``img``.

    img: (N, H, W, 3) float in [0, 1], channels last; kind: (N,) indices into ``KINDS``; cy, cx, r:
    (N,) pixels (centre and half-size, pixel ``i`` spans ``[i, i + 1)``); color: (N, 3); thickness:
    (N,) outline width in pixels, or None for filled shapes. ``ss`` sub-pixels per pixel side. Only a box around
    each shape is computed, so small shapes cost little.
    """
    size = torch.ceil(2 * r.float()) + 2  # side of the box that holds a shape
    bucket = torch.bucketize(size, torch.tensor([6.0, 10.0, 16.0, 24.0]))  # similar boxes together
    for k, name in enumerate(KINDS):
        for b in range(5):
            idx = ((kind == k) & (bucket == b)).nonzero().squeeze(1)
            if idx.numel():
                _paint(img, idx, name, cy[idx].float(), cx[idx].float(), r[idx].float(), color[idx].float(),
                       None if thickness is None else thickness[idx].float(), ss)
    return img


def _paint(img: torch.Tensor, idx: torch.Tensor, name: str, yc: torch.Tensor, xc: torch.Tensor, rr: torch.Tensor,
           color: torch.Tensor, thickness: torch.Tensor | None, ss: int) -> None:
    _, h, w, _ = img.shape
    m = idx.numel()
    box = min(int(math.ceil(2 * float(rr.max()))) + 2, h, w)
    steps = torch.arange(box)
    iy = torch.floor(yc - rr).long().clamp(0, h - box)[:, None] + steps  # m, box: distinct rows
    ix = torch.floor(xc - rr).long().clamp(0, w - box)[:, None] + steps
    sub = (torch.arange(ss, dtype=torch.float32) + 0.5) / ss
    ys = (iy[:, :, None].float() + sub).reshape(m, box * ss)
    xs = (ix[:, :, None].float() + sub).reshape(m, box * ss)
    v = ((ys - yc[:, None]) / rr[:, None])[:, :, None]
    u = ((xs - xc[:, None]) / rr[:, None])[:, None, :]
    f = _distance(name, u, v)
    inside = f <= 1.0
    if thickness is not None:
        inside &= f > (1.0 - thickness / rr)[:, None, None]
    cov = inside.float()
    if ss > 1:
        cov = torch.nn.functional.avg_pool2d(cov[:, None], ss).squeeze(1)
    flat = img.view(-1, 3)  # pixels of all images, channels last
    pix = ((idx[:, None, None] * h + iy[:, :, None]) * w + ix[:, None, :]).reshape(-1)
    cov = cov.reshape(-1, 1)
    colour = color[:, None, :].expand(m, box * box, 3).reshape(-1, 3)
    flat[pix] = torch.lerp(flat[pix], colour, cov)


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(N,) hue in [0, 1), saturation, value → (N, 3) RGB in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0])[None, :] + h[:, None] * 6.0) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


def background(n: int, size: int, g: torch.Generator, *, level: float = 0.2, noise: float = 0.06) -> torch.Tensor:
    """Dark grey images (N, H, W, 3), channels last, with i.i.d. grey grain: a per-image level in
    [0, level] plus ±noise per pixel.

    Every pixel (and so every cell of any grid) is identically distributed and independent of the
    label, which the probes' permutation arguments rely on."""
    base = torch.rand(n, 1, 1, 1, generator=g) * level
    grain = torch.rand(n, size, size, 1, generator=g).sub_(0.5).mul_(2 * noise).add_(base).clamp_(0.0, 1.0)
    return grain.expand(n, size, size, 3).contiguous()


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """Channels-last floats in [0, 1] → (N, 3, H, W) uint8, rounded."""
    return torch.add(0.5, img.permute(0, 3, 1, 2), alpha=255.0).to(torch.uint8)
