"""``write_report``: a grid's run folders → ``reports/<grid>/``, in named steps: read the index and
the runs, choose the metric, compute the statistics and the table, write the data files, draw the
figures, assemble the document and write it as Markdown and HTML."""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .document import render_html, render_markdown
from .figures import draw_figures
from .findings import Findings
from .formats import table_csv, table_latex, table_markdown
from .keys import ALPHA, COSTS, METRICS
from .load import Aggregate, aggregate, load_index
from .mechanisms import insert_mechanisms
from .methods import Methods
from .output import OutputLock, make_folder, remove_stale, write_text
from .sections import Content, report_blocks
from .selection import ReportError
from .stats import StatOptions, summarize, variant_costs
from .table import Table, build_table
from .vocabulary import Correction, Interval

if TYPE_CHECKING:
    from ablations.planning.grid_index import GridIndex

_NOT_METRICS = ("grid", "profile", "variant", "seed", "run_id", "status", "commit", "device", "note")


# names a user may know from metrics.jsonl for the final metrics of result.json
ALIASES = {"val_loss": "loss", "val_top1": "top1", "val_top5": "top5"}


@dataclass
class _Computed:
    main: Findings
    metric_problem: str | None  # the grid's own metric is in no done run (said in the report)
    table: Table
    others: list[tuple[Findings, Table]]  # the further metrics, each with its table
    eval_only: bool


def write_report(grid_name: str, runs_dir: str | Path = "runs", out_dir: str | Path | None = None,
                 metric: str | list[str] | None = None, grid_path: str | Path | None = None, *,
                 profile: str | None = None, alpha: float = ALPHA, command: str | None = None,
                 correction: Correction | str = Correction.HOLM, interval: Interval | str = Interval.T,
                 min_effect: float | None = None) -> Path:
    """Write ``report.md``, ``report.html``, the tables and the figures of a grid; returns report.md's path.

    ``metric``: one key of result.json, several (a list or "top1,top5"; the first is the main one),
    or None for the grid's. Each metric's table is its own family of comparisons (``correction``);
    ``interval`` (t or bootstrap) and ``min_effect`` as in ``summarize``.
    """
    t0 = time.perf_counter()
    options = StatOptions(alpha=alpha, correction=correction, interval=interval, min_effect=min_effect)
    name = Path(str(grid_name)).stem if str(grid_name).endswith(".py") else str(grid_name)
    runs_dir = Path(runs_dir)
    asked = _metric_list(metric)
    index = _read_index(name, runs_dir, grid_path)
    agg = aggregate(name, runs_dir, profile=profile, index=index.data)
    comp = _compute(agg, index, asked, options)
    out = Path(out_dir) if out_dir is not None else Path("reports") / name
    make_folder(out)
    with OutputLock(out):  # another report on this folder finishes first: each leaves a complete set
        _write_all(out, name, index, agg, comp, options, t0, grid_path, runs_dir,
                   command or _equivalent_command(name, runs_dir, out_dir, asked, profile, options))
    for p in agg.problems:
        print(f"report {name}: {p}", file=sys.stderr)
    return out / "report.md"


def _write_all(out: Path, name: str, index: GridIndex, agg: Aggregate, comp: _Computed, options: StatOptions,
               t0: float, grid_path: str | Path | None, runs_dir: Path, command: str) -> None:
    """The data files, the figures and the document, then the files of an earlier report removed."""
    tables = _write_data_files(out, agg, comp, name, options)
    figures, fig_problems = draw_figures(comp.main, out, name, curves=not comp.eval_only)
    content = Content(
        name=name, index=index, findings=comp.main, table=comp.table, figures=figures,
        problems=fig_problems + ([comp.metric_problem] if comp.metric_problem else []),
        command=command, commit=_git_commit(), runs_dir=runs_dir, grid_path=grid_path, started=t0, options=options,
        others=[(f.metric, t) for f, t in comp.others], eval_only=comp.eval_only)
    blocks = insert_mechanisms(report_blocks(content), agg, comp.main.baseline, out, runs_dir / name)
    write_text(out / "report.md", render_markdown(blocks))
    write_text(out / "report.html", render_html(blocks, name))
    remove_stale(p for p in out.glob("table_*.*") if p.name not in tables)  # other metrics of an earlier report


def _read_index(name: str, runs_dir: Path, grid_path: str | Path | None) -> GridIndex:
    """grid.json; an older one without the description or the paper's numbers takes them from the module."""
    index = load_index(name, runs_dir)
    if grid_path is not None and (not index.description or "paper" not in index.data):
        try:
            from ablations.planning.grid import load_grid

            g = load_grid(str(grid_path))
            index = dataclasses.replace(index, paper=index.paper if "paper" in index.data else g.paper,
                                        description=index.description or g.description)
        except Exception:  # the module is only a fallback: the report is written from grid.json
            pass
    return index


def _metric_list(metric: str | list[str] | None) -> list[str]:
    """'top1,top5' or a list → the metrics in order, once each, aliases resolved; [] for the grid's."""
    if metric is None:
        return []
    items = metric.split(",") if isinstance(metric, str) else [str(m) for m in metric]
    names = [ALIASES.get(m.strip(), m.strip()) for m in items]
    if not all(names):
        raise ReportError(f"--metric: {metric!r} has an empty name (give keys separated by commas: top1,top5)")
    return list(dict.fromkeys(names))


def _choose_metric(agg: Aggregate, index: GridIndex, asked: str | None) -> tuple[str, str | None]:
    """The metric (``--metric`` or the grid's) and, where no done run has it, what is available.

    The user's ``--metric`` missing is bad input; the grid's own metric missing (at the end of a
    launch) is said in the report, which is still written.
    """
    metric = asked or index.metric
    finished = agg.runs[agg.runs["status"] == "done"]
    if not len(finished) or (metric in agg.runs.columns and not finished[metric].isna().all()):
        return metric, None
    avail = [c for c in agg.runs.columns if c in (*METRICS, *COSTS) or "@" in c
             or c not in (*_NOT_METRICS, *agg.axes)]
    problem = f"{metric!r} is in no done run's result.json (available: {', '.join(avail)})"
    if asked:
        raise ReportError(f"--metric: {problem}")
    return metric, f"the grid's metric {problem}"


def _compute(agg: Aggregate, index: GridIndex, asked: list[str], options: StatOptions) -> _Computed:
    metric, problem = _choose_metric(agg, index, asked[0] if asked else None)
    for m in asked[1:]:
        _choose_metric(agg, index, m)  # every metric asked for must be there
    baseline = index.baseline or (agg.variants[0] if agg.variants else "")
    costs = variant_costs(agg.runs, agg.variants)

    def findings(m: str) -> Findings:
        paper = dict(index.paper) if m == index.metric else {}  # the published numbers are of the grid's metric
        return Findings(agg, m, baseline, summarize(agg.runs, m, baseline, agg.variants, **options.kwargs()),
                        costs, paper)

    main = findings(metric)
    table = build_table(main, interval=options.interval, correction=options.correction)
    others = [(f, build_table(f, interval=options.interval, correction=options.correction, main=False))
              for f in map(findings, _further_metrics(agg, metric, asked[1:]))]
    done = agg.runs[agg.runs["status"] == "done"]
    eval_only = bool(len(done)) and "epochs" in done.columns and bool((done["epochs"] == 0).all())
    return _Computed(main, problem, table, others, eval_only)


def _further_metrics(agg: Aggregate, main: str, asked: list[str]) -> list[str]:
    """The metrics after the main one: those asked for, and each asked metric's results at the
    evaluation sizes (``<metric>@<px>``) the runs have, in that order."""
    sizes = [c for c in agg.runs.columns if "@" in c]
    out: list[str] = []
    for m in [main, *asked]:
        out += ([m] if m != main else []) + [c for c in sizes if c.partition("@")[0] == m and c != m]
    return [m for m in dict.fromkeys(out) if m != main]


def _file_stem(metric: str) -> str:
    """table_<metric> with the metric's characters safe in a file name ('top1@384' → 'top1_at_384')."""
    return "table_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", metric.replace("@", "_at_"))


def _write_data_files(out: Path, agg: Aggregate, comp: _Computed, name: str, options: StatOptions) -> set[str]:
    """runs.csv, curves.csv, summary.csv (every final metric) and each table as CSV, Markdown and LaTeX;
    returns the tables' file names."""
    write_text(out / "runs.csv", agg.runs.to_csv(index=False))
    write_text(out / "curves.csv", agg.curves.to_csv(index=False))
    all_metrics = [m for m in METRICS if m in agg.runs.columns and m not in ("best_epoch", "epochs")]
    all_metrics += [c for c in agg.runs.columns if "@" in c]
    main = comp.main
    done = {main.metric: main.summary, **{f.metric: f.summary for f, _ in comp.others}}
    all_metrics = list(dict.fromkeys([main.metric, *done, *all_metrics]))
    summary = pd.concat([(done[m] if m in done else summarize(agg.runs, m, main.baseline, agg.variants,
                                                               **options.kwargs())).reset_index() for m in all_metrics])
    write_text(out / "summary.csv", summary.to_csv(index=False))
    label = f"tab:{re.sub(r'[^A-Za-z0-9]+', '-', name)}"
    names: set[str] = set()
    for metric, table, stem in [(main.metric, comp.table, "table"),
                                *[(f.metric, t, _file_stem(f.metric)) for f, t in comp.others]]:
        tex_label = label if stem == "table" else f"{label}-{re.sub(r'[^A-Za-z0-9]+', '-', metric)}"
        caption = Methods.of(options, main.baseline, done[metric]).caption(name, metric, main=metric == main.metric)
        for ext, text in (("csv", table_csv(table)), ("md", table_markdown(table)),
                          ("tex", table_latex(table, caption, tex_label))):
            write_text(out / f"{stem}.{ext}", text)
            names.add(f"{stem}.{ext}")
    return names


def _git_commit() -> str:
    from vt_core.environment import git_commit, git_dirty

    head = git_commit()
    return head + (" (with uncommitted changes)" if head != "unknown" and git_dirty() else "")


def _equivalent_command(name: str, runs_dir: Path, out_dir: Any, metrics: list[str], profile: str | None,
                        options: StatOptions) -> str:
    parts = ["python", "ablations/report.py", "--grid", name]
    if str(runs_dir) != "runs":
        parts += ["--runs-dir", str(runs_dir)]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if metrics:
        parts += ["--metric", ",".join(metrics)]
    if profile:
        parts += ["--profile", profile]
    if options.correction != "holm":
        parts += ["--correction", options.correction]
    if options.interval != "t":
        parts += ["--interval", options.interval]
    if options.min_effect is not None:
        parts += ["--min-effect", f"{options.min_effect:g}"]
    return shlex.join(parts)
