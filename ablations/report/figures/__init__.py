"""The report's figures, drawn with seaborn on matplotlib's Agg canvas and saved as PNG and PDF:
``bars`` (the metric per variant), ``curves`` (learning curves), ``cost`` (the metric against cost,
with the Pareto front) and ``resolution`` (the metric against the evaluation size)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Callable

from ..findings import Findings
from ..output import ReportWriteError, remove_stale
from .bars import bars_figure
from .cost import cost_figure, has_costs
from .curves import curves_figure
from .resolution import has_resolutions, resolution_figure
from .style import merged_variants, palette, rc, save

FIGURES = ("bars", "curves", "cost", "resolution")
__all__ = ["FIGURES", "bars_figure", "cost_figure", "curves_figure", "draw_figures", "merged_variants", "palette",
           "resolution_figure"]


def draw_figures(f: Findings, out: Path, name: str, *, curves: bool = True
                 ) -> tuple[list[tuple[str, Path]], list[str]]:
    """Draw the figures the runs allow into ``out`` (removing stale ones of an earlier report); no
    learning curves where ``curves`` is False (a grid that evaluates without training).

    Returns (stem, PNG path) per figure and one problem per figure that could not be drawn: a
    figure must not cost the tables.
    """
    import matplotlib

    agg, metric, baseline = f.agg, f.metric, f.baseline
    variants = agg.variants
    pal = palette(variants, baseline)
    have_metric = metric in agg.runs.columns and agg.runs.loc[agg.runs["status"] == "done", metric].notna().any()
    jobs: list[tuple[str, Callable[[], Any]]] = []
    if have_metric:
        jobs.append(("bars", lambda: bars_figure(f, pal)))
    if curves and len(agg.curves) and (agg.curves["status"] == "done").any():
        jobs.append(("curves", lambda: curves_figure(agg, variants, baseline, pal)))
    if have_metric and has_costs(f.costs):
        jobs.append(("cost", lambda: cost_figure(f, pal)))
    if has_resolutions(agg):
        jobs.append(("resolution", lambda: resolution_figure(agg, variants, metric, baseline, pal)))
    remove_stale(out / f"{stem}.{ext}" for stem in FIGURES if stem not in [j[0] for j in jobs]
                 for ext in ("png", "pdf"))  # no stale figures from an earlier report
    figures: list[tuple[str, Path]] = []
    problems: list[str] = []
    with matplotlib.rc_context(rc()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for stem, draw in jobs:
            try:
                figures.append((stem, save(draw(), out, stem)[0]))
            except ReportWriteError:  # the disk, not the figure: the report cannot be written
                raise
            except Exception as e:
                problems.append(f"figure {stem} could not be drawn: {type(e).__name__}: {e}")
                print(f"report {name}: figure {stem} failed: {type(e).__name__}: {e}", file=sys.stderr)
    return figures, problems
