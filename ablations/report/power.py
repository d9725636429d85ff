"""Power of the t-tests the report runs (Cohen, Statistical Power Analysis for the Behavioral
Sciences, 2nd ed., 1988, ch. 2): the smallest difference a comparison could detect with its seeds
and observed spread, and the seeds needed to detect a difference the user names.

A two-sided t-test at level α rejects when |T| > t_{1−α/2}(df). A true difference δ makes T
noncentral t with df degrees of freedom and noncentrality δ / se, so its power is

    P(T' > t_c) + P(T' < −t_c),   T' ~ t'(df, δ/se)

(both tails, as ``statsmodels.stats.power`` counts them). The noncentral t comes from
``scipy.special`` (``nctdtr``), vectorised over comparisons.
"""

from __future__ import annotations

import numpy as np
from scipy.special import nctdtr, ndtri, stdtrit

POWER = 0.8
MAX_SEEDS = 100_000  # seeds_needed searches up to this many per side; beyond it: inf


def t_power(nc: np.ndarray, df: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """Power of the two-sided t-test at level ``alpha`` for noncentrality ``nc`` (= δ / se) ≥ 0.

    Far in a tail ``nctdtr`` gives NaN where the probability underflows: the opposite tail of a
    positive nc counts as 0 there, the near one as 1 once nc is past the critical value.
    """
    tc = stdtrit(df, 1.0 - np.asarray(alpha) / 2.0)
    upper = 1.0 - nctdtr(df, nc, tc)
    upper = np.where(np.isnan(upper) & (nc > tc), 1.0, upper)
    return upper + np.nan_to_num(nctdtr(df, nc, -tc), nan=0.0)


def noncentrality_for_power(df: np.ndarray, alpha: float, power: float = POWER) -> np.ndarray:
    """The noncentrality at which the two-sided test with ``df`` reaches ``power`` (NaN for df ≤ 0)."""
    df = np.asarray(df, dtype=float)
    ok = np.isfinite(df) & (df > 0)
    out = np.full(df.shape, np.nan)
    if not ok.any():
        return out
    d = df[ok]
    nc = _secant_nc(d, alpha, power)
    bad = ~np.isfinite(nc) | ~(np.abs(t_power(nc, d, alpha) - power) <= 1e-9)
    if bad.any():  # the secant steps can overshoot with very few df: bisection, power rises with nc
        nc[bad] = _bisect_nc(d[bad], alpha, power)
        missed = bad & ~(np.abs(t_power(nc, d, alpha) - power) <= 1e-6)
        nc[missed] = np.nan  # far in the tails (1–2 seeds at a tiny α) the noncentral t is not computable
    out[ok] = nc
    return out


def _secant_nc(df: np.ndarray, alpha: float, power: float) -> np.ndarray:
    """Secant steps on power(nc) − power from the normal approximation nc ≈ t_c + z_power."""
    x0 = stdtrit(df, 1.0 - alpha / 2.0) + ndtri(power)
    x1 = x0 * 1.05 + 0.1
    f0, f1 = t_power(x0, df, alpha) - power, t_power(x1, df, alpha) - power
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(30):
            step = np.where(f1 != f0, f1 * (x1 - x0) / (f1 - f0), 0.0)
            x0, f0 = x1, f1
            x1 = np.maximum(x1 - step, 1e-6)
            f1 = t_power(x1, df, alpha) - power
            if not (np.abs(f1) > 1e-11).any():
                break
    return x1


def _bisect_nc(df: np.ndarray, alpha: float, power: float) -> np.ndarray:
    """log10(nc) bisected in [-3, 6] (NaN beyond)."""
    lo, hi = np.full(df.shape, -3.0), np.full(df.shape, 6.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        up = t_power(10.0**mid, df, alpha) >= power
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    out = 10.0**hi
    out[hi >= 6.0] = np.nan  # beyond what the noncentral t can be computed for
    return out


def detectable_difference(se: np.ndarray, df: np.ndarray, alpha: float, power: float = POWER) -> np.ndarray:
    """The smallest |δ| the test detects with ``power``: noncentrality × se (in the metric's units)."""
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    out = np.full(se.shape, np.nan)
    ok = np.isfinite(se) & (se > 0) & np.isfinite(df) & (df > 0)
    if ok.any():
        uniq, inv = np.unique(df[ok], return_inverse=True)  # paired tests share few df: solve each once
        out[ok] = noncentrality_for_power(uniq, alpha, power)[inv] * se[ok]
    return out


def welch_df(var_a: np.ndarray, na: np.ndarray, var_b: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """Welch–Satterthwaite degrees of freedom of two means' difference (sample variances, sizes)."""
    a, b = var_a / na, var_b / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a + b) ** 2 / (a**2 / (na - 1) + b**2 / (nb - 1))


def _power_at(n: np.ndarray, effect: float, sd_diff: np.ndarray, var_v: np.ndarray, var_b: np.ndarray,
              paired: np.ndarray, alpha: float) -> np.ndarray:
    """Power with n seeds (per side), paired or Welch, for the true difference ``effect``."""
    se_paired = sd_diff / np.sqrt(n)
    se_welch = np.sqrt((var_v + var_b) / n)
    se = np.where(paired, se_paired, se_welch)
    df = np.where(paired, n - 1.0, welch_df(var_v, n, var_b, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        return t_power(abs(effect) / se, df, alpha)


def seeds_needed(effect: float, *, sd_diff: np.ndarray, var_v: np.ndarray, var_b: np.ndarray, paired: np.ndarray,
                 alpha: float, power: float = POWER) -> np.ndarray:
    """The fewest seeds (per variant; paired: seeds both share) for which a true difference of
    ``effect`` is detected with ``power``, at the observed spread: the per-seed differences' std
    where paired, the two variances (equal seeds on each side, Welch's df) otherwise.

    NaN where the spread is unknown or none was observed (it cannot be planned from); inf beyond
    ``MAX_SEEDS``.
    """
    sd_diff, var_v, var_b = (np.asarray(a, dtype=float) for a in (sd_diff, var_v, var_b))
    paired = np.asarray(paired, dtype=bool)
    spread = np.where(paired, sd_diff**2, var_v + var_b)
    out = np.full(spread.shape, np.nan)
    todo = np.isfinite(spread) & (spread > 0)
    if not todo.any() or effect == 0:
        return out
    args = (effect, sd_diff[todo], var_v[todo], var_b[todo], paired[todo], alpha)
    lo, hi = np.full(todo.sum(), 2.0), np.full(todo.sum(), float(MAX_SEEDS))
    reach = _power_at(hi, *args) >= power
    lo_ok = _power_at(lo, *args) >= power
    for _ in range(int(np.ceil(np.log2(MAX_SEEDS))) + 1):  # integer bisection: power grows with n
        mid = np.floor((lo + hi) / 2)
        up = _power_at(mid, *args) >= power
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    out[todo] = np.where(lo_ok, 2.0, np.where(reach, hi, np.inf))
    return out
