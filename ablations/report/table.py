"""The one table of a report: a row per variant for one metric, built from the summary and the
costs. The model holds every cell's text and says which part of which cell is emphasised (the
best mean); the renderers in ``formats.py`` only say how each format emphasises.

A column is a header, an alignment, whether its text may wrap, a function from a row to its cell,
and a function from a row to its fields in ``table.csv``: adding a column is one more entry in
``_columns``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from .effects import SANE_EFFECT
from .findings import Findings
from .keys import ALPHA, SHORT, STATUSES, decimals, higher_is_better, is_percent, metric_label, peak_memory_labels
from .power import MAX_SEEDS
from .stats import COST_COLUMNS, memory_kinds
from .vocabulary import Correction, Interval, Verdict


@dataclass(frozen=True)
class Cell:
    text: str
    strong: str = ""  # the leading part of ``text`` that is emphasised ("74.50" of "74.50 ± 1.04")


@dataclass(frozen=True)
class Row:
    """What a column reads to make its cell: one variant's summary, costs and axis values."""

    variant: str
    stats: pd.Series  # the variant's row of ``summarize``
    costs: pd.Series  # the variant's row of ``variant_costs`` (empty when it has none)
    axes: dict[str, Any]  # axis → the variant's value (None where unknown)
    best: bool  # its mean is the best of the table
    transfer: str = ""  # what its runs took from pretrained weights ("copied 180 · resized 12 · new 1")


@dataclass(frozen=True)
class Column:
    header: str | None  # None: a column of table.csv only
    fields: Callable[[Row], dict[str, Any]]  # its part of the row in table.csv
    cell: Callable[[Row], Cell] = lambda r: Cell("")
    align: str = "r"  # "l" | "r"
    wrap: bool = False  # long text (axis values, run counts, verdicts) that may break over lines
    detail: bool = False  # shown in the details table, not the main one (its fields are in table.csv either way)


@dataclass
class Table:
    header: list[str]
    align: list[str]  # "l" | "r" per column
    wrap: list[bool]  # per column: its text may wrap (numbers never do)
    rows: list[list[Cell]]
    numeric: pd.DataFrame  # the CSV form (every field of every column, the details' too)
    details: Table | None = None  # the variant and the columns a reader needs second


def fmt_number(x: Any, d: int = 2, sign: bool = False) -> str:
    """``x`` with ``d`` decimals (and its sign); empty for a missing value."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def cost_decimals(costs: pd.DataFrame) -> dict[str, int]:
    """One number of decimals per cost column, from its smallest value (0.25 and 0.33 GMACs, not 0.3)."""
    out = {}
    for k in COST_COLUMNS:
        vals = costs[k].dropna().abs() if k in costs.columns else pd.Series(dtype=float)
        m = float(vals[vals > 0].min()) if (vals > 0).any() else 1.0
        if k in ("params_m", "gmacs"):  # three significant digits of the smallest
            out[k] = int(min(4, max(0, 2 - math.floor(math.log10(m)))))
        else:
            out[k] = 1 if m < 10 else 0
    return out


def _axis_names(axes: list[str]) -> dict[str, str]:
    """The last part of each dotted key, the whole key where two would read the same."""
    short = {a: a.split(".")[-1] for a in axes}
    dup = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {a: (a if short[a] in dup else short[a]) for a in axes}


def _runs_cell(r: Row) -> Cell:
    s = r.stats
    others = ", ".join(f"{int(s[f'n_{st}'])} {st}" for st in STATUSES[1:] if s[f"n_{st}"])
    return Cell(f"{int(s['n'])}/{_planned(s)}" + (f" ({others})" if others else ""))


def _planned(s: pd.Series) -> int:
    return sum(int(s[f"n_{st}"]) for st in STATUSES)


def _mean_cell(r: Row, d: int) -> Cell:
    s, n = r.stats, int(r.stats["n"])
    if n == 0:
        return Cell("")
    mean = fmt_number(s["mean"], d)
    text = f"{mean} (1 seed)" if n == 1 else f"{mean} ± {fmt_number(s['std'], d)}"
    return Cell(text, strong=mean if r.best else "")


def _ci_cell(r: Row, d: int) -> Cell:
    s, n = r.stats, int(r.stats["n"])
    if n == 0:
        return Cell("")
    if n == 1:
        return Cell("none: one seed")
    if not math.isfinite(s["ci_low"]):  # the bootstrap of seeds that are all equal
        return Cell("none: no spread")
    return Cell(f"[{fmt_number(s['ci_low'], d)}, {fmt_number(s['ci_high'], d)}]")


def _diff_cell(r: Row, d: int) -> Cell:
    s = r.stats
    if Verdict(s["verdict"]).is_baseline_runs:
        return Cell("")
    diff = fmt_number(s["diff"], d, True)
    if math.isfinite(s["diff_low"]):
        return Cell(f"{diff} [{fmt_number(s['diff_low'], d, True)}, {fmt_number(s['diff_high'], d, True)}]")
    if math.isfinite(s["diff"]):
        return Cell(f"{diff} (no interval)")
    return Cell("")


def verdict_text(s: pd.Series, metric: str, baseline: str = "the baseline", alpha: float = ALPHA) -> str:
    """The verdict as a reader gets it: below the seed floor what the seeds would take, and a
    difference the comparison's own test sees but the correction does not said as such."""
    verdict = Verdict(s["verdict"])
    if verdict is Verdict.SAME_RUNS:
        return f"{verdict} as {baseline}"
    if verdict is Verdict.TOO_FEW:
        more, effect = float(s["seeds_more"]), float(s["plan_effect"])
        many = f"more than {MAX_SEEDS:,}" if math.isinf(more) else f"{int(more)}"
        if not math.isfinite(effect):
            return f"{verdict}: {many} more needed for a test"
        unit = " pp" if is_percent(metric) else ""
        return f"{verdict}: {many} more needed for a Δ of {fmt_number(effect, decimals(metric))}{unit}"
    correction = Correction.applied(s.get("correction"))
    if verdict is not Verdict.NO_DIFFERENCE:
        return str(verdict)
    if correction is not None and s["p_value"] < alpha:
        return f"{verdict} after {correction.label}"
    if s["diff_low"] > 0 or s["diff_high"] < 0:  # a bootstrap interval that excludes 0 where the t-test does not
        return f"{verdict} by the t-test (its {Interval(s['interval']).short} interval excludes 0)"
    return str(verdict)


def effect_text(s: pd.Series, d: int) -> str:
    """The standardised effect with its interval; beyond ±``SANE_EFFECT`` (seeds that barely vary
    against the difference) only that it is, with the raw Δ; nothing without an interval."""
    e, lo, hi = float(s["effect"]), float(s["effect_low"]), float(s["effect_high"])
    if not math.isfinite(e):
        return ""
    if abs(e) > SANE_EFFECT:
        return f"|{s['effect_kind']}| > {SANE_EFFECT:g} (Δ {fmt_number(s['diff'], d, True)})"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"{fmt_number(e, 2, True)} [{fmt_number(lo, 2, True)}, {fmt_number(hi, 2, True)}] ({s['effect_kind']})"


def superiority_text(s: pd.Series) -> str:
    """P(beats) with its interval, or nothing."""
    p, lo, hi = float(s["p_superiority"]), float(s["p_sup_low"]), float(s["p_sup_high"])
    if not all(math.isfinite(x) for x in (p, lo, hi)):
        return ""
    return f"{fmt_number(p, 2)} [{fmt_number(lo, 2)}, {fmt_number(hi, 2)}]"


def _p_cell(r: Row) -> Cell:
    p = r.stats["p_value"]
    return Cell(f"{fmt_p(p)} ({r.stats['test']})" if math.isfinite(p) else "")


def _p_adj_cell(r: Row) -> Cell:
    return Cell(fmt_p(float(r.stats["p_adj"])))


def _mde_cell(r: Row, d: int) -> Cell:
    m = float(r.stats["mde"])
    return Cell(f"±{fmt_number(m, d)}" if math.isfinite(m) else "")


def _seeds_needed_cell(r: Row) -> Cell:
    n = float(r.stats["seeds_needed"])
    if math.isnan(n):
        return Cell("")
    return Cell(f"> {MAX_SEEDS:,}" if math.isinf(n) else f"{int(n)}")


def _from_stats(*keys: str, **renamed: str) -> Callable[[Row], dict[str, Any]]:
    """CSV fields taken from the variant's summary row: ``keys`` as they are, ``renamed`` as name=key."""
    pairs = [(k, k) for k in keys] + list(renamed.items())
    return lambda r: {name: r.stats[key] for name, key in pairs}


def _statistics(metric: str, baseline: str, summary: pd.DataFrame, *, interval: Interval, correction: Correction
                ) -> list[Column]:
    """The columns of the metric's statistics. First: runs, mean, interval, Δ, the corrected p (the
    raw one where uncorrected) and the verdict; in the details: the test's p, effect sizes, power."""
    d = decimals(metric)
    method = Interval(interval).short
    cols = [
        Column(None, lambda r: {"metric": metric}),
        Column("Runs", lambda r: {"n": int(r.stats["n"]), "planned": _planned(r.stats)}, _runs_cell, wrap=True),
        Column(f"{SHORT.get(metric, metric_label(metric))} mean ± std", _from_stats("mean", "std"),
               lambda r: _mean_cell(r, d)),
        Column(f"95% CI ({method})", lambda r: {"ci_low": r.stats["ci_low"], "ci_high": r.stats["ci_high"],
                                                "interval": method}, lambda r: _ci_cell(r, d)),
        Column(f"Δ vs {baseline} [95% CI]", _from_stats("diff", diff_ci_low="diff_low", diff_ci_high="diff_high"),
               lambda r: _diff_cell(r, d)),
        Column("p (test)", _from_stats("test", "p_value"), _p_cell, detail=correction is not Correction.NONE),
    ]
    if correction is not Correction.NONE:
        cols.append(Column(f"p adj. ({correction.label})", _from_stats("p_adj", "correction"), _p_adj_cell))
    else:
        cols.append(Column(None, _from_stats("p_adj", "correction")))
    cols.append(Column("Verdict", lambda r: {"verdict": r.stats["verdict"], "best": r.best,
                                             "verdict_text": verdict_text(r.stats, metric, baseline)},
                       lambda r: Cell(verdict_text(r.stats, metric, baseline)), align="l", wrap=True))
    cols += [
        Column("Effect [95% CI]", _from_stats("effect", "effect_kind", "effect_low", "effect_high"),
               lambda r: Cell(effect_text(r.stats, d)), detail=True),
        Column("P(beats) [95% CI]", _from_stats("p_superiority", "p_sup_low", "p_sup_high"),
               lambda r: Cell(superiority_text(r.stats)), detail=True),
        Column("Detectable Δ (80%)", _from_stats("mde", "mde_alpha"), lambda r: _mde_cell(r, d), detail=True),
        Column(None, _from_stats("plan_effect", "seeds_more")),
    ]
    if summary["min_effect"].notna().any():
        effect = float(summary["min_effect"].dropna().iloc[0])
        cols.append(Column(f"Seeds for Δ = {effect:g}", _from_stats("min_effect", "seeds_needed"), _seeds_needed_cell,
                           detail=True))
    else:
        cols.append(Column(None, _from_stats("min_effect", "seeds_needed")))
    return cols


def _transfer_cell(r: Row) -> Cell:
    return Cell(r.transfer)


def _columns(f: Findings, *, interval: Interval, correction: Correction, main: bool,
             axes: dict[str, dict[str, Any]]) -> list[Column]:
    agg, metric, baseline, summary, costs, paper = f.agg, f.metric, f.baseline, f.summary, f.costs, f.paper
    names = _axis_names(agg.axes)
    cdec = cost_decimals(costs)
    pdec = next((k for k in range(4) if all(abs(round(x, k) - x) < 1e-9 for x in (paper or {}).values())), 2)
    cols = [Column("Variant", lambda r: {"variant": r.variant}, lambda r: Cell(r.variant), align="l")]
    cols += [Column(None if _names_the_variant(a, axes) else names[a], lambda r, a=a: {a: r.axes[a]},
                    lambda r, a=a: Cell(_axis_text(r.axes[a])), align="l", wrap=True) for a in agg.axes]
    cols += _statistics(metric, baseline, summary, interval=interval, correction=correction)
    cols.append(Column(None, lambda r: {f"n_{st}": int(r.stats[f"n_{st}"]) for st in STATUSES}))
    if not main:  # another metric's table: its statistics only (the costs and the paper are the main table's)
        return cols
    if agg.transfers:
        cols.append(Column("Transferred", lambda r: {"transfer": r.transfer}, _transfer_cell, align="l", wrap=True,
                           detail=True))
    if paper:
        cols.append(Column("Paper", lambda r: {"paper": paper.get(r.variant, math.nan)},
                           lambda r: Cell(fmt_number(paper[r.variant], pdec) if r.variant in paper else "")))
    cost_headers = {"params_m": "Params (M)", "gmacs": "GMACs", "train_img_per_s": "Train img/s",
                    "peak_mem_mb": peak_memory_labels(memory_kinds(agg.runs))[0]}
    cols += [Column(h, lambda r, k=k: {k: r.costs.get(k, math.nan)},
                    lambda r, k=k: Cell(_fmt_cost(float(r.costs.get(k, math.nan)), cdec[k])),
                    detail=k in ("train_img_per_s", "peak_mem_mb"))
             for k, h in cost_headers.items()]
    return cols


def _axis_text(value: Any) -> str:
    return str(value) if value is not None and pd.notna(value) else ""


def _names_the_variant(axis: str, axes: dict[str, dict[str, Any]]) -> bool:
    """Whether the axis's value is the variant's name in every row (``pos`` of variants named by it):
    a column that repeats the first one is left to table.csv."""
    return bool(axes) and all(_axis_text(values.get(axis)) == str(v) for v, values in axes.items())


def _decided_best(summary: pd.DataFrame, metric: str) -> set[Any]:
    """The variant whose mean is the best, where the corrected test decides it: a best variant
    that is 'better' than the baseline, or a best baseline that every other variant with a
    mean is decidedly 'worse' than (with the variants that are its runs). Empty otherwise."""
    means = summary["mean"].astype(float)
    if not means.notna().any():
        return set()
    best = means.max() if higher_is_better(metric) else means.min()
    top = {v for v, m in means.items() if math.isfinite(m) and abs(m - best) <= 1e-12 * max(1, abs(best))}
    verdicts = {v: Verdict(x) for v, x in summary["verdict"].items()}
    if any(verdicts[v] is Verdict.BETTER for v in top):
        return {v for v in top if verdicts[v] is Verdict.BETTER}
    same = {v for v in summary.index if verdicts[v].is_baseline_runs}
    others = [v for v in summary.index if v not in same and math.isfinite(means[v])]
    if top & same and others and all(verdicts[v] is Verdict.WORSE for v in others):
        return top & same
    return set()


def _fmt_cost(x: float, d: int) -> str:
    return f"{x:,.{d}f}" if math.isfinite(x) else ""


def variant_transfers(runs: pd.DataFrame) -> dict[str, str]:
    """Per variant, what its runs took from pretrained weights: the one summary, or each with its count."""
    if "transfer" not in runs.columns:
        return {}
    out = {}
    for v, g in runs[runs["transfer"].fillna("") != ""].groupby("variant", sort=False, observed=True):
        kinds = g["transfer"].value_counts(sort=False)
        out[str(v)] = kinds.index[0] if len(kinds) == 1 else "; ".join(f"{k} ({n} runs)" for k, n in kinds.items())
    return out


def build_table(f: Findings, *, interval: Interval = Interval.T, correction: Correction | None = None,
                main: bool = True) -> Table:
    """The table of ``f.metric``: one row per variant of ``f.summary`` (the best mean emphasised). The
    main table also has the transfers, the paper's numbers and the costs; ``interval`` and the
    summary's correction name the methods in the headers."""
    agg, summary, costs, metric = f.agg, f.summary, f.costs, f.metric
    first = agg.runs.drop_duplicates("variant").set_index("variant") if len(agg.runs) else pd.DataFrame()
    if correction is None:
        used = [c for c in summary["correction"] if isinstance(c, str) and c] if "correction" in summary.columns else []
        correction = used[0] if used else Correction.NONE
    correction, interval = Correction(correction), Interval(interval)
    axes = {v: {a: (first.loc[v, a] if v in first.index and a in first.columns else None) for a in agg.axes}
            for v in summary.index}
    cols = _columns(f, interval=interval, correction=correction, main=main, axes=axes)
    transfers = variant_transfers(agg.runs) if main else {}
    best = _decided_best(summary, metric)
    shown = [c for c in cols if c.header is not None and not c.detail]
    detail = [cols[0], *(c for c in cols if c.header is not None and c.detail)]
    rows, detail_rows, numeric = [], [], []
    for v, s in summary.iterrows():
        row = Row(v, s, costs.loc[v] if v in costs.index else pd.Series(dtype=float), axes[v], v in best,
                  transfers.get(str(v), ""))
        rows.append([c.cell(row) for c in shown])
        detail_rows.append([c.cell(row) for c in detail])
        numeric.append({k: x for c in cols for k, x in c.fields(row).items()})
    frame = pd.DataFrame(numeric)
    details = Table([c.header for c in detail], [c.align for c in detail], [c.wrap for c in detail], detail_rows,
                    frame) if len(detail) > 1 else None
    return Table([c.header for c in shown], [c.align for c in shown], [c.wrap for c in shown], rows, frame, details)
