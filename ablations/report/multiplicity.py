"""Multiple comparisons: every comparison against the baseline in one table is one family, and its
p-values are adjusted together before any verdict is taken.

- ``holm`` (the default): Holm's step-down procedure (Holm, Scand. J. Statist. 6, 1979), which
  controls the family-wise error rate (the chance of even one false "better" / "worse") under any
  dependence between the comparisons — they share the baseline, so they are dependent.
- ``bh``: Benjamini & Hochberg's step-up procedure (J. R. Statist. Soc. B 57, 1995), which controls
  the false discovery rate (the expected share of false ones among the differences declared);
  ``scipy.stats.false_discovery_control``.
- ``none``: the p-values as tested.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

from .vocabulary import Correction


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: the k-th smallest times (m − k + 1), made non-decreasing, at most 1."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = stepped
    return out


def adjust(p: np.ndarray, method: Correction | str) -> np.ndarray:
    """The family's adjusted p-values (NaN stays NaN and is not counted in the family)."""
    method = Correction(method)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if not ok.any() or method is Correction.NONE:
        out[ok] = p[ok]
        return out
    out[ok] = holm(p[ok]) if method is Correction.HOLM else false_discovery_control(p[ok], method="bh")
    return out


def power_alpha(alpha: float, family: int, method: Correction | str) -> float:
    """The level one comparison must reach when it is the family's only real difference: α / m under
    Holm (its first step) and Benjamini–Hochberg (rank 1 of m), α without a correction."""
    return alpha if method == "none" or family < 1 else alpha / family
