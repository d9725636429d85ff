"""Effect sizes of a variant against the baseline, in units of the spread over seeds.

- Paired seeds: Cohen's d_z = mean(d) / std(d) of the per-seed differences d (Lakens, Front.
  Psychol. 4:863, 2013, eq. 6).
- Independent seeds: Hedges' g = J · (mean_v − mean_b) / s_pooled, with the exact small-sample
  correction J = Γ(ν/2) / (√(ν/2) Γ((ν−1)/2)), ν = n_v + n_b − 2 (Hedges, J. Educ. Statist. 6, 1981,
  eq. 6b): with few seeds d overstates the effect.
- Probability of superiority (the common-language effect size, McGraw & Wong, Psychol. Bull. 111,
  1992): the chance that the variant beats the baseline on a random seed, under normal seeds:
  Φ(d_z) paired (a random seed's difference is positive), Φ(Δ / (√2 · s_pooled)) for independent
  seeds of equal spread (a random draw of each). "Beats" follows the metric's direction (a lower
  loss beats).
- Their 95 % intervals: the standardised effect's by inverting the noncentral t (Steiger & Fouladi,
  in *What if there were no significance tests?*, 1997; Cumming & Finch, Educ. Psychol. Meas. 61,
  2001): T = d_z·√n is noncentral t with n − 1 df and noncentrality δ·√n (paired); Welch's
  T = Δ / se is (approximately, as in Welch's test) noncentral t with Welch's df and noncentrality
  δ·s_pooled / se (independent: δ = Δ / s_pooled); the interval of δ is where T's observed value is
  not in either 2.5 % tail (``scipy.special.nctdtrinc``), so it excludes 0 exactly when the test
  rejects. P(beats) is a monotone function of δ, so its interval is that function of δ's bounds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, nctdtrinc, ndtr

# beyond |10| a standardised effect says only that the seeds barely vary against the difference:
# the two distributions do not overlap at all (Φ(10) = 1 − 8·10⁻²⁴), and with a handful of seeds the
# number is set by the smallest std estimate rather than the difference (a d_z of −90 over 3 seeds)
SANE_EFFECT = 10.0


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


def standardised_interval(t: float, df: float, scale: float, confidence: float = 0.95) -> tuple[float, float]:
    """The interval of a standardised difference δ whose t-statistic ``t`` is noncentral t with ``df``
    and noncentrality δ / ``scale`` (paired: scale 1/√n; Welch: se / s_pooled); NaN where
    the noncentral t cannot be inverted."""
    if not (math.isfinite(t) and math.isfinite(df) and df > 0 and scale > 0):
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    with np.errstate(all="ignore"):  # far in a tail the inversion gives NaN: no interval, said as such
        lo, hi = float(nctdtrinc(df, 1 - tail, t)), float(nctdtrinc(df, tail, t))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return math.nan, math.nan
    return lo * scale, hi * scale


def superiority_interval(low: float, high: float, *, scale: float, higher_better: bool) -> tuple[float, float]:
    """P(beats)'s interval from the standardised effect's (low, high): Φ(±δ / ``scale``) at both
    bounds (scale 1 paired, √2 independent), in the order low ≤ high."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return math.nan, math.nan
    a, b = float(ndtr(low / scale)), float(ndtr(high / scale))
    return (a, b) if higher_better else (1 - b, 1 - a)
