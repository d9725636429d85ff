"""What every figure shares: seaborn's paper style, the palette (the baseline grey), a Figure on
matplotlib's Agg canvas without pyplot, saving as PNG and PDF, tick labels, and the merging of
variants that are the same configuration into one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..keys import bounds, is_percent


def rc() -> dict[str, Any]:
    import seaborn as sns

    params: dict[str, Any] = {}
    params.update(sns.axes_style("ticks"))
    params.update(sns.plotting_context("paper", font_scale=1.0))
    params.update({
        "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
        "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 9, "axes.labelsize": 8.5,
        "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "legend.frameon": False,
        "axes.linewidth": 0.7, "xtick.major.width": 0.7, "ytick.major.width": 0.7, "lines.linewidth": 1.4,
        "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.03,
        "axes.grid": True, "axes.grid.axis": "y", "grid.color": "0.9", "grid.linewidth": 0.6,
    })
    return params


def palette(variants: list[str], baseline: str) -> dict[str, Any]:
    """Colour-blind safe colours for up to ten variants (husl beyond), the baseline grey."""
    import seaborn as sns

    others = [v for v in variants if v != baseline]
    colors = sns.color_palette("colorblind", max(len(others), 1)) if len(others) <= 10 else \
        sns.color_palette("husl", len(others))
    pal = {v: colors[i] for i, v in enumerate(others)}
    pal[baseline] = (0.35, 0.35, 0.35)
    return pal


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)  # Agg, without pyplot: no global backend state, nothing shown
    return fig


def save(fig: Any, out: Path, stem: str) -> list[Path]:
    """The figure as PNG and PDF, each file written whole (``output.save_figure``)."""
    from ..output import save_figure

    paths = []
    for ext, kw in (("png", {"dpi": 200}), ("pdf", {})):
        p = out / f"{stem}.{ext}"
        save_figure(fig, p, **kw)
        paths.append(p)
    return paths


def cap_percent(ax: Any, metric: str) -> None:
    """The y axis stops where the metric's values do: 0 and 100 for a percentage, 0 for a loss. A
    ±1 std band computed past them (it is symmetric) is cut at the axis."""
    low, high = bounds(metric)
    if is_percent(metric) or "loss" in metric.lower():
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(lo, low), min(hi, high))


def chance_level(agg: Any, metric: str) -> float | None:
    """The accuracy (%) a model at chance has on the grid's probe (``vt_core.data.probes``: exactly
    1 / num_classes for top-1, k / num_classes for top-k), where every reported run uses one probe;
    None for a dataset (no theorem says what chance is there) or a metric that is not an accuracy."""
    m = re.fullmatch(r"(?:val_|best_)?top(\d+)(?:_ema)?(?:@\d+)?", metric)
    if not m:
        return None
    from ..load import preset_value

    name = agg.setting.get("data.name")
    if name is None and "data.name" not in agg.axes:
        name = preset_value(agg.setting.get("preset"), "data.name")
    from vt_core.data.probes import PROBES  # torch: only to know a probe's classes

    probe = PROBES.get(str(name)) if name is not None else None
    if probe is None:
        return None
    level = 100.0 * min(int(m.group(1)), probe.num_classes) / probe.num_classes
    return level if level < 100.0 else None


def chance_line(ax: Any, level: float | None, *, vertical: bool = False) -> Any:
    """A dotted line at the chance level, labelled; the handle for a legend (None without one)."""
    if level is None:
        return None
    from matplotlib.lines import Line2D

    if ax is not None:  # None: only the legend's handle
        (ax.axvline if vertical else ax.axhline)(level, color="#b22222", ls=(0, (1, 1.5)), lw=0.9, zorder=1)
    return Line2D([], [], color="#b22222", ls=(0, (1, 1.5)), lw=0.9, label=f"chance ({level:g} %)")


def tick_labels(ax: Any, names: list[str]) -> None:
    rot = 30 if max((len(n) for n in names), default=0) * len(names) > 48 else 0
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=rot, ha="right" if rot else "center")


def merged_variants(runs: pd.DataFrame, variants: list[str], baseline: str) -> tuple[list[str], dict[str, str]]:
    """Variants with the same run ids (identical configs) are one line in a figure: the representatives
    (the baseline where it is one of them) and their labels ('rel = shifted')."""
    ids = {v: frozenset(runs.loc[runs["variant"] == v, "run_id"]) for v in variants}
    reps: list[str] = []
    label: dict[str, str] = {}
    for v in sorted(variants, key=lambda v: v != baseline):  # the baseline first: it leads its group
        for r in reps:
            if ids[v] and ids[v] == ids[r]:
                label[r] += f" = {v}"
                break
        else:
            reps.append(v)
            label[v] = v
    reps.sort(key=variants.index)
    return reps, label


def line_data(df: pd.DataFrame, reps: list[str], label: dict[str, str], pal: dict[str, Any]
              ) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """The rows of the representatives, labelled; the legend order and the palette by label."""
    df = df[df["variant"].isin(reps)].assign(label=lambda d: d["variant"].map(label))
    present = set(df["variant"])
    order = [label[v] for v in reps if v in present]
    return df, order, {label[v]: pal[v] for v in reps}
