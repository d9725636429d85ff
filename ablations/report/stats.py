"""Statistics over seeds: the t-interval of a mean, the difference of a variant to the baseline
with its interval and test (paired or Welch), one summary row per variant, costs, the Pareto front.

A statistic is one function that returns named values; ``summarize`` merges them into its row, so
a new statistic is a new key here and a new column where it is shown (``table.py``). Quantiles and
p-values come from ``scipy.special`` (``stdtrit``, ``stdtr``), which ``scipy.stats``'s ``t`` wraps
at a fraction of the cost per call.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.special import stdtr, stdtrit

from .keys import ALPHA, CONFIDENCE, MODEL_COSTS, STATUSES, device_kind, higher_is_better, seed_key

# every key ``compare`` returns but the verdict, unset: the row of a variant that is not compared
NO_COMPARISON: dict[str, Any] = {"diff": math.nan, "diff_low": math.nan, "diff_high": math.nan, "test": "",
                                 "t": math.nan, "df": math.nan, "p_value": math.nan}
COST_COLUMNS = {"params_m": "params", "gmacs": "gmacs", "train_img_per_s": "train_img_per_s",
                "peak_mem_mb": "peak_mem_mb"}  # per-variant cost column → the runs table's column


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


def describe(values: Mapping[Any, float], confidence: float = CONFIDENCE) -> dict[str, Any]:
    """n, mean, std, the t-interval and the seeds of one variant's values by seed."""
    mean, std, lo, hi = t_interval(list(values.values()), confidence)
    return {"n": len(values), "mean": mean, "std": std, "ci_low": lo, "ci_high": hi,
            "seeds": ",".join(str(s) for s in sorted(values, key=seed_key))}


def compare(variant: Mapping[Any, float] | pd.Series, baseline: Mapping[Any, float] | pd.Series, *,
            higher_better: bool = True, alpha: float = ALPHA, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """The difference ``variant − baseline`` (values by seed: a dict or a Series) with its interval and test.

    Paired t-test over seeds when both have the same seeds, Welch's t-test otherwise. Returns diff,
    diff_low, diff_high, test ('paired' / 'Welch' / ''), t, df, p_value and verdict.
    """
    v = {k: float(x) for k, x in variant.items() if math.isfinite(x)}
    b = {k: float(x) for k, x in baseline.items() if math.isfinite(x)}
    out = dict(NO_COMPARISON)
    if not v:
        return {**out, "verdict": "no finished runs"}
    if not b:
        return {**out, "verdict": "no baseline runs to compare with"}
    vx, bx = np.fromiter(v.values(), float), np.fromiter(b.values(), float)
    out["diff"] = float(vx.mean() - bx.mean())
    if len(v) < 2 or len(b) < 2:
        return {**out, "verdict": "no interval: one seed"}
    if set(v) == set(b):
        seeds = sorted(v, key=seed_key)
        d = np.array([v[k] - b[k] for k in seeds])
        n = len(d)
        diff, se, df = float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n), float(n - 1)
        out["test"] = "paired"
    else:
        nv, nb = len(vx), len(bx)
        sv, sb = float(vx.var(ddof=1)) / nv, float(bx.var(ddof=1)) / nb
        diff, se = out["diff"], math.sqrt(sv + sb)
        df = (sv + sb) ** 2 / (sv**2 / (nv - 1) + sb**2 / (nb - 1)) if se > 0 else math.nan
        out["test"] = "Welch"
    out.update(diff=diff, df=df)
    if not se > 0:  # every seed gives the same difference: a t-test is undefined (not p = 0)
        return {**out, "verdict": "no test: no variance over seeds"}
    t = diff / se
    half = _t_quantile(0.5 + confidence / 2, df) * se
    p = _t_two_sided_p(t, df)
    out.update(t=t, p_value=p, diff_low=diff - half, diff_high=diff + half)
    if p < alpha and diff != 0:
        verdict = "better" if (diff > 0) == higher_better else "worse"
    else:
        verdict = "no detectable difference"
    return {**out, "verdict": verdict}


def _samples(runs: pd.DataFrame, metric: str, variants: list[str]
             ) -> tuple[dict[str, dict[Any, float]], dict[str, set[str]], dict[str, Counter]]:
    """Per variant: the metric of its done runs by seed, its run ids, and its runs per status."""
    values: dict[str, dict[Any, float]] = {v: {} for v in variants}
    run_ids: dict[str, set[str]] = {v: set() for v in variants}
    counts: dict[str, Counter] = {v: Counter() for v in variants}
    metric_vals = runs[metric].to_numpy(float) if metric in runs.columns else np.full(len(runs), np.nan)
    for v, seed, rid, st, x in zip(runs["variant"].to_numpy(), runs["seed"].to_numpy(), runs["run_id"].to_numpy(),
                                   runs["status"].astype(str).to_numpy(), metric_vals, strict=True):
        if v not in values:
            continue
        run_ids[v].add(rid)
        counts[v][st] += 1
        if st == "done" and math.isfinite(x):
            values[v][seed] = float(x)
    return values, run_ids, counts


def summarize(runs: pd.DataFrame, metric: str, baseline: str, variants: list[str] | None = None, *,
              alpha: float = ALPHA, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Statistics per variant (index) of one metric over its done runs' seeds."""
    variants = variants if variants is not None else list(dict.fromkeys(runs["variant"]))
    higher = higher_is_better(metric)
    values, run_ids, counts = _samples(runs, metric, variants)
    base = values.get(baseline, {})
    rows = []
    for v in variants:
        x = values[v]
        if v == baseline:
            cmp = {**NO_COMPARISON, "verdict": "baseline"}
        elif run_ids[v] and run_ids[v] == run_ids.get(baseline):
            cmp = {**NO_COMPARISON, "diff": 0.0 if len(x) else math.nan, "verdict": f"same runs as {baseline}"}
        else:
            cmp = compare(x, base, higher_better=higher, alpha=alpha, confidence=confidence)
        rows.append({"variant": v, "metric": metric, **describe(x, confidence), **cmp,
                     **{f"n_{s}": counts[v].get(s, 0) for s in STATUSES}})
    return pd.DataFrame(rows).set_index("variant")


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
                 value_higher_better: bool = True) -> np.ndarray:
    """Boolean mask of the points no other point beats on both cost and value."""
    c = np.asarray(cost, float) * (1 if cost_lower_better else -1)
    y = np.asarray(value, float) * (-1 if value_higher_better else 1)  # both: lower is better now
    ok = np.isfinite(c) & np.isfinite(y)
    mask = np.zeros(len(c), bool)
    for i in np.flatnonzero(ok):
        dominated = ok & (c <= c[i]) & (y <= y[i]) & ((c < c[i]) | (y < y[i]))
        mask[i] = not dominated.any()
    return mask
