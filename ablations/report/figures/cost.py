"""The metric against cost (GMACs, training img/s, peak memory), one panel each, with the Pareto
front (black-edged points, a dashed staircase) only where the costs differ beyond their noise.

- A measured cost (throughput, peak memory) is noisy: two variants' costs are told apart only when
  they differ by more than the sum of their ±1 std over seeds (the whiskers drawn) and by more than
  ``MEASURED_NOISE`` of the larger (runs of one configuration vary that much in throughput and
  peak RSS, which one seed cannot show). A model cost (GMACs) is exact; costs the table prints
  alike (at its decimals) are drawn as one value.
- Within that noise two costs count as equal: the front is taken over the metric among them, and a
  panel whose costs are all within noise of each other draws no front and says so.
- Identical costs (the same GMACs) are drawn at the same value, side by side a few points apart, so
  that none hides another.
- Each axis holds every whisker.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..findings import Findings
from ..keys import LABELS, MODEL_COSTS, higher_is_better, metric_label, peak_memory_labels
from ..stats import memory_kinds, pareto_front
from ..table import cost_decimals
from .style import cap_percent, chance_level, chance_line, merged_variants, new_figure

PANELS = (("gmacs", True), ("train_img_per_s", False), ("peak_mem_mb", True))  # (cost, lower is better)
MEASURED_NOISE = 0.02  # relative: differences of measured costs below this are noise
SIDE_BY_SIDE_PT = 6.0  # points between the markers of identical costs


def has_costs(costs: pd.DataFrame) -> bool:
    return bool(costs[[k for k, _ in PANELS]].notna().any().any())


def cost_figure(f: Findings, pal: dict[str, Any]) -> Any:
    import seaborn as sns

    agg, summary, costs, metric, baseline = f.agg, f.summary, f.costs, f.metric, f.baseline
    reps, label = merged_variants(agg.runs, list(summary.index), baseline)
    summary = summary.loc[[v for v in reps if math.isfinite(summary.loc[v, "mean"])]]
    panels = [(k, lower) for k, lower in PANELS if k in costs.columns and costs.loc[summary.index, k].notna().any()]
    fig = new_figure(2.3 * len(panels) + 0.4, 2.65)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    ys = summary["mean"].to_numpy(float)
    chance = chance_level(agg, metric)
    placed, fronts = [], False
    for ax, (key, lower) in zip(axes, panels, strict=True):
        xs = costs.loc[summary.index, key].to_numpy(float)
        if key in MODEL_COSTS:
            xs = as_printed(xs, cost_decimals(costs)[key])
        fronts |= _panel(fig, ax, agg.runs, summary, xs, key, lower, higher_is_better(metric), pal)
        chance_line(ax, chance)
        ax.set_ylabel(metric_label(metric) if ax is axes[0] else "")
        cap_percent(ax, metric)
        sns.despine(ax=ax)
        placed.append((ax, xs))
    fig.subplots_adjust(wspace=0.32)
    _name_points(fig, placed, summary, ys, label, pal, fronts=fronts, chance=chance_line(None, chance))
    return fig


def cost_noise(runs: pd.DataFrame, variants: list[Any], key: str) -> np.ndarray:
    """Each variant's ±1 std over its done runs of a measured cost (0 for a model cost or one seed)."""
    if key not in runs.columns or key in MODEL_COSTS:
        return np.zeros(len(variants))
    spread = runs[runs["status"] == "done"].groupby("variant", observed=True)[key].std()
    out = np.array([float(spread.get(v, np.nan)) for v in variants])
    return np.where(np.isfinite(out), out, 0.0)


def tolerance(xs: np.ndarray, noise: np.ndarray, measured: bool) -> np.ndarray:
    """The pairwise difference below which two costs are the same: the sum of their ±1 std and, for a
    measured cost, ``MEASURED_NOISE`` of the larger; a model cost's only rounding."""
    big = np.maximum(np.abs(xs)[:, None], np.abs(xs)[None, :])
    rel = MEASURED_NOISE if measured else 1e-9
    return np.maximum(noise[:, None] + noise[None, :], rel * big)


def as_printed(xs: np.ndarray, decimals: int) -> np.ndarray:
    """Model costs that the table prints alike (at its ``decimals``) replaced by their group's mean:
    costs shown identical are drawn identical, not spread over a zoomed axis."""
    out = xs.copy()
    shown = np.round(xs, decimals)
    for value in {float(x) for x in shown[np.isfinite(shown)]}:
        group = shown == value
        out[group] = float(xs[group].mean())
    return out


def _panel(fig: Any, ax: Any, runs: pd.DataFrame, summary: pd.DataFrame, xs: np.ndarray, key: str, lower: bool,
           higher: bool, pal: dict[str, Any]) -> bool:
    """One cost: points with the metric's interval (and ±1 std of a measured cost), the front where the
    costs differ beyond their noise, the x scale; whether a front was drawn."""
    ys = summary["mean"].to_numpy(float)
    yerr = np.vstack([(summary["mean"] - summary["ci_low"]).to_numpy(float),
                      (summary["ci_high"] - summary["mean"]).to_numpy(float)])
    xerr = cost_noise(runs, list(summary.index), key)
    tol = tolerance(xs, xerr, key not in MODEL_COSTS)
    ok = np.isfinite(xs)
    apart = bool((np.abs(xs[:, None] - xs[None, :]) > tol)[np.ix_(ok, ok)].any())
    front = pareto_front(xs, ys, cost_lower_better=lower, value_higher_better=higher, cost_tolerance=tol) if apart \
        else np.zeros(len(xs), bool)
    fidx = np.flatnonzero(front)
    if len(fidx) > 1:
        fidx = fidx[np.argsort(xs[fidx])]
        ax.step(xs[fidx], ys[fidx], where="post" if lower == higher else "pre", color="0.3", lw=0.9, ls="--", zorder=1)
    shifts = _side_by_side(xs, ys)
    for i, v in enumerate(summary.index):
        if not math.isfinite(xs[i]):
            continue
        ye = yerr[:, i:i + 1] if np.isfinite(yerr[:, i]).all() else None
        ax.errorbar(xs[i], ys[i], yerr=ye, xerr=xerr[i] if xerr[i] > 0 else None, fmt="o",
                    ms=6 if front[i] else 4.5, color=pal[v], mec="black" if front[i] else pal[v], mew=1.0,
                    ecolor=pal[v], elinewidth=0.8, capsize=1.5, alpha=0.95, zorder=3 + front[i],
                    transform=_shifted(fig, ax, shifts[i]))
    _y_range(ax, xs, ys, yerr)
    _x_range(ax, xs, xerr)
    xlabel = peak_memory_labels(memory_kinds(runs))[1] if key == "peak_mem_mb" else LABELS[key]
    if ok.sum() > 1 and not apart:
        xlabel += f"\n(costs {'identical' if key in MODEL_COSTS else 'within noise'}: no Pareto front)"
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="both", color="0.92", lw=0.5)
    return bool(front.any())


def _side_by_side(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Display offsets (points) of points that would cover each other (identical cost, metric within
    4 % of the panel's range), centred on their value; 0 for a point of its own."""
    out = np.zeros(len(xs))
    span = float(np.nanmax(ys) - np.nanmin(ys)) if np.isfinite(ys).any() else 0.0
    groups: dict[float, list[int]] = {}
    for i, x in enumerate(xs):
        if math.isfinite(x) and math.isfinite(ys[i]):
            groups.setdefault(float(x), []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: ys[i])
        clusters: list[list[int]] = []
        for i in members:
            if clusters and ys[i] - ys[clusters[-1][-1]] <= 0.04 * span:
                clusters[-1].append(i)
            else:
                clusters.append([i])
        for cluster in clusters:
            for k, i in enumerate(cluster):
                out[i] = (k - (len(cluster) - 1) / 2) * SIDE_BY_SIDE_PT
    return out


def _shifted(fig: Any, ax: Any, points: float) -> Any:
    from matplotlib.transforms import offset_copy

    return ax.transData if points == 0 else offset_copy(ax.transData, fig=fig, x=points, y=0, units="points")


def _y_range(ax: Any, xs: np.ndarray, ys: np.ndarray, yerr: np.ndarray) -> None:
    """The points and their whiskers in the data limits: a point drawn side by side (an offset
    transform) does not count there by itself."""
    lo, hi = ys - np.nan_to_num(yerr[0]), ys + np.nan_to_num(yerr[1])
    ok = np.isfinite(xs) & np.isfinite(ys)
    if ok.any():
        ax.update_datalim(np.column_stack([np.r_[xs[ok], xs[ok]], np.r_[lo[ok], hi[ok]]]))
        ax.autoscale_view()


def _x_range(ax: Any, xs: np.ndarray, xerr: np.ndarray) -> None:
    """An x axis that holds every point and whisker (log where the costs span more than ×20)."""
    ok = np.isfinite(xs)
    if not ok.any():
        return
    lo_, hi_ = float((xs - xerr)[ok].min()), float((xs + xerr)[ok].max())
    if lo_ > 0 and hi_ / lo_ > 20:
        ax.set_xscale("log")
        ax.set_xlim(lo_ / 1.3, hi_ * 1.6)
        return
    if hi_ <= lo_:  # one cost: centred
        pad = 0.05 * max(abs(hi_), 1e-9)
        ax.set_xlim(lo_ - pad, hi_ + pad)
        return
    pad = 0.12 * (hi_ - lo_)
    ax.set_xlim(lo_ - pad, hi_ + 2.5 * pad)  # room on the right for the names


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
                 label: dict[str, str], pal: dict[str, Any], *, fronts: bool, chance: Any) -> None:
    """Names beside the points where they do not collide; a legend of colours where they would."""
    from matplotlib.lines import Line2D

    extra = [h for h in (chance,) if h is not None]
    if _crowded(fig, placed, ys) or len(summary) > 10:
        handles = [Line2D([], [], ls="", marker="o", ms=5, color=pal[v], label=label[v]) for v in summary.index]
        if fronts:
            handles.append(Line2D([], [], ls="", marker="o", ms=5, mfc="none", mec="black", mew=1.0,
                                  label="Pareto front"))
        handles += extra
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
    handles = ([Line2D([], [], ls="--", color="0.3", lw=0.9, marker="o", ms=5, mfc="white", mec="black", mew=1.0,
                       label="Pareto front")] if fronts else []) + extra
    if handles:
        fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=len(handles), frameon=False)
        fig.subplots_adjust(top=0.86)
