"""The fewest seeds a comparison is tested with, and what a comparison below it needs.

``MIN_SEEDS = 3`` seeds on each side (paired: 3 seeds both share). Why not 2: with two seeds the
paired test has one degree of freedom, so its 95 % critical value is t = 12.71 (4.30 with three)
and its spread is estimated from a single difference of differences; the standardised effect
(d_z, g) and P(beats) divide by that one number, so two seeds routinely give |d_z| > 5 and
P(beats) = 1.00 beside a difference the test cannot tell from zero, and the power of the test is
so low that the detectable difference is many spreads wide. With three seeds every statistic has
at least two degrees of freedom behind its spread, which is the least at which they can be read
together; it is a floor, not a recommendation (the detectable difference says what three seeds
can resolve).

Below the floor there is no test, no effect size and no verdict. The row says how many more seeds
(per variant) would detect a difference with 80 % power at the level the family would test it at:
``--min-effect`` where given, else the difference observed so far, both at the spread seen so far;
where there is no spread to plan from (one seed), the seeds that make a test possible at all.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .multiplicity import power_alpha
from .power import seeds_needed
from .vocabulary import Correction, Verdict

MIN_SEEDS = 3


def plan_too_few(frame: pd.DataFrame, *, alpha: float, correction: Correction, power: float, min_effect: float | None,
                 baseline_std: float, baseline_n: int) -> None:
    """``plan_effect`` (the Δ planned for), ``seeds_needed`` (per variant, at least ``MIN_SEEDS``) and
    ``seeds_more`` of each row whose verdict is ``Verdict.TOO_FEW``, at the level of the family it would join."""
    few = (frame["verdict"] == Verdict.TOO_FEW).to_numpy()
    if not few.any():
        return
    family = int(frame["p_value"].notna().sum() + few.sum())
    level = power_alpha(alpha, family, correction)
    diff = frame["diff"].to_numpy(float)
    effect = np.full(len(frame), float(min_effect)) if min_effect is not None else np.abs(diff)
    paired = (frame["test"] == "paired").to_numpy()
    need = np.full(len(frame), np.nan)
    for i in np.flatnonzero(few & np.isfinite(effect) & (effect > 0)):
        need[i] = seeds_needed(float(effect[i]), sd_diff=frame["sd_diff"].to_numpy(float)[i:i + 1],
                               var_v=np.array([float(frame["std"].iat[i]) ** 2]), var_b=np.array([baseline_std ** 2]),
                               paired=paired[i:i + 1], alpha=level, power=power)[0]
    have = np.minimum(frame["n"].to_numpy(float), float(baseline_n))
    total = np.where(np.isnan(need), MIN_SEEDS, np.maximum(need, MIN_SEEDS))
    frame["plan_effect"] = np.where(few & ~np.isnan(need), effect, frame["plan_effect"].to_numpy(float))
    frame["seeds_needed"] = np.where(few & ~np.isnan(need), total, frame["seeds_needed"].to_numpy(float))
    frame["seeds_more"] = np.where(few, total - have, math.nan)
    frame["mde_alpha"] = np.where(few & ~np.isnan(need), level, frame["mde_alpha"].to_numpy(float))
