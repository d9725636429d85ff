"""Inductive-bias probes: small procedural datasets whose outcome under each ablated component is
known in advance. They are the embedded default data of the suite: 32×32 RGB, generated
from a seed with a ``torch.Generator`` (no download, no files), class-balanced, held in memory.

Each probe is a function ``(n, generator) -> (images uint8 (n, 3, 32, 32), labels int64 (n,), meta)``
registered in ``PROBES``; ``meta`` holds the latent variables (positions, scales) so that tests and
analyses can check the construction. Train and validation sets are drawn independently from
generators seeded by ``(probe, split, data.seed)``.

The claims below are about what a model *can* compute. "At chance" means: the model's output has
the same distribution for every class, so its expected validation accuracy is exactly
1 / num_classes (it may still memorise its training images, whose background noise differs, so
training accuracy can rise while validation accuracy stays at chance).

Geometry shared by the claims. Images are 32×32. A probe that argues about patches confines every
shape to one cell of a grid aligned to the image (the 4×4 grid of 8×8-pixel cells; ``cross_window``
argues about its 16×16 quadrants of 2×2 cells), and draws a cell's
content (background noise, shape, its jitter inside the cell) from a distribution that does not
depend on where the cell is. Any tokenisation whose patches (or windows) tile those cells, that is
patch sizes (window extents) dividing the cell size, then sees each shape inside tokens (windows)
of its own, and moving cells around only permutes tokens (windows) without changing any of them.
Images resized to a multiple of 32 keep this with patch sizes scaled alike (nearest-neighbour
upscaling, see ``vt_core.data.load_data``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Callable

import torch

from .render import KINDS, background, draw, hsv_to_rgb, to_uint8

SIZE = 32
Generated = tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]


@dataclass(frozen=True)
class Probe:
    name: str
    num_classes: int
    classes: tuple[str, ...]
    generate: Callable[[int, torch.Generator], Generated]

    @property
    def doc(self) -> str:
        return (self.generate.__doc__ or "").strip()


def probe_generator(name: str, split: str, seed: int) -> torch.Generator:
    """A generator seeded stably (not Python's salted ``hash``) by probe, split and data seed."""
    return torch.Generator().manual_seed(zlib.crc32(f"vt_core.probes/{name}/{split}/{int(seed)}".encode()))


def balanced_labels(n: int, k: int, g: torch.Generator) -> torch.Tensor:
    """``n`` labels, each class ``n // k`` or ``n // k + 1`` times, in random order."""
    return (torch.arange(n) % k)[torch.randperm(n, generator=g)]


def _u(n: int, g: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _int(n: int, g: torch.Generator, lo: int, hi: int) -> torch.Tensor:
    return torch.randint(lo, hi, (n,), generator=g)


def _distinct_pair(n: int, g: torch.Generator, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform pairs of distinct values in ``range(k)``, returned as (low, high)."""
    a = _int(n, g, 0, k)
    b = (a + _int(n, g, 1, k)) % k
    return torch.minimum(a, b), torch.maximum(a, b)


def _warm(n: int, g: torch.Generator) -> torch.Tensor:
    """Reds, oranges and yellows (hue 0.95 … 0.15)."""
    return hsv_to_rgb((_u(n, g, -0.05, 0.15)) % 1.0, _u(n, g, 0.75, 1.0), _u(n, g, 0.8, 1.0))


def _cool(n: int, g: torch.Generator) -> torch.Tensor:
    """Cyans, blues and violets (hue 0.45 … 0.75)."""
    return hsv_to_rgb(_u(n, g, 0.45, 0.75), _u(n, g, 0.75, 1.0), _u(n, g, 0.8, 1.0))


def _any_colour(n: int, g: torch.Generator) -> torch.Tensor:
    return hsv_to_rgb(_u(n, g), _u(n, g, 0.6, 1.0), _u(n, g, 0.8, 1.0))


def _in_cell(cell: torch.Tensor, size: float, r: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Centre coordinate of a shape of half-size ``r`` jittered inside cell ``cell`` of side ``size``:
    its bounding box stays in the cell, and the jitter's law is the same in every cell."""
    return cell.float() * size + r + _u(len(cell), g) * (size - 2 * r)


# ============================================================================ arrangement
def arrangement(n: int, g: torch.Generator) -> Generated:
    """**arrangement** — 4 classes: where shape A lies relative to shape B (0 A above-left of B,
    1 above-right, 2 below-left, 3 below-right).

    Construction. The image is a 4×4 grid of 8×8-pixel cells. Shape A (a disk in a warm colour)
    and shape B (a square in a cool colour), each 5–8 px wide, sit in two cells of different rows
    and different columns, jittered inside their cells but never leaving them. Label
    ``2·[A below B] + [A right of B]``. Given the label, the pair of columns and the pair of rows
    are uniform, so both shapes appear everywhere in every class: the label is a relation between
    the two places, and the absolute places of both together only matter through it. (One shape's
    place alone is not wholly uninformative, and cannot be for a directional label on a bounded
    image: A in the leftmost column is never right of B. Knowing only A's cell, or only B's, gives
    at best 69 % on this probe, against 100 % from the relation and 25 % without position. A
    label with uninformative marginals, "same row or same column", was tried and dropped: the
    CPU-sized ViTs did not learn it within a test's budget, with any position encoding.)

    What a correct implementation must show. A ViT with global attention and *no position
    encoding* (``model.pos=none``, mean or class-token pooling, patch stem with patch size 1, 2, 4
    or 8) stays at chance (25 %) on validation; with any position encoding (``abs``, ``rel``,
    ``abs+rel``) it solves the probe far above chance.

    Why. Without position encoding, patch embedding, attention, MLPs and norms are all
    equivariant to permuting the patch tokens, and mean pooling (or a class token that attends to
    all of them) is invariant, so the network is a function of the *multiset* of patches. With
    patch sizes dividing 8, every patch lies inside one cell; a cell holds A, B or background only,
    and its content is drawn independently of where the cell is. So the multiset of patches is
    {A's patches, B's patches, 14 cells of background patches} with a law that does not depend on
    the cell positions, hence not on the label: the output is independent of the label, and the
    expected validation accuracy is exactly 1/4. The label *is* a function of positions (the signs
    of A's minus B's column and row, even linear in the pixels), which any position encoding
    exposes: absolute embeddings tag each token with its place, relative biases let attention
    weigh keys by their offset from the query.
    """
    y = balanced_labels(n, 4, g)
    right, below = (y % 2).bool(), (y // 2).bool()
    c_lo, c_hi = _distinct_pair(n, g, 4)
    r_lo, r_hi = _distinct_pair(n, g, 4)
    col_a, col_b = torch.where(right, c_hi, c_lo), torch.where(right, c_lo, c_hi)
    row_a, row_b = torch.where(below, r_hi, r_lo), torch.where(below, r_lo, r_hi)
    img = background(n, SIZE, g)
    for kind, rows, cols, colour in ((1, row_a, col_a, _warm), (0, row_b, col_b, _cool)):
        r = _u(n, g, 2.5, 4.0)
        draw(img, torch.full((n,), kind), _in_cell(rows, 8, r, g), _in_cell(cols, 8, r, g), r, colour(n, g))
    meta = {"cell_a": torch.stack([row_a, col_a], 1), "cell_b": torch.stack([row_b, col_b], 1)}
    return to_uint8(img), y, meta


# ============================================================================ absolute
def absolute(n: int, g: torch.Generator) -> Generated:
    """**absolute** — 4 classes: the image quadrant holding the one shape (0 top-left, 1 top-right,
    2 bottom-left, 3 bottom-right).

    Construction. One shape of a random kind (square, disk, triangle, cross, diamond), random
    colour and width 5–8 px sits in one 8×8 cell of the 4×4 grid, uniform among the 4 cells of the
    label's quadrant, jittered inside it. There is nothing else in the image, so no arrangement
    between objects exists to exploit: only the absolute place carries the label.

    What a correct implementation must show. ``model.pos=none`` stays at chance (25 %);
    ``model.pos=abs`` solves it far above chance; ``pos=rel`` lies in between or reaches ``abs``
    more slowly. Expect ``abs`` ≥ ``rel`` > ``none`` = chance; only the two ends are theorems.

    Why. Without position encoding the network is a function of the multiset of patches (see
    ``arrangement``), which is {the shape's cell, 15 background cells} whatever the quadrant, so
    its output is independent of the label. An absolute embedding is the position itself, and
    the label is linear in it. A purely relative model sees only offsets between tokens, and here
    every token but the shape's is background, so it can recover the place only indirectly, from
    the image border (a token near the border has fewer keys at some offsets, which changes its
    attention normalisation): this probe separates absolute from relative position, as
    ``arrangement`` (a relation between two places) separates position from none.
    """
    y = balanced_labels(n, 4, g)
    rows = (y // 2) * 2 + _int(n, g, 0, 2)
    cols = (y % 2) * 2 + _int(n, g, 0, 2)
    kind = _int(n, g, 0, len(KINDS))
    r = _u(n, g, 2.5, 4.0)
    img = background(n, SIZE, g)
    draw(img, kind, _in_cell(rows, 8, r, g), _in_cell(cols, 8, r, g), r, _any_colour(n, g), ss=2)
    return to_uint8(img), y, {"cell": torch.stack([rows, cols], 1), "kind": kind}


# ============================================================================ cross_window
def cross_window(n: int, g: torch.Generator) -> Generated:
    """**cross_window** — 4 classes: the direction from mark A to mark B, which always lie in two
    different, edge-adjacent 16×16 quadrants (0 B right of A, 1 left, 2 below, 3 above).

    Construction. Mark A (a disk in a warm colour) and mark B (a square in a cool colour), each
    5–8 px wide, sit in 8×8-pixel cells of two quadrants that share an edge (the pair is horizontal
    for classes 0/1, vertical for 2/3, with the row or column uniform); inside its quadrant each
    mark's cell is uniform over the quadrant's 4 cells and jittered inside it, independently of the
    label and of the other mark.

    What a correct implementation must show. A window-attention model *without shift*
    (``model.mixer=window``, ``model.shift=false``), with ``model.pos=rel`` or ``none``, mean pooling
    and any head, stays at chance (25 %); the same model with shift and ``pos=rel`` solves it far
    above chance. (With shift but ``pos=none`` it cannot: the regular and shifted window partitions
    are mirror-symmetric and nothing inside a window tells left from right, so swapping the two
    quadrants' places, which swaps classes 0 and 1, cannot change its output.)
    This holds with the patch stem for every window whose extent in pixels (patch size × window
    size × the stage's downsampling) divides 16 in every stage: swin_cpu (patch 2, window 4: 8-px
    windows, then 16-px after patch merging), isotropic models with patch 4 and window 4 or patch 8
    and window 2 (16-px windows), or patch 2 and window 4 (8-px windows). It does *not* hold with
    ``pos=abs`` (the window's embedding tells where it is), with convolutional stems (their
    receptive fields cross the quadrant borders and their zero padding marks the image border), nor
    where the window is clamped to the whole feature map (that is global attention).

    Why. Without shift, each window is processed independently by the same weights: the stem,
    attention within the window (its relative bias is the same table in every window), MLPs and
    norms act inside it, and 2×2 patch merging stays inside a 16-px quadrant. So each final token
    is a function of its own quadrant's content alone, and mean pooling makes the network a
    function of the *multiset* of the four quadrant contents {A's quadrant, B's quadrant, two
    background quadrants}. The label is the relative *placement* of two quadrants, and the
    construction draws each quadrant's content independently of where it is placed, so that
    multiset has the same law for all four classes: the output cannot depend on the label. A
    same-or-different-colour label would not do: it is a function of that multiset, and a mean of
    window features followed by a LayerNorm (ViT's ``fc_norm``) and a linear head can compute
    colour equality from it (feature norms differ), while even a purely additive head beats chance
    on it. Shifted windows (by ⌊M/2⌋) straddle the quadrant borders and carry each mark's presence,
    with its offset from the relative bias, across them; with depth ≥ 2 the receptive field covers
    both marks.
    """
    y = balanced_labels(n, 4, g)
    horizontal = y < 2
    first = (y % 2) == 0  # B right of A / B below A: A in the first column / row
    other = _int(n, g, 0, 2)  # the shared row (horizontal) or column (vertical)
    a_at, b_at = (~first).long(), first.long()  # index (0 or 1) of the row or column
    qa = torch.stack([torch.where(horizontal, other, a_at), torch.where(horizontal, a_at, other)], 1)
    qb = torch.stack([torch.where(horizontal, other, b_at), torch.where(horizontal, b_at, other)], 1)
    img = background(n, SIZE, g)
    cells = []
    for kind, q, colour in ((1, qa, _warm), (0, qb, _cool)):
        cell = q * 2 + _int(2 * n, g, 0, 2).view(n, 2)  # an 8-px cell (of the 4×4 grid) inside quadrant q
        r = _u(n, g, 2.5, 4.0)
        draw(img, torch.full((n,), kind), _in_cell(cell[:, 0], 8, r, g), _in_cell(cell[:, 1], 8, r, g), r, colour(n, g))
        cells.append(cell)
    return to_uint8(img), y, {"quadrant_a": qa, "quadrant_b": qb, "cell_a": cells[0], "cell_b": cells[1]}


# ============================================================================ multiscale
MULTISCALE_KINDS = KINDS[:4]  # square, disk, triangle, cross


def multiscale(n: int, g: torch.Generator) -> Generated:
    """**multiscale** — 4 classes: the kind (square, disk, triangle, cross) of the largest outline
    in the image, whose size varies per sample from 6 to 30 px (log-uniform).

    Construction. The object is an outline (line width ≈ a fifth of its half-size, at least 1 px)
    in a random colour at a uniform position. Three decoys, outlines of random kinds (the same four,
    independent of the label) at most a third of the object's size and at least 3 px, are drawn
    beneath it. So the class shows only at the object's scale: at small sizes the whole object
    fits in one or two 4-px patches and only fine detail tells a disk from a square; at large sizes
    each patch sees a fragment of a thin line (the interior is background) and the kind shows only
    when many tokens far apart are combined, while the small decoys carry every kind equally
    often. Scale, position, colour and decoys are independent of the label.

    What a correct implementation must show. Only properties of the data, which the tests check:
    the classes are balanced and scale, position, colour and decoys are independent of the class,
    so nothing but the object's shape predicts it. The probe is the data of the KV-ratio and DS-FFN
    grids and measures how accuracy holds across scales (the object's half-size is
    ``meta['scale']``, for per-scale breakdowns); no ranking of the variants is guaranteed.

    Why (expected, not proven). Small objects are told apart by detail inside one or two tokens,
    which local operators keep (fine key/value ratios, the depthwise 3×3 of the detail-specific
    FFN, overlapping stems); large thin outlines need many distant tokens combined, where coarse
    (spatially reduced) keys and values summarise regions cheaply. A variant that covers only one
    end should lose accuracy at the other end of ``meta['scale']``; mixing ratios across heads
    (Shunted) aims to keep both. Local cues are not removed: corners and curvature of a large
    outline still show in single patches, so a bag of patch features already beats chance here.
    """
    y = balanced_labels(n, 4, g)
    r = torch.exp(_u(n, g, math.log(3.0), math.log(15.0)))
    img = background(n, SIZE, g)
    for _ in range(3):
        rd = 1.5 + _u(n, g) * (torch.clamp(r / 3.0, min=1.5) - 1.5)
        draw(img, _int(n, g, 0, 4), _u(n, g) * (SIZE - 2 * rd) + rd, _u(n, g) * (SIZE - 2 * rd) + rd, rd,
             _any_colour(n, g), thickness=torch.clamp(rd / 5.0, min=1.0), ss=2)
    cy, cx = _u(n, g) * (SIZE - 2 * r) + r, _u(n, g) * (SIZE - 2 * r) + r
    draw(img, y, cy, cx, r, _any_colour(n, g), thickness=torch.clamp(r / 5.0, min=1.0), ss=2)
    return to_uint8(img), y, {"scale": r, "centre": torch.stack([cy, cx], 1)}


# ============================================================================ registry
PROBES: dict[str, Probe] = {
    "arrangement": Probe("arrangement", 4, ("A above-left of B", "A above-right of B", "A below-left of B",
                                            "A below-right of B"), arrangement),
    "absolute": Probe("absolute", 4, ("top-left", "top-right", "bottom-left", "bottom-right"), absolute),
    "cross_window": Probe("cross_window", 4, ("B right of A", "B left of A", "B below A", "B above A"), cross_window),
    "multiscale": Probe("multiscale", 4, MULTISCALE_KINDS, multiscale),
}


def generate(name: str, n: int, *, seed: int, split: str) -> Generated:
    """``n`` images of probe ``name`` for ``split`` ('train' or 'val'), reproducible from ``seed``."""
    return PROBES[name].generate(n, probe_generator(name, split, seed))
