"""Linear CKA (Kornblith et al. 2019): similarity of two representations of the same n examples,
computed from their centred Gram matrices, so features of any width (a block's tokens × channels
flattened) compare through n × n matrices:
CKA(X, Y) = ⟨K̃, L̃⟩_F / (‖K̃‖_F ‖L̃‖_F), K̃ = H X Xᵀ H, H = I − 11ᵀ/n."""

from __future__ import annotations

import torch


def centred_gram(x: torch.Tensor) -> torch.Tensor:
    """x (n, p) → H x xᵀ H (n, n), in float64."""
    x = x.double()
    x = x - x.mean(dim=0, keepdim=True)
    return x @ x.T


def cka_from_grams(k: torch.Tensor, l: torch.Tensor) -> float:  # noqa: E741 - the paper's names
    denom = float(k.norm() * l.norm())
    return float((k * l).sum()) / denom if denom > 0 else float("nan")


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """CKA of x (n, p) and y (n, q): 1 for x = y, invariant to orthogonal maps and isotropic scaling."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka: {x.shape[0]} and {y.shape[0]} examples; CKA compares the same examples")
    return cka_from_grams(centred_gram(x), centred_gram(y))


def cka_matrix(grams_a: dict[str, torch.Tensor], grams_b: dict[str, torch.Tensor]) -> list[list[float]]:
    """CKA of every layer of a (rows) with every layer of b (columns)."""
    return [[cka_from_grams(ka, kb) for kb in grams_b.values()] for ka in grams_a.values()]
