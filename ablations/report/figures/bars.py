"""The bar chart: the metric per variant, bars at the mean, whiskers the 95 % t-interval, each seed
a white point, the baseline's mean dashed, the paper's numbers as red diamonds and, on a probe,
the chance level dotted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..findings import Findings
from ..keys import STATUSES, is_percent, metric_label
from ..vocabulary import Interval
from .style import chance_level, chance_line, new_figure, tick_labels


def bars_figure(f: Findings, pal: dict[str, Any]) -> Any:
    import seaborn as sns

    agg, summary, metric, baseline, paper = f.agg, f.summary, f.metric, f.baseline, f.paper
    variants = list(summary.index)
    runs = agg.runs
    done = runs[(runs["status"] == "done") & runs[metric].notna()] if metric in runs.columns else runs.iloc[0:0]
    fig = new_figure(max(3.4, 0.52 * len(variants) + 1.2), 2.7)
    ax = fig.add_subplot()
    chance = chance_level(agg, metric)
    bottom, top, span, vmax = _value_range(summary, done, metric, {**paper, "": chance} if chance else paper)
    has_ci = _draw_bars(ax, summary, done, metric, pal, bottom)
    handles = _references(ax, summary, baseline, paper, has_ci)
    handles += [h for h in (chance_line(ax, chance),) if h is not None]
    if is_percent(metric):  # an interval past 100 % stays as computed, cut at the axis
        top = min(top, 100.0)
    top = _seed_counts(ax, summary, paper, bottom, top, span, vmax, is_percent(metric))
    ax.set_ylim(bottom, top)
    ax.set_xlim(-0.6, len(variants) - 0.4)
    tick_labels(ax, variants)
    ax.set_xlabel("")
    ax.set_ylabel(metric_label(metric))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), handlelength=1.4,
              columnspacing=1.2, borderaxespad=0.3)
    sns.despine(ax=ax)
    ax.tick_params(axis="x", length=0)
    return fig


def _value_range(summary: pd.DataFrame, done: pd.DataFrame, metric: str, paper: dict[str, float]
                 ) -> tuple[float, float, float, float]:
    """(bottom, top, span, largest value) of the y axis: every mean, interval, seed and paper number
    fits; bars start at zero where the values are close to it anyway."""
    means = summary["mean"].to_numpy(float)
    vals = [means[np.isfinite(means)], summary["ci_low"].dropna().to_numpy(float),
            summary["ci_high"].dropna().to_numpy(float), done[metric].to_numpy(float) if len(done) else np.array([])]
    if paper:  # the paper's numbers (and the chance level, under the key "")
        vals.append(np.array([paper[v] for v in [*summary.index, ""] if v in paper], float))
    allv = np.concatenate([v for v in vals if len(v)]) if any(len(v) for v in vals) else np.array([0.0, 1.0])
    vmin, vmax = float(np.nanmin(allv)), float(np.nanmax(allv))
    span = max(vmax - vmin, 1e-3 * max(abs(vmax), 1.0), 1e-9)
    bottom = vmin - 0.35 * span
    if vmin >= 0 and (bottom < 0 or vmin < 0.6 * span):  # close to zero anyway: start the bars at zero
        bottom = 0.0
    return bottom, vmax + 0.14 * span, span, vmax


def _draw_bars(ax: Any, summary: pd.DataFrame, done: pd.DataFrame, metric: str, pal: dict[str, Any],
               bottom: float) -> bool:
    """Bars, interval whiskers and seed points; whether any variant has an interval."""
    import seaborn as sns

    variants = list(summary.index)
    x = np.arange(len(variants))
    means = summary["mean"].to_numpy(float)
    lo = (summary["mean"] - summary["ci_low"]).to_numpy(float)
    hi = (summary["ci_high"] - summary["mean"]).to_numpy(float)
    heights = np.where(np.isfinite(means), means - bottom, 0)
    ax.bar(x, heights, bottom=bottom, width=0.66, color=[pal[v] for v in variants], edgecolor="black", linewidth=0.6,
           alpha=0.85, zorder=2)
    ok = np.isfinite(lo)
    ax.errorbar(x[ok], means[ok], yerr=[lo[ok], hi[ok]], fmt="none", ecolor="black", elinewidth=1.0, capsize=3,
                capthick=1.0, zorder=4)
    if len(done):
        sns.stripplot(data=done.assign(variant=done["variant"].astype(str)), x="variant", y=metric, order=variants,
                      ax=ax, color="white", edgecolor="black", linewidth=0.6, size=3.6, jitter=0.14, zorder=5,
                      native_scale=False, legend=False, clip_on=False)  # a seed at 100 % on a capped axis: whole
    return bool(ok.any())


def _references(ax: Any, summary: pd.DataFrame, baseline: str, paper: dict[str, float], has_ci: bool) -> list[Any]:
    """The baseline's dashed mean and the paper's diamonds; the legend's handles."""
    from matplotlib.lines import Line2D

    methods = {Interval(m) for m in summary["ci_method"]} if "ci_method" in summary.columns else set()
    method = f" ({Interval.BOOTSTRAP.short})" if Interval.BOOTSTRAP in methods else ""
    handles = [Line2D([], [], color="black", marker="_", ms=7, lw=1.0, label=f"95% CI{method}")] if has_ci else []
    handles.append(Line2D([], [], ls="", marker="o", ms=4, mfc="white", mec="black", mew=0.6, label="seed"))
    if baseline in summary.index and math.isfinite(summary.loc[baseline, "mean"]):
        ax.axhline(summary.loc[baseline, "mean"], color="0.35", lw=0.8, ls="--", zorder=1)
        handles.append(Line2D([], [], color="0.35", lw=0.8, ls="--", label=f"{baseline} (baseline)"))
    if paper:
        variants = list(summary.index)
        px = [i for i, v in enumerate(variants) if v in paper]
        ax.scatter(px, [paper[variants[i]] for i in px], marker="D", s=16, color="#d62728", edgecolor="black",
                   linewidth=0.4, zorder=6)
        handles.append(Line2D([], [], ls="", marker="D", ms=4, mfc="#d62728", mec="black", mew=0.4, label="paper"))
    return handles


def _seed_counts(ax: Any, summary: pd.DataFrame, paper: dict[str, float], bottom: float, top: float, span: float,
                 vmax: float, percent: bool) -> float:
    """Say where a variant has no finished run (its states) or one seed; returns the axis top."""
    counts = summary["n"].astype(int)
    all_single = bool((counts[counts > 0] == 1).all()) and (counts > 0).any()
    if all_single:
        top = min(vmax + 0.2 * span, 100.0) if percent else vmax + 0.2 * span
    means = summary["mean"].to_numpy(float)
    for i, v in enumerate(summary.index):
        n = int(summary.loc[v, "n"])
        if n == 0:
            states = ", ".join(f"{int(summary.loc[v, f'n_{s}'])} {s}" for s in STATUSES[1:] if summary.loc[v, f"n_{s}"])
            ax.text(i, bottom + 0.04 * (top - bottom), states or "no runs", rotation=90, ha="center", va="bottom",
                    fontsize=6.5, color="0.3")
        elif n == 1 and not all_single:
            y = max(means[i], paper.get(v, -math.inf)) + 0.035 * (top - bottom)
            if y < top:
                ax.text(i, y, "n=1", ha="center", va="bottom", fontsize=6.5, color="0.3")
            else:  # no room above the bar (a capped axis): inside it
                ax.text(i, means[i] - 0.035 * (top - bottom), "n=1", ha="center", va="top", fontsize=6.5, color="0.3")
    if all_single:
        ax.text(0.99, 0.98, "one seed per variant: no intervals", transform=ax.transAxes, ha="right", va="top",
                fontsize=6.5, color="0.3")
    return top
