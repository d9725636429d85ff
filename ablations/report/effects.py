"""Effect sizes of a variant against the baseline, in units of the spread over seeds.

- Paired seeds: Cohen's d_z = mean(d) / std(d) of the per-seed differences d (Lakens, Front.
  Psychol. 4:863, 2013, eq. 6).
- Independent seeds: Hedges' g = J · (mean_v − mean_b) / s_pooled, with the exact small-sample
  correction J = Γ(ν/2) / (√(ν/2) Γ((ν−1)/2)), ν = n_v + n_b − 2 (Hedges, J. Educ. Statist. 6, 1981,
  eq. 6b): with few seeds d overstates the effect.
- Probability of superiority (the common-language effect size, McGraw & Wong, Psychol. Bull. 111,
  1992): the chance that the variant beats the baseline on a random seed, under normal seeds:
  Φ(d_z) paired (a random seed's difference is positive), Φ(Δ / √(s_v² + s_b²)) for independent
  seeds (a random draw of each). "Beats" follows the metric's direction (a lower loss beats).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, ndtr


def cohens_dz(d: np.ndarray) -> float:
    """Mean over standard deviation (ddof=1) of paired differences; NaN with fewer than 2 or none spread."""
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return math.nan
    sd = float(d.std(ddof=1))
    return float(d.mean()) / sd if sd > 0 else math.nan


def hedges_correction(dof: float) -> float:
    """Hedges' exact J(ν) = Γ(ν/2) / (√(ν/2) Γ((ν−1)/2)), through log-gamma (large ν does not overflow)."""
    if not dof > 1:
        return math.nan
    return float(math.exp(gammaln(dof / 2) - gammaln((dof - 1) / 2)) / math.sqrt(dof / 2))


def hedges_g(v: np.ndarray, b: np.ndarray) -> float:
    """Hedges' g of two independent samples (pooled std, ddof=1 each)."""
    v, b = np.asarray(v, dtype=float), np.asarray(b, dtype=float)
    nv, nb = len(v), len(b)
    if nv < 2 or nb < 2:
        return math.nan
    dof = nv + nb - 2
    pooled = math.sqrt(((nv - 1) * v.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / dof)
    if not pooled > 0:
        return math.nan
    return hedges_correction(dof) * float(v.mean() - b.mean()) / pooled


def superiority(diff: float, spread: float, *, higher_better: bool) -> float:
    """P(variant beats baseline on a random seed) = Φ(±diff / spread); 1 or 0 where nothing varies."""
    if not math.isfinite(diff) or not math.isfinite(spread):
        return math.nan
    signed = diff if higher_better else -diff
    if spread == 0:
        return 0.5 if signed == 0 else float(signed > 0)
    return float(ndtr(signed / spread))
