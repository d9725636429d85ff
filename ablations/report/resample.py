"""Bootstrap intervals (``--interval bootstrap``): ``scipy.stats.bootstrap`` with the bias-corrected
and accelerated percentile method (BCa; Efron, J. Amer. Statist. Assoc. 82, 1987), of a variant's
mean and of its difference to the baseline, resampling seeds in pairs where both have the same
seeds and each side on its own otherwise.

Every interval draws from its own generator seeded with ``seed``, so an interval does not depend on
which other variants are in the table. With a handful of seeds the bootstrap sees only a handful of
distinct resamples and its intervals are too narrow; the t-interval is the default for that reason.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

N_RESAMPLES = 9999
SEED = 0


def _mean_difference(v: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return v.mean(axis=axis) - b.mean(axis=axis)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return x.mean(axis=axis)


def _interval(data: tuple[np.ndarray, ...], statistic, *, paired: bool, confidence: float, seed: int,
              n_resamples: int) -> tuple[float, float]:
    """(low, high), NaN where the data give none (fewer than 2 seeds, nothing varies)."""
    if any(len(x) < 2 for x in data):
        return math.nan, math.nan
    with warnings.catch_warnings():  # degenerate data (every seed equal) gives NaN, said in the table
        warnings.simplefilter("ignore")
        res = stats.bootstrap(data, statistic, n_resamples=n_resamples, vectorized=True, paired=paired,
                              confidence_level=confidence, method="BCa", rng=np.random.default_rng(seed))
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)


def bootstrap_mean(x: np.ndarray, *, confidence: float, seed: int = SEED,
                   n_resamples: int = N_RESAMPLES) -> tuple[float, float]:
    """The BCa interval of one variant's mean over its seeds."""
    return _interval((np.asarray(x, dtype=float),), _mean, paired=False, confidence=confidence, seed=seed,
                     n_resamples=n_resamples)


def bootstrap_difference(v: np.ndarray, b: np.ndarray, *, paired: bool, confidence: float, seed: int = SEED,
                         n_resamples: int = N_RESAMPLES) -> tuple[float, float]:
    """The BCa interval of mean(v) − mean(b): seeds resampled in pairs when ``paired`` (same order)."""
    return _interval((np.asarray(v, dtype=float), np.asarray(b, dtype=float)), _mean_difference, paired=paired,
                     confidence=confidence, seed=seed, n_resamples=n_resamples)
