"""Statistics over seeds: the t-interval of a mean, the difference of a variant to the baseline
with its interval, test (paired or Welch) and effect sizes, one summary row per variant with the
family's corrected verdicts, the power of each comparison and the seeds' sources of variance, costs,
the Pareto front.

A statistic is one function that returns named values; ``summarize`` merges them into its row, so
a new statistic is a new key here and a new column where it is shown (``table.py``). Quantiles and
p-values come from ``scipy.special`` (``stdtrit``, ``stdtr``), which ``scipy.stats``'s ``t`` wraps
at a fraction of the cost per call.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.special import stdtr, stdtrit

from .effects import cohens_dz, hedges_g, standardised_interval, superiority, superiority_interval
from .few_seeds import MIN_SEEDS, plan_too_few
from .keys import ALPHA, CONFIDENCE, MODEL_COSTS, STATUSES, bounds, device_kind, higher_is_better, seed_key
from .multiplicity import adjust, power_alpha
from .power import POWER, detectable_difference, seeds_needed, welch_df
from .resample import SEED, bootstrap_difference, bootstrap_mean
from .selection import ReportError
from .variance import NO_DECOMPOSITION, seed_sources
from .vocabulary import Correction, Interval, Verdict, parse

# every key ``compare`` returns but the verdict, unset: the row of a variant that is not compared
NO_COMPARISON: dict[str, Any] = {"diff": math.nan, "diff_low": math.nan, "diff_high": math.nan, "interval": "",
                                 "test": "", "t": math.nan, "df": math.nan, "se": math.nan, "p_value": math.nan,
                                 "effect": math.nan, "effect_kind": "", "effect_low": math.nan,
                                 "effect_high": math.nan, "p_superiority": math.nan, "p_sup_low": math.nan,
                                 "p_sup_high": math.nan, "sd_diff": math.nan}
# the keys ``summarize`` adds over the family of comparisons (multiplicity.py, power.py, variance.py)
NO_FAMILY: dict[str, Any] = {"p_adj": math.nan, "correction": "", "mde": math.nan, "mde_alpha": math.nan,
                             "min_effect": math.nan, "seeds_needed": math.nan, "plan_effect": math.nan,
                             "seeds_more": math.nan}
COST_COLUMNS = {"params_m": "params", "gmacs": "gmacs", "train_img_per_s": "train_img_per_s",
                "peak_mem_mb": "peak_mem_mb"}  # per-variant cost column → the runs table's column


@dataclass(frozen=True)
class StatOptions:
    """How a report's statistics are computed (the command line's --correction, --interval, --min-effect):
    the one place they are checked; a string choice becomes its enum member here."""

    alpha: float = ALPHA
    correction: Correction = Correction.HOLM
    interval: Interval = Interval.T
    min_effect: float | None = None
    bootstrap_seed: int = SEED

    def __post_init__(self) -> None:
        object.__setattr__(self, "correction", parse(Correction, self.correction, "--correction"))
        object.__setattr__(self, "interval", parse(Interval, self.interval, "--interval"))
        if self.min_effect is not None and not (math.isfinite(self.min_effect) and self.min_effect > 0):
            raise ReportError(f"--min-effect: {self.min_effect} must be a positive number "
                              f"(finite, in the metric's units)")
        if not 0 < self.alpha < 1:
            raise ReportError(f"alpha: {self.alpha} must lie in (0, 1)")

    def kwargs(self) -> dict[str, Any]:
        return asdict(self)


def t_interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """(mean, std ddof=1, low, high) with the t-distribution; std and the bounds are NaN for n < 2."""
    x = np.asarray(list(values), dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(x.std(ddof=1))
    half = _t_quantile(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def _t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t with df degrees of freedom (df may be fractional: Welch)."""
    return float(stdtrit(df, q))


def _t_two_sided_p(t: float, df: float) -> float:
    return float(2.0 * stdtr(df, -abs(t)))


def describe(values: Mapping[Any, float], confidence: float = CONFIDENCE, *, interval: Interval = Interval.T,
             bootstrap_seed: int = SEED) -> dict[str, Any]:
    """n, mean, std, the interval of the mean (t or BCa bootstrap) and the seeds of one variant's values by seed."""
    interval = Interval(interval)
    mean, std, lo, hi = t_interval(list(values.values()), confidence)
    if interval is Interval.BOOTSTRAP:
        lo, hi = bootstrap_mean(np.fromiter(values.values(), float), confidence=confidence, seed=bootstrap_seed)
    return {"n": len(values), "mean": mean, "std": std, "ci_low": lo, "ci_high": hi,
            "ci_method": interval,
            "seeds": ",".join(seed_text(s) for s in sorted(values, key=seed_key))}


def seed_text(seed: Any) -> str:
    """A seed as the report writes it: ``3``, or ``3/1`` for (init seed, data seed)."""
    return "/".join(map(str, seed)) if isinstance(seed, tuple) else str(seed)


def compare(variant: Mapping[Any, float] | pd.Series, baseline: Mapping[Any, float] | pd.Series, *,
            higher_better: bool = True, alpha: float = ALPHA, confidence: float = CONFIDENCE,
            interval: Interval = Interval.T,
            bootstrap_seed: int = SEED, min_seeds: int = MIN_SEEDS) -> dict[str, Any]:
    """The difference ``variant − baseline`` (values by seed: a dict or a Series) with its interval,
    test and effect sizes (each with its interval).

    Paired t-test over seeds when both have the same seeds (a seed may be an (init, data) pair),
    Welch's t-test otherwise. The interval is the t-interval of the test or (``interval='bootstrap'``)
    the BCa bootstrap interval; the p-value is the t-test's either way. Returns the keys of
    ``NO_COMPARISON`` and the verdict at ``alpha`` (uncorrected: ``summarize`` corrects it). With
    fewer than ``min_seeds`` on either side: the difference and the spread to plan from (``test``
    names the test it will get), no test, no effect sizes, the verdict ``Verdict.TOO_FEW``.
    """
    interval = Interval(interval)
    v = {k: float(x) for k, x in variant.items() if math.isfinite(x)}
    b = {k: float(x) for k, x in baseline.items() if math.isfinite(x)}
    out = dict(NO_COMPARISON)
    if not v:
        return {**out, "verdict": Verdict.NO_RUNS}
    if not b:
        return {**out, "verdict": Verdict.NO_BASELINE_RUNS}
    vx, bx = np.fromiter(v.values(), float), np.fromiter(b.values(), float)
    out["diff"] = float(vx.mean() - bx.mean())
    paired = set(v) == set(b)
    if paired:
        seeds = sorted(v, key=seed_key)
        vx, bx = np.array([v[k] for k in seeds]), np.array([b[k] for k in seeds])
    if len(v) < min_seeds or len(b) < min_seeds:  # the spread so far, to plan the seeds from; nothing else
        spread = {"test": "paired" if paired else "Welch"}
        if len(v) > 1 and len(b) > 1 and paired:
            spread["sd_diff"] = float((vx - bx).std(ddof=1))
        return {**out, **spread, "verdict": Verdict.TOO_FEW}
    out.update(_paired(vx, bx) if paired else _welch(vx, bx))
    diff, se, df = out["diff"], out["se"], out["df"]
    if not se > 0:  # every seed gives the same difference: a t-test is undefined (not p = 0), no effect size
        out.update(effect=math.nan, effect_kind="")
        return {**_drop_internal(out), "verdict": Verdict.NO_VARIANCE}
    _effect_intervals(out, higher_better, confidence)
    t = diff / se
    if interval is Interval.BOOTSTRAP:
        lo, hi = bootstrap_difference(vx, bx, paired=paired, confidence=confidence, seed=bootstrap_seed)
    else:
        half = _t_quantile(0.5 + confidence / 2, df) * se
        lo, hi = diff - half, diff + half
    p = _t_two_sided_p(t, df)
    out.update(t=t, p_value=p, diff_low=lo, diff_high=hi, interval=interval)
    return {**out, "verdict": verdict_of(p, diff, alpha, higher_better)}


def _paired(vx: np.ndarray, bx: np.ndarray) -> dict[str, Any]:
    """The paired difference (same seeds, in the same order): its mean, se, df and d_z, and what the
    effect's interval needs (the standardised t, its df and scale; P(beats)'s scale)."""
    d = vx - bx
    n = len(d)
    sd = float(d.std(ddof=1))
    t_std = float(d.mean()) / (sd / math.sqrt(n)) if sd > 0 else math.nan
    return {"test": "paired", "diff": float(d.mean()), "se": sd / math.sqrt(n), "df": float(n - 1), "sd_diff": sd,
            "effect": cohens_dz(d), "effect_kind": "d_z",
            "_effect": (t_std, float(n - 1), 1 / math.sqrt(n), 1.0, float(d.mean()) / sd if sd > 0 else math.nan)}


def _welch(vx: np.ndarray, bx: np.ndarray) -> dict[str, Any]:
    """The difference of independent means: Welch's se and df, Hedges' g, and what the effect's
    interval needs: Welch's t as noncentral t with Welch's df and noncentrality δ·s_pooled/se, so that
    the interval of δ = Δ / s_pooled excludes 0 exactly when Welch's test rejects (P(beats) = Φ(d / √2)
    for independent seeds of one spread)."""
    nv, nb = len(vx), len(bx)
    var_v, var_b = float(vx.var(ddof=1)), float(bx.var(ddof=1))
    se = math.sqrt(var_v / nv + var_b / nb)
    df = float(welch_df(np.float64(var_v), nv, np.float64(var_b), nb)) if se > 0 else math.nan
    pooled = math.sqrt(((nv - 1) * var_v + (nb - 1) * var_b) / (nv + nb - 2))
    diff = float(vx.mean() - bx.mean())
    d = diff / pooled if pooled > 0 else math.nan
    t = diff / se if se > 0 else math.nan
    return {"test": "Welch", "se": se, "df": df, "effect": hedges_g(vx, bx), "effect_kind": "g",
            "_effect": (t, df, se / pooled if pooled > 0 else math.nan, math.sqrt(2), d)}


def _effect_intervals(out: dict[str, Any], higher_better: bool, confidence: float) -> None:
    """The standardised effect's interval and P(beats) with its interval (``effects.py``)."""
    t_std, df, scale, sup_scale, d = out.pop("_effect")
    lo, hi = standardised_interval(t_std, df, scale, confidence)
    out.update(effect_low=lo, effect_high=hi,
               p_superiority=superiority(d / sup_scale, 1.0, higher_better=higher_better))
    out["p_sup_low"], out["p_sup_high"] = superiority_interval(lo, hi, scale=sup_scale, higher_better=higher_better)


def _drop_internal(out: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in out.items() if not k.startswith("_")}


def verdict_of(p: float, diff: float, alpha: float, higher_better: bool) -> Verdict:
    if p < alpha and diff != 0:
        return Verdict.BETTER if (diff > 0) == higher_better else Verdict.WORSE
    return Verdict.NO_DIFFERENCE


def pair_keys(runs: pd.DataFrame) -> np.ndarray:
    """Each run's seed for pairing: the init seed, or (init seed, data seed) where the grid varies both."""
    seeds = runs["seed"].to_numpy()
    if "data_seed" not in runs.columns or not runs["data_seed"].notna().any():
        return seeds
    data = runs["data_seed"].to_numpy()
    out = np.empty(len(runs), dtype=object)
    out[:] = [(s, None if d is None or d != d else d) for s, d in zip(seeds, data, strict=True)]
    return out


def seed_design(runs: pd.DataFrame) -> dict[str, list[Any]]:
    """The init seeds and data seeds of the done runs (data seeds empty where the grid does not vary them)."""
    done = runs[runs["status"] == "done"] if len(runs) else runs
    inits = sorted(set(done["seed"]) if len(done) else set(), key=seed_key)
    datas: list[Any] = []
    if "data_seed" in done.columns:
        datas = sorted({d for d in done["data_seed"] if d is not None and d == d}, key=seed_key)
    return {"init": inits, "data": datas}


def _samples(runs: pd.DataFrame, metric: str, variants: list[str]
             ) -> tuple[dict[str, dict[Any, float]], dict[str, set[str]], dict[str, Counter]]:
    """Per variant: the metric of its done runs by seed, its run ids, and its runs per status."""
    values: dict[str, dict[Any, float]] = {v: {} for v in variants}
    run_ids: dict[str, set[str]] = {v: set() for v in variants}
    counts: dict[str, Counter] = {v: Counter() for v in variants}
    metric_vals = runs[metric].to_numpy(float) if metric in runs.columns else np.full(len(runs), np.nan)
    for v, seed, rid, st, x in zip(runs["variant"].to_numpy(), pair_keys(runs), runs["run_id"].to_numpy(),
                                   runs["status"].astype(str).to_numpy(), metric_vals, strict=True):
        if v not in values:
            continue
        run_ids[v].add(rid)
        counts[v][st] += 1
        if st == "done" and math.isfinite(x):
            values[v][seed] = float(x)
    return values, run_ids, counts


def summarize(runs: pd.DataFrame, metric: str, baseline: str, variants: list[str] | None = None, *,
              alpha: float = ALPHA, confidence: float = CONFIDENCE, correction: Correction = Correction.HOLM,
              interval: Interval = Interval.T,
              min_effect: float | None = None, power: float = POWER, bootstrap_seed: int = SEED) -> pd.DataFrame:
    """Statistics per variant (index) of one metric over its done runs' seeds.

    Every comparison against the baseline is one family: its p-values are adjusted together
    (``correction``: holm, bh or none) and the verdicts taken from the adjusted ones; each gets the
    smallest difference it could detect with ``power`` and, given ``min_effect`` (in the metric's
    units), the seeds needed to detect that. Where the runs vary both the init and the data seed,
    each variant's variance is split into the two (``variance.py``).
    """
    correction, interval = Correction(correction), Interval(interval)
    variants = variants if variants is not None else list(dict.fromkeys(runs["variant"]))
    higher = higher_is_better(metric)
    values, run_ids, counts = _samples(runs, metric, variants)
    base = values.get(baseline, {})
    design = seed_design(runs)
    both = len(design["init"]) > 1 and len(design["data"]) > 1  # a two-way table of seeds to decompose
    rows = []
    for v in variants:
        x = values[v]
        if v == baseline:
            cmp = {**NO_COMPARISON, "verdict": Verdict.BASELINE}
        elif run_ids[v] and run_ids[v] == run_ids.get(baseline):
            cmp = {**NO_COMPARISON, "diff": 0.0 if len(x) else math.nan, "verdict": Verdict.SAME_RUNS}
        else:
            cmp = compare(x, base, higher_better=higher, alpha=alpha, confidence=confidence, interval=interval,
                          bootstrap_seed=bootstrap_seed)
        sources = seed_sources(x) if both else NO_DECOMPOSITION
        rows.append({"variant": v, "metric": metric,
                     **_clipped(describe(x, confidence, interval=interval, bootstrap_seed=bootstrap_seed), metric),
                     **cmp, **NO_FAMILY, **{f"n_{s}": counts[v].get(s, 0) for s in STATUSES}, **sources})
    frame = pd.DataFrame(rows).set_index("variant")
    _correct(frame, correction, alpha, higher)
    _power(frame, correction, alpha, power, min_effect)
    base_row = frame.loc[baseline] if baseline in frame.index else None
    plan_too_few(frame, alpha=alpha, correction=correction, power=power, min_effect=min_effect,
                 baseline_std=float(base_row["std"]) if base_row is not None else math.nan,
                 baseline_n=int(base_row["n"]) if base_row is not None else 0)
    return frame


def _clipped(described: dict[str, Any], metric: str) -> dict[str, Any]:
    """The mean's interval cut to the metric's range ([0, 100] for an accuracy, ≥ 0 for a loss): the
    part of a confidence interval outside the possible values holds no value the mean can take, so
    the cut interval covers the mean at least as often."""
    low, high = bounds(metric)
    if math.isfinite(described["ci_low"]):
        described["ci_low"] = min(max(described["ci_low"], low), high)
        described["ci_high"] = min(max(described["ci_high"], low), high)
    return described


def _correct(frame: pd.DataFrame, correction: Correction, alpha: float, higher: bool) -> None:
    """The family's adjusted p-values, and each tested verdict taken from its adjusted one."""
    tested = frame["p_value"].notna().to_numpy()
    frame["correction"] = [correction if t else "" for t in tested]
    frame["p_adj"] = adjust(frame["p_value"].to_numpy(float), correction)
    verdicts = frame["verdict"].to_numpy(object)
    for i in np.flatnonzero(tested):
        verdicts[i] = verdict_of(frame["p_adj"].iat[i], frame["diff"].iat[i], alpha, higher)
    frame["verdict"] = verdicts


def _power(frame: pd.DataFrame, correction: Correction, alpha: float, power: float, min_effect: float | None) -> None:
    """The detectable difference of each tested comparison and the seeds a ``min_effect`` needs, at
    the level a lone real difference in the family must reach."""
    tested = frame["p_value"].notna().to_numpy()
    level = power_alpha(alpha, int(tested.sum()), correction)
    frame["mde_alpha"] = np.where(tested, level, math.nan)
    se, df = frame["se"].to_numpy(float), frame["df"].to_numpy(float)
    frame["mde"] = np.where(tested, detectable_difference(se, df, level, power), math.nan)
    if min_effect is None:
        return
    compared = frame["test"].isin(["paired", "Welch"]).to_numpy()
    need = seeds_needed(min_effect, sd_diff=frame["sd_diff"].to_numpy(float),
                        var_v=frame["std"].to_numpy(float) ** 2,
                        var_b=np.full(len(frame), float(frame["std"].get(_baseline_of(frame), math.nan)) ** 2),
                        paired=(frame["test"] == "paired").to_numpy(), alpha=level, power=power)
    frame["min_effect"] = np.where(compared, min_effect, math.nan)
    frame["seeds_needed"] = np.where(compared, np.maximum(need, MIN_SEEDS), math.nan)  # never below the floor


def _baseline_of(frame: pd.DataFrame) -> Any:
    base = frame.index[frame["verdict"] == Verdict.BASELINE]
    return base[0] if len(base) else None


def variant_costs(runs: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """Params (M), GMACs, train img/s and peak memory per variant: medians over its finished runs
    (params and GMACs, properties of the model, from any run that has them)."""
    out = pd.DataFrame(index=pd.Index(variants, name="variant"), columns=list(COST_COLUMNS), dtype=float)
    done = runs[runs["status"] == "done"]
    for name, col in COST_COLUMNS.items():
        if col not in runs.columns:
            continue
        med = done.groupby("variant", observed=True, sort=False)[col].median()
        if col in MODEL_COSTS:
            med = med.combine_first(runs.groupby("variant", observed=True, sort=False)[col].median())
        out[name] = med.reindex(variants).astype(float) / (1e6 if col == "params" else 1.0)
    return out


def memory_kinds(runs: pd.DataFrame) -> set[str]:
    """The kinds of device ('cpu', 'gpu') the peak memory of the done runs was measured on."""
    if "device" not in runs.columns or "peak_mem_mb" not in runs.columns:
        return set()
    measured = runs[(runs["status"] == "done") & runs["peak_mem_mb"].notna()]
    return {k for k in map(device_kind, measured["device"]) if k}


def pareto_front(cost: np.ndarray, value: np.ndarray, *, cost_lower_better: bool = True,
                 value_higher_better: bool = True, cost_tolerance: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the points no other point beats on both cost and value.

    ``cost_tolerance`` (n × n, or None for exact costs): two costs closer than it are the same cost
    (their difference is noise), so neither beats the other on cost.
    """
    c = np.asarray(cost, float) * (1 if cost_lower_better else -1)
    y = np.asarray(value, float) * (-1 if value_higher_better else 1)  # both: lower is better now
    tol = np.zeros((len(c), len(c))) if cost_tolerance is None else np.asarray(cost_tolerance, float)
    ok = np.isfinite(c) & np.isfinite(y)
    mask = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        cost_no_worse = c <= c[i] + tol[i]
        cost_better = c < c[i] - tol[i]
        dominated = ok & cost_no_worse & (y <= y[i]) & (cost_better | (y < y[i]))
        mask[i] = not dominated.any()
    return mask
