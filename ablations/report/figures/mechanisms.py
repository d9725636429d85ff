"""The Mechanisms section's figures, from the runs' analysis.json: attention distance against depth
and cross-window dependence per block (one line per variant, ±1 std band over seeds), top-1 against
a cyclic shift in pixels, and the CKA heat map of each variant's blocks against the baseline's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..load import Aggregate
from .style import line_data, merged_variants, new_figure, palette, rc, save

STEMS = ("mech_attention", "mech_cross_window", "mech_shift", "mech_cka")
CAPTIONS = {
    "mech_attention": "Mean attention distance (input pixels, mean over heads) against block depth; mean over "
                      "seeds with a ±1 std band.",
    "mech_cross_window": "Cross-window dependence per window block: the share of an output token's input-gradient "
                         "mass from outside its own window (0 for an unshifted block); mean over seeds, ±1 std band.",
    "mech_shift": "Top-1 accuracy (of the analysed images) against a cyclic shift of the input in pixels; mean over "
                  "seeds, ±1 std band.",
    "mech_cka": "Linear CKA of each variant's blocks (rows) with the baseline's blocks (columns), same seed, mean "
                "over seeds.",
}


def _long(agg: Aggregate, analyses: dict[str, dict[str, Any]], rows_of) -> pd.DataFrame:
    """One row per (run, item) that ``rows_of(analysis)`` yields, tagged with the run's variant and seed."""
    who = {str(r): (v, s) for v, s, r in zip(agg.runs["variant"], agg.runs["seed"], agg.runs["run_id"])}
    recs = [{"variant": who[rid][0], "seed": who[rid][1], **row}
            for rid, a in analyses.items() if rid in who for row in rows_of(a)]
    return pd.DataFrame(recs)


def _lines(df: pd.DataFrame, agg: Aggregate, baseline: str, x: str, y: str, xlabel: str, ylabel: str) -> Any:
    import seaborn as sns

    reps, label = merged_variants(agg.runs, agg.variants, baseline)
    df, order, lpal = line_data(df, reps, label, palette(agg.variants, baseline))
    fig = new_figure(3.9, 2.7)
    ax = fig.add_subplot()
    sns.lineplot(data=df, x=x, y=y, hue="label", hue_order=order, palette=lpal, errorbar="sd",
                 err_kws={"alpha": 0.15, "linewidth": 0}, marker="o", markersize=4, markeredgewidth=0, ax=ax)
    ax.set_xticks(sorted(df[x].unique()))  # whole blocks, the shifts measured
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(ax=ax)
    return fig


def _cka(agg: Aggregate, analyses: dict[str, dict[str, Any]], baseline: str) -> Any:
    """One heat map per variant with CKA against the baseline (mean over seeds)."""
    import seaborn as sns

    who = dict(zip(agg.runs["run_id"].astype(str), agg.runs["variant"]))
    per_variant: dict[str, list[tuple[list[str], list[str], np.ndarray]]] = {}
    for rid, a in analyses.items():
        c = a.get("cka")
        if c and rid in who and who[rid] != baseline:
            per_variant.setdefault(who[rid], []).append((c["rows"], c["cols"], np.asarray(c["matrix"], float)))
    variants = [v for v in agg.variants if v in per_variant]
    fig = new_figure(3.2 * len(variants), 3.0)
    for i, v in enumerate(variants):
        rows, cols, _ = per_variant[v][0]
        mats = [m for r, c, m in per_variant[v] if r == rows and c == cols]
        ax = fig.add_subplot(1, len(variants), i + 1)
        short = [n.replace("stages.", "s").replace(".blocks.", "b") for n in rows]
        short_cols = [n.replace("stages.", "s").replace(".blocks.", "b") for n in cols]
        sns.heatmap(pd.DataFrame(np.mean(mats, axis=0), index=short, columns=short_cols), vmin=0, vmax=1,
                    cmap="viridis", square=True, cbar=i == len(variants) - 1, ax=ax)
        ax.set_title(f"{v} ({len(mats)} seeds)")
        ax.set_xlabel(f"{baseline} block")
        ax.set_ylabel(f"{v} block" if i == 0 else "")
    return fig


def _jobs(agg: Aggregate, analyses: dict[str, dict[str, Any]], baseline: str) -> list[tuple[str, Any]]:
    attn = _long(agg, analyses, lambda a: [{"depth": r["depth"], "value": r["mean_px"]}
                                           for r in (a.get("attention_distance") or {}).values()])
    cross = _long(agg, analyses, lambda a: [{"depth": r["depth"], "value": r["share"]}
                                            for r in (a.get("cross_window") or {}).values()])
    shift = _long(agg, analyses, lambda a: [{"shift": 0, "value": a["translation"]["top1"]}] + [
        {"shift": r["shift_px"], "value": r["top1"]} for r in a["translation"]["shifts"]] if a.get("translation")
        else [])
    jobs = []
    if len(attn):
        jobs.append(("mech_attention", lambda: _lines(attn, agg, baseline, "depth", "value", "Block (depth)",
                                                      "Attention distance (px)")))
    if len(cross):
        jobs.append(("mech_cross_window", lambda: _lines(cross, agg, baseline, "depth", "value", "Block (depth)",
                                                         "Cross-window dependence")))
    if len(shift):
        jobs.append(("mech_shift", lambda: _lines(shift, agg, baseline, "shift", "value", "Cyclic shift (px)",
                                                  "Top-1 (%)")))
    if any(a.get("cka") for a in analyses.values()):
        jobs.append(("mech_cka", lambda: _cka(agg, analyses, baseline)))
    return jobs


def draw_mechanism_figures(agg: Aggregate, analyses: dict[str, dict[str, Any]], baseline: str,
                           out: Path) -> list[tuple[Path, str]]:
    """(PNG, caption) per figure drawn; stale figures of an earlier report removed; a figure that
    fails is one line on stderr, never the report."""
    import warnings

    import matplotlib

    jobs = _jobs(agg, analyses, baseline) if analyses else []
    for stem in STEMS:
        if stem not in [j[0] for j in jobs]:
            for ext in ("png", "pdf"):
                (out / f"{stem}.{ext}").unlink(missing_ok=True)
    drawn = []
    with matplotlib.rc_context(rc()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for stem, draw in jobs:
            try:
                drawn.append((save(draw(), out, stem)[0], CAPTIONS[stem]))
            except Exception as e:  # noqa: BLE001 - a figure must not cost the report
                print(f"report: figure {stem} failed ({type(e).__name__}: {e})", file=sys.stderr)
    return drawn
