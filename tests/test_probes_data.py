"""The probes as data: shapes, balance, determinism, disjoint splits, speed, and the geometric facts
their documented claims rest on (each shape confined to its own cells; permutation-invariant
features at chance while positional ones are far above). Training real models on them is the job
of the slow probe tests."""

from __future__ import annotations

import time

import pytest
import torch

from vt_core.config import DataConfig
from vt_core.data import PROBES, load_data
from vt_core.data.probes import generate
from vt_core.overrides import ConfigError

NAMES = list(PROBES)


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("name", NAMES)
def test_probe_bundle(name: str) -> None:
    b = load_data(DataConfig(name=name, train_size=256, val_size=64, seed=3), img_size=32)
    tx, ty, vx, vy = b.tensors
    k = PROBES[name].num_classes
    assert tx.shape == (256, 3, 32, 32) and vx.shape == (64, 3, 32, 32)
    assert tx.dtype == torch.float32 and ty.dtype == torch.long and tx.is_contiguous()
    assert b.num_classes == k == len(b.classes) == 4
    assert torch.bincount(ty, minlength=k).tolist() == [256 // k] * k  # exactly class-balanced
    assert torch.bincount(vy, minlength=k).tolist() == [64 // k] * k
    x, y = b.train[7]
    assert torch.equal(x, tx[7]) and y == int(ty[7]) and isinstance(y, int)
    assert (b.mean, b.std) == ((0.5,) * 3, (0.5,) * 3)
    assert float(tx.min()) >= -1.0 and float(tx.max()) <= 1.0  # [0, 1] pixels mapped to [-1, 1]
    raw, _, _ = generate(name, 256, seed=3, split="train")
    assert torch.allclose(tx, raw.float() / 127.5 - 1.0, atol=1e-6)
    doc = PROBES[name].doc
    assert "What a correct implementation must show" in doc and "Why" in doc


@pytest.mark.parametrize("name", NAMES)
def test_balance_with_uneven_sizes(name: str) -> None:
    _, y, _ = generate(name, 203, seed=0, split="train")
    counts = torch.bincount(y, minlength=PROBES[name].num_classes)
    assert counts.sum() == 203 and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_determinism_and_disjoint_splits(name: str) -> None:
    a, ya, _ = generate(name, 512, seed=0, split="train")
    b, yb, _ = generate(name, 512, seed=0, split="train")
    assert torch.equal(a, b) and torch.equal(ya, yb)
    c, _, _ = generate(name, 512, seed=1, split="train")
    assert not torch.equal(a, c)
    v, _, _ = generate(name, 512, seed=0, split="val")
    rows = {bytes(r) for r in a.flatten(1).numpy()}
    assert len(rows) == 512  # no duplicates within train
    assert not any(bytes(r) in rows for r in v.flatten(1).numpy())  # nor between train and val
    other = generate(NAMES[(NAMES.index(name) + 1) % len(NAMES)], 512, seed=0, split="train")[0]
    assert not torch.equal(a, other)  # each probe has its own stream


@pytest.mark.parametrize("name", NAMES)
def test_generation_is_fast(name: str) -> None:
    generate(name, 64, seed=0, split="train")  # warm-up
    t = time.perf_counter()
    load_data(DataConfig(name=name, train_size=4096, val_size=1024), img_size=32)
    # well under a second on an idle core; the bound leaves room for a loaded CI machine
    assert time.perf_counter() - t < 6.0


def test_resize_keeps_cells_and_grayscale() -> None:
    data = DataConfig(name="arrangement", train_size=32, val_size=8)
    base = load_data(data, img_size=32).tensors[0]
    up = load_data(data, img_size=64).tensors[0]
    assert torch.equal(up, base.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert load_data(data, img_size=48).tensors[0].shape == (32, 3, 48, 48)
    gray = load_data(data, img_size=32, in_chans=1)
    assert gray.tensors[0].shape == (32, 1, 32, 32) and gray.tensors[2].shape == (8, 1, 32, 32)


def test_probes_refuse_augmentation() -> None:
    with pytest.raises(ConfigError, match="data.augment"):
        load_data(DataConfig(name="arrangement", augment=True), img_size=32)


# ============================================================================ geometry
def foreground(x: torch.Tensor) -> torch.Tensor:
    """(N, H, W) pixels brighter than any background pixel can be (background ≤ 0.26 · 255)."""
    return x.max(1).values > 80


def cell_mask(cells: torch.Tensor, size: int) -> torch.Tensor:
    """(N, 32, 32) True inside cell (row, col) of side ``size``."""
    idx = torch.arange(32) // size
    return (idx[None, :, None] == cells[:, 0, None, None]) & (idx[None, None, :] == cells[:, 1, None, None])


def test_arrangement_geometry() -> None:
    x, y, meta = generate("arrangement", 2048, seed=0, split="train")
    ca, cb = meta["cell_a"], meta["cell_b"]
    assert ((ca[:, 0] != cb[:, 0]) & (ca[:, 1] != cb[:, 1])).all()  # different rows and columns
    assert torch.equal(y, 2 * (ca[:, 0] > cb[:, 0]).long() + (ca[:, 1] > cb[:, 1]).long())
    fg = foreground(x)
    in_a, in_b = cell_mask(ca, 8), cell_mask(cb, 8)
    assert not (fg & ~(in_a | in_b)).any()  # every shape pixel lies inside its own 8×8 cell
    assert (fg & in_a).flatten(1).any(1).all() and (fg & in_b).flatten(1).any(1).all()
    # The label as seen in the pixels: A is warm (red > blue), B cool; compare their centroids.
    grid = torch.arange(32).float()

    def centroid(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = m.float()
        return (w.sum(2) * grid).sum(1) / w.sum((1, 2)), (w.sum(1) * grid).sum(1) / w.sum((1, 2))

    (ay, ax), (by, bx) = centroid(fg & (x[:, 0] > x[:, 2])), centroid(fg & (x[:, 2] > x[:, 0]))
    assert torch.equal(y, 2 * (ay > by).long() + (ax > bx).long())
    # Both shapes appear everywhere in every class, except where the relation forbids it
    # (A above-left of B cannot be in the last row or column): 9 of the 16 cells, all used.
    for cells in (ca, cb):
        for k in range(4):
            counts = torch.bincount(cells[y == k, 0] * 4 + cells[y == k, 1], minlength=16)
            assert (counts > 0).sum() == 9


def test_absolute_geometry() -> None:
    x, y, meta = generate("absolute", 1024, seed=0, split="train")
    cell = meta["cell"]
    assert torch.equal(y, 2 * (cell[:, 0] // 2) + cell[:, 1] // 2)
    fg = foreground(x)
    assert not (fg & ~cell_mask(cell, 8)).any()
    assert fg.flatten(1).any(1).all()


def test_cross_window_geometry() -> None:
    x, y, meta = generate("cross_window", 1024, seed=0, split="train")
    qa, qb = meta["quadrant_a"], meta["quadrant_b"]
    d = qb - qa
    assert (d.abs().sum(1) == 1).all()  # two different quadrants sharing an edge
    direction = torch.where(d[:, 1] == 1, 0, torch.where(d[:, 1] == -1, 1, torch.where(d[:, 0] == 1, 2, 3)))
    assert torch.equal(y, direction)
    fg = foreground(x)
    for size in (8, 16):  # any window of 8 or 16 px sees at most one mark
        a = cell_mask(meta["cell_a"] * 8 // size, size)
        b = cell_mask(meta["cell_b"] * 8 // size, size)
        assert not (a & b).any()
    assert not (fg & ~(cell_mask(meta["cell_a"], 8) | cell_mask(meta["cell_b"], 8))).any()
    assert torch.equal(meta["cell_a"] // 2, qa) and torch.equal(meta["cell_b"] // 2, qb)


def test_multiscale_nuisances_are_independent_of_the_class() -> None:
    x, y, meta = generate("multiscale", 2048, seed=0, split="train")
    s = meta["scale"]
    assert float(s.min()) >= 3.0 and float(s.max()) <= 15.0
    assert float(s.max()) / float(s.min()) > 4  # scale varies a lot from sample to sample
    per_class = torch.stack([torch.log(s[y == k]).mean() for k in range(4)])
    assert float(per_class.max() - per_class.min()) < 0.1  # scale says nothing about the class
    c = meta["centre"]
    assert ((c - s[:, None]) >= 0).all() and ((c + s[:, None]) <= 32).all()  # object fully inside


# ============================================================================ the claims, on features
def _ridge_val_acc(ftr, ytr, fva, yva, k, lam=1.0) -> float:
    mu, sd = ftr.mean(0), ftr.std(0) + 1e-6
    ftr, fva = (ftr - mu) / sd, (fva - mu) / sd
    one = lambda f: torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype)], 1)  # noqa: E731
    ftr, fva = one(ftr), one(fva)
    w = torch.linalg.solve(ftr.T @ ftr + lam * torch.eye(ftr.shape[1], dtype=ftr.dtype),
                           ftr.T @ torch.nn.functional.one_hot(ytr, k).to(ftr.dtype))
    return (fva @ w).argmax(1).eq(yva).double().mean().item()


def _bag_of_tokens(x: torch.Tensor, p: int, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Random ReLU features of every p×p token, averaged over tokens: a permutation-invariant
    function of the multiset of tokens, like a position-free ViT (patches) or an unshifted window
    model (windows)."""
    n, c, h, _ = x.shape
    t = x.unfold(2, p, p).unfold(3, p, p).permute(0, 2, 3, 1, 4, 5).reshape(n, (h // p) ** 2, c * p * p)
    return torch.relu(t @ w + b).mean(1).double()


def _cell_pairs(x: torch.Tensor) -> torch.Tensor:
    """A small model that knows where things are: the mean colour of each 8×8 cell, plus the
    products of every cell's warmth with every other cell's coolness (so it can relate two places)."""
    cells = torch.nn.functional.avg_pool2d(x, 8).flatten(1)  # N, 3·16
    warm = torch.nn.functional.avg_pool2d((x[:, :1] - x[:, 2:]), 8).flatten(1)  # red minus blue, N, 16
    u, v = warm.clamp(min=0), (-warm).clamp(min=0)
    return torch.cat([cells, (u[:, :, None] * v[:, None, :]).flatten(1)], 1).double()


@pytest.mark.parametrize("name, token", [("arrangement", 4), ("arrangement", 8), ("absolute", 4),
                                         ("cross_window", 8), ("cross_window", 16)])
def test_claim_permutation_invariant_at_chance_positional_far_above(name: str, token: int) -> None:
    """The probes' argument, checked with cheap models: a bag of token features (what a model
    without position, or without shift, can compute) stays at chance on validation however well it
    fits the training set, while a small model that knows the cells' places is far above."""
    b = load_data(DataConfig(name=name, train_size=2048, val_size=2048, seed=0), img_size=32)
    tx, ty, vx, vy = b.tensors
    g = torch.Generator().manual_seed(0)
    d = 3 * token * token
    w = torch.randn(d, 256, generator=g) / d ** 0.5
    bias = torch.randn(256, generator=g) * 0.5
    k = b.num_classes
    bag = _ridge_val_acc(_bag_of_tokens(tx, token, w, bias), ty, _bag_of_tokens(vx, token, w, bias), vy, k)
    assert abs(bag - 1 / k) < 0.045, bag  # 2048 val samples: chance ± 4.5 % is > 4 standard deviations
    placed = _ridge_val_acc(_cell_pairs(tx), ty, _cell_pairs(vx), vy, k, lam=10.0)
    assert placed > 1 / k + 0.3, placed
