"""``write_report``: a grid's run folders → ``reports/<grid>/``, in named steps: read the index and
the runs, choose the metric, compute the statistics and the table, write the data files, draw the
figures, assemble the document and write it as Markdown and HTML."""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .document import render_html, render_markdown
from .figures import draw_figures
from .formats import table_csv, table_latex, table_markdown
from .keys import ALPHA, COSTS, METRICS, metric_label
from .load import Aggregate, aggregate, load_index
from .sections import Content, report_blocks
from .selection import ReportError
from .stats import summarize, variant_costs
from .table import Table, build_table

_NOT_METRICS = ("grid", "profile", "variant", "seed", "run_id", "status", "commit", "device", "note")


@dataclass
class _Computed:
    metric: str
    metric_problem: str | None  # the grid's own metric is in no done run (said in the report)
    baseline: str
    summary: pd.DataFrame
    costs: pd.DataFrame
    paper: dict[str, float]
    table: Table


def write_report(grid_name: str, runs_dir: str | Path = "runs", out_dir: str | Path | None = None,
                 metric: str | None = None, grid_path: str | Path | None = None, *, profile: str | None = None,
                 alpha: float = ALPHA, command: str | None = None) -> Path:
    """Write ``report.md``, ``report.html``, the tables and the figures of a grid; returns report.md's path."""
    t0 = time.perf_counter()
    name = Path(str(grid_name)).stem if str(grid_name).endswith(".py") else str(grid_name)
    runs_dir = Path(runs_dir)
    index = _read_index(name, runs_dir, grid_path)
    agg = aggregate(name, runs_dir, profile=profile, index=index)
    comp = _compute(agg, index, metric, alpha)
    out = Path(out_dir) if out_dir is not None else Path("reports") / name
    out.mkdir(parents=True, exist_ok=True)
    _write_data_files(out, agg, comp, name, alpha)
    figures, fig_problems = draw_figures(agg, comp.summary, comp.costs, comp.metric, comp.baseline, comp.paper,
                                         out, name)
    metric_flag = comp.metric if comp.metric != index.get("metric") else None
    content = Content(
        name=name, index=index, agg=agg, metric=comp.metric, baseline=comp.baseline, alpha=alpha,
        summary=comp.summary, table=comp.table, paper=comp.paper, figures=figures,
        problems=fig_problems + ([comp.metric_problem] if comp.metric_problem else []),
        command=command or _equivalent_command(name, runs_dir, out_dir, metric_flag, profile), commit=_git_commit(),
        runs_dir=runs_dir, grid_path=grid_path, started=t0)
    blocks = report_blocks(content)
    _write(out / "report.md", render_markdown(blocks))
    _write(out / "report.html", render_html(blocks, name))
    for p in agg.problems:
        print(f"report {name}: {p}", file=sys.stderr)
    return out / "report.md"


def _read_index(name: str, runs_dir: Path, grid_path: str | Path | None) -> dict[str, Any]:
    """grid.json; an older one without the description or the paper's numbers takes them from the module."""
    index = load_index(name, runs_dir)
    if grid_path is not None and (not index.get("description") or "paper" not in index):
        try:
            from ablations.grid import load_grid

            g = load_grid(str(grid_path))
            index.setdefault("paper", g.paper)
            index["description"] = index.get("description") or g.description
        except Exception:  # the module is only a fallback: the report is written from grid.json
            pass
    return index


def _choose_metric(agg: Aggregate, index: dict[str, Any], asked: str | None) -> tuple[str, str | None]:
    """The metric (``--metric`` or the grid's) and, where no done run has it, what is available.

    The user's ``--metric`` missing is bad input; the grid's own metric missing (at the end of a
    launch) is said in the report, which is still written.
    """
    metric = asked or index.get("metric") or "top1"
    finished = agg.runs[agg.runs["status"] == "done"]
    if not len(finished) or (metric in agg.runs.columns and not finished[metric].isna().all()):
        return metric, None
    avail = [c for c in agg.runs.columns if c in (*METRICS, *COSTS) or "@" in c
             or c not in (*_NOT_METRICS, *agg.axes)]
    problem = f"{metric!r} is in no done run's result.json (available: {', '.join(avail)})"
    if asked:
        raise ReportError(f"--metric: {problem}")
    return metric, f"the grid's metric {problem}"


def _compute(agg: Aggregate, index: dict[str, Any], asked: str | None, alpha: float) -> _Computed:
    metric, problem = _choose_metric(agg, index, asked)
    baseline = index.get("baseline") or (agg.variants[0] if agg.variants else "")
    summary = summarize(agg.runs, metric, baseline, agg.variants, alpha=alpha)
    costs = variant_costs(agg.runs, agg.variants)
    paper = {k: float(v) for k, v in (index.get("paper") or {}).items()
             if isinstance(v, (int, float)) and metric == (index.get("metric") or "top1")}  # the grid's metric only
    table = build_table(agg, summary, costs, metric, baseline, paper)
    return _Computed(metric, problem, baseline, summary, costs, paper, table)


def _write_data_files(out: Path, agg: Aggregate, comp: _Computed, name: str, alpha: float) -> None:
    """runs.csv, curves.csv, summary.csv (every final metric) and the table as CSV, Markdown and LaTeX."""
    agg.runs.to_csv(out / "runs.csv", index=False)
    agg.curves.to_csv(out / "curves.csv", index=False)
    all_metrics = [m for m in METRICS if m in agg.runs.columns and m not in ("best_epoch", "epochs")]
    all_metrics += [c for c in agg.runs.columns if "@" in c]
    if comp.metric not in all_metrics:
        all_metrics.insert(0, comp.metric)
    pd.concat([summarize(agg.runs, m, comp.baseline, agg.variants, alpha=alpha).reset_index() for m in all_metrics]
              ).to_csv(out / "summary.csv", index=False)
    (out / "table.csv").write_text(table_csv(comp.table), encoding="utf-8")
    (out / "table.md").write_text(table_markdown(comp.table), encoding="utf-8")
    caption = (f"{name}: {metric_label(comp.metric)}, mean ± std over seeds with the 95% confidence interval (t); "
               f"Δ: difference to {comp.baseline} with its 95% CI and the p-value of a paired t-test over seeds "
               f"(Welch's where the seeds differ). Best in bold.")
    label = f"tab:{re.sub(r'[^A-Za-z0-9]+', '-', name)}"
    (out / "table.tex").write_text(table_latex(comp.table, caption, label), encoding="utf-8")


def _write(path: Path, text: str) -> None:
    """Atomically (a report job and a local report may race), readable by the group like any file."""
    from vt_core.run_folder import atomic_write_text

    atomic_write_text(path, text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _git_commit() -> str:
    from vt_core.environment import git_commit, git_dirty

    head = git_commit()
    return head + (" (with uncommitted changes)" if head != "unknown" and git_dirty() else "")


def _equivalent_command(name: str, runs_dir: Path, out_dir: Any, metric: str | None, profile: str | None) -> str:
    parts = ["python", "ablations/report.py", "--grid", name]
    if str(runs_dir) != "runs":
        parts += ["--runs-dir", str(runs_dir)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if metric:
        parts += ["--metric", metric]
    if profile:
        parts += ["--profile", profile]
    return shlex.join(parts)
