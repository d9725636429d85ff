"""The metric against cost (GMACs, training img/s, peak memory), one panel each, with the Pareto
front: black-edged points and a dashed staircase."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..keys import LABELS, MODEL_COSTS, higher_is_better, metric_label, peak_memory_labels
from ..load import Aggregate
from ..stats import memory_kinds, pareto_front
from .style import cap_percent, merged_variants, new_figure

PANELS = (("gmacs", True), ("train_img_per_s", False), ("peak_mem_mb", True))  # (cost, lower is better)


def has_costs(costs: pd.DataFrame) -> bool:
    return bool(costs[[k for k, _ in PANELS]].notna().any().any())


def cost_figure(agg: Aggregate, summary: pd.DataFrame, costs: pd.DataFrame, metric: str, baseline: str,
                pal: dict[str, Any]) -> Any:
    import seaborn as sns

    reps, label = merged_variants(agg.runs, list(summary.index), baseline)
    summary = summary.loc[[v for v in reps if math.isfinite(summary.loc[v, "mean"])]]
    panels = [(k, lower) for k, lower in PANELS if k in costs.columns and costs.loc[summary.index, k].notna().any()]
    fig = new_figure(2.3 * len(panels) + 0.4, 2.65)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    ys = summary["mean"].to_numpy(float)
    placed = []
    for ax, (key, lower) in zip(axes, panels, strict=True):
        xs = costs.loc[summary.index, key].to_numpy(float)
        _panel(ax, agg.runs, summary, xs, key, lower, higher_is_better(metric), pal)
        ax.set_ylabel(metric_label(metric) if ax is axes[0] else "")
        cap_percent(ax, metric)
        sns.despine(ax=ax)
        placed.append((ax, xs))
    fig.subplots_adjust(wspace=0.32)
    _name_points(fig, placed, summary, ys, label, pal)
    return fig


def _panel(ax: Any, runs: pd.DataFrame, summary: pd.DataFrame, xs: np.ndarray, key: str, lower: bool, higher: bool,
           pal: dict[str, Any]) -> None:
    """One cost: points with the metric's interval (and ±1 std of a measured cost), the front, the x scale."""
    ys = summary["mean"].to_numpy(float)
    yerr = np.vstack([(summary["mean"] - summary["ci_low"]).to_numpy(float),
                      (summary["ci_high"] - summary["mean"]).to_numpy(float)])
    xerr = np.zeros_like(xs)
    if key in runs.columns and key not in MODEL_COSTS:
        spread = runs[runs["status"] == "done"].groupby("variant", observed=True)[key].std()
        xerr = np.array([float(spread.get(v, np.nan)) for v in summary.index])
        xerr = np.where(np.isfinite(xerr), xerr, 0.0)
    front = pareto_front(xs, ys, cost_lower_better=lower, value_higher_better=higher)
    fidx = np.flatnonzero(front)
    if len(fidx) > 1:
        fidx = fidx[np.argsort(xs[fidx])]
        ax.step(xs[fidx], ys[fidx], where="post" if lower == higher else "pre", color="0.3", lw=0.9, ls="--", zorder=1)
    for i, v in enumerate(summary.index):
        if not math.isfinite(xs[i]):
            continue
        ye = yerr[:, i:i + 1] if np.isfinite(yerr[:, i]).all() else None
        ax.errorbar(xs[i], ys[i], yerr=ye, xerr=xerr[i] if xerr[i] > 0 else None, fmt="o",
                    ms=6 if front[i] else 4.5, color=pal[v], mec="black" if front[i] else pal[v], mew=1.0,
                    ecolor=pal[v], elinewidth=0.8, capsize=1.5, alpha=0.95, zorder=3 + front[i])
    finite = xs[np.isfinite(xs)]
    if len(finite) and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_xscale("log")
    elif len(finite):
        lo_, hi_ = float(finite.min()), float(finite.max())
        pad = 0.12 * (hi_ - lo_) if hi_ > lo_ else 0.05 * max(abs(hi_), 1e-9)
        ax.set_xlim(lo_ - pad, hi_ + 2.5 * pad)
    ax.set_xlabel(peak_memory_labels(memory_kinds(runs))[1] if key == "peak_mem_mb" else LABELS[key])
    ax.grid(True, axis="both", color="0.92", lw=0.5)


def _crowded(fig: Any, placed: list[tuple[Any, np.ndarray]], ys: np.ndarray) -> bool:
    """Whether two points of a panel are too close (in pixels) for their names."""
    fig.canvas.draw()
    for ax, xs in placed:
        pts = ax.transData.transform(np.column_stack([xs, ys]))
        pts = pts[np.isfinite(pts).all(1)]
        for i in range(len(pts)):
            for j in range(i + 1, len(pts)):
                if abs(pts[i, 1] - pts[j, 1]) < 12 and abs(pts[i, 0] - pts[j, 0]) < 70:
                    return True
    return False


def _name_points(fig: Any, placed: list[tuple[Any, np.ndarray]], summary: pd.DataFrame, ys: np.ndarray,
                 label: dict[str, str], pal: dict[str, Any]) -> None:
    """Names beside the points where they do not collide; a legend of colours where they would."""
    from matplotlib.lines import Line2D

    if _crowded(fig, placed, ys) or len(summary) > 10:
        handles = [Line2D([], [], ls="", marker="o", ms=5, color=pal[v], label=label[v]) for v in summary.index]
        handles.append(Line2D([], [], ls="", marker="o", ms=5, mfc="none", mec="black", mew=1.0, label="Pareto front"))
        ncol = len(handles) if len(handles) <= 8 else math.ceil(len(handles) / math.ceil(len(handles) / 8))
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol,
                   frameon=False, handlelength=1.0, columnspacing=1.0)
        rows = math.ceil(len(handles) / ncol)
        fig.subplots_adjust(top=0.86 - 0.06 * (rows - 1))
        return
    for ax, xs in placed:
        for i, v in enumerate(summary.index):
            if math.isfinite(xs[i]):
                ax.annotate(label[v], (xs[i], ys[i]), xytext=(4, 3), textcoords="offset points", fontsize=6.5,
                            color="0.15", zorder=6)
    fig.legend(handles=[Line2D([], [], ls="--", color="0.3", lw=0.9, marker="o", ms=5, mfc="white", mec="black",
                               mew=1.0, label="Pareto front")], loc="upper center", bbox_to_anchor=(0.5, 1.0),
               frameon=False)
    fig.subplots_adjust(top=0.86)
