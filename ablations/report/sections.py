"""What the report says, section by section: the grid and its setting, the table, one verdict per
variant, the figures, the runs without a result, problems and exclusions, and how to reproduce it."""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .document import Block, FigureBlock, Heading, Items, Paragraph, TableBlock
from .keys import STATUSES, cell, decimals, higher_is_better, is_percent, metric_label, seed_key
from .load import Aggregate
from .stats import memory_kinds
from .table import Table, fmt_number, fmt_p

LIST_MAX = 60  # runs / problems listed one by one in report.md; the rest are counted
DATA_FILES = ("table.csv", "table.md", "table.tex", "summary.csv", "runs.csv", "curves.csv")
CAPTIONS = {
    "bars": "{metric} per variant: bars are means over seeds, whiskers the 95 % t-interval, white points the single "
            "seeds; the dashed line is the baseline ({baseline}){paper}.",
    "curves": "Learning curves: validation top-1 accuracy and training loss per epoch, mean over seeds with a "
              "±1 std band.",
    "cost": "{metric} against cost (median over seeds; whiskers: 95 % CI of the metric, ±1 std of throughput and "
            "memory). Points with a black edge and the dashed line form the Pareto front.",
    "resolution": "{metric} when evaluated at other input resolutions (mean over seeds, ±1 std band); the dotted "
                  "line marks the training resolution.",
}


@dataclass
class Content:
    """What the sections are written from."""

    name: str
    index: dict[str, Any]  # grid.json
    agg: Aggregate
    metric: str
    baseline: str
    alpha: float
    summary: pd.DataFrame
    table: Table
    paper: dict[str, float]
    figures: list[tuple[str, Path]]  # (stem, PNG)
    problems: list[str]  # besides agg.problems: figures that failed, the grid's metric missing
    command: str
    commit: str  # of the report code
    runs_dir: Path
    grid_path: Any
    started: float  # time.perf_counter() when the report began


def report_blocks(c: Content) -> list[Block]:
    return [*_overview(c), *_results(c), Heading("Verdicts"), Items(verdict_lines(c.summary, c.metric, c.baseline)),
            *_figures(c), *_unfinished(c), *_problems(c), *_reproduce(c)]


def _overview(c: Content) -> list[Block]:
    runs = c.agg.runs
    counts = Counter(runs["status"].astype(str))
    status_line = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
    direction = "higher is better" if higher_is_better(c.metric) else "lower is better"
    seeds = sorted(set(runs["seed"]), key=seed_key)
    blocks: list[Block] = [Heading(f"Ablation report: {c.name}", 1)]
    if c.index.get("description"):
        blocks.append(Paragraph(str(c.index["description"]).strip()))
    blocks.append(Paragraph(f"**Profile** `{c.agg.profile}` · **baseline** `{c.baseline}` · **metric** `{c.metric}` "
                            f"({direction}) · **seeds** {', '.join(map(str, seeds)) or '—'} · **runs** {len(runs)}: "
                            f"{status_line or 'none'}."))
    if c.agg.setting:
        blocks.append(Paragraph("Settings shared by every run: "
                                + ", ".join(f"`{k}={cell(v)}`" for k, v in c.agg.setting.items()) + "."))
    return blocks


def _results(c: Content) -> list[Block]:
    return [Heading("Results"), TableBlock(c.table), Paragraph(
        f"Mean ± std over the seeds of the finished runs; 95 % CI from the t-distribution; "
        f"Δ: difference to `{c.baseline}` with its 95 % CI, tested with a paired t-test when both have the "
        f"same seeds and Welch's t-test otherwise (α = {c.alpha:g}, two-sided, not corrected for "
        f"multiple comparisons). A variant with one seed gets no interval. Costs are medians over the "
        f"variant's finished runs (params and GMACs of the model; throughput and peak memory as "
        f"measured while training)." + _memory_note(memory_kinds(c.agg.runs))
        + (" **Paper**: the published number." if c.paper else ""))]


def _memory_note(kinds: set[str]) -> str:
    """What peak memory means on the devices the runs were measured on."""
    notes = {"gpu": " Peak memory on a GPU: the most CUDA memory PyTorch allocated.",
             "cpu": " Peak RSS on the CPU: the training process's peak resident set size, the Python "
                    "interpreter and the libraries included, not the model's memory alone."}
    return "".join(notes[k] for k in ("gpu", "cpu") if k in kinds)


def verdict_lines(summary: pd.DataFrame, metric: str, baseline: str) -> list[str]:
    """One sentence per variant: its difference to the baseline, the interval, the test and the verdict."""
    d = decimals(metric)
    unit = " pp" if is_percent(metric) else ""
    lines = []
    for v, s in summary.iterrows():
        verdict = s["verdict"]
        diff = f"{fmt_number(s['diff'], d, True)}{unit} vs `{baseline}`"
        if verdict == "baseline":
            lines.append(_baseline_line(v, s, d))
        elif verdict.startswith("same runs"):
            lines.append(f"`{v}`: the same configuration, and so the same runs, as `{baseline}`.")
        elif verdict == "no finished runs":
            lines.append(f"`{v}`: no finished runs.")
        elif math.isfinite(s["diff_low"]):
            ci = f"[{fmt_number(s['diff_low'], d, True)}, {fmt_number(s['diff_high'], d, True)}]"
            lines.append(f"`{v}`: {diff} (95 % CI {ci}), {s['test']} t-test {p_clause(s['p_value'])} → **{verdict}**.")
        elif math.isfinite(s["diff"]) and math.isfinite(s["p_value"]):
            lines.append(f"`{v}`: {diff}, {s['test']} t-test {p_clause(s['p_value'])} → **{verdict}**.")
        elif math.isfinite(s["diff"]):
            lines.append(f"`{v}`: {diff}; **{verdict}** (no interval or test can be given with fewer than two "
                         f"seeds on either side).")
        else:
            lines.append(f"`{v}`: **{verdict}**.")
    return lines


def p_clause(p: float) -> str:
    """'p = 0.012', or 'p < 0.001' below what three decimals can show."""
    return "p < 0.001" if p < 0.001 else f"p = {fmt_p(p)}"


def _baseline_line(v: str, s: pd.Series, d: int) -> str:
    n = int(s["n"])
    if n >= 2:
        return f"`{v}` is the baseline: {fmt_number(s['mean'], d)} ± {fmt_number(s['std'], d)} over {n} seeds."
    if n == 1:
        return f"`{v}` is the baseline: {fmt_number(s['mean'], d)} from one seed (no interval)."
    return f"`{v}` is the baseline and has no finished run: nothing can be compared."


def _figures(c: Content) -> list[Block]:
    if not c.figures:
        return [Paragraph("No figures: no run has finished yet.")]
    paper = "; red diamonds: the paper's numbers" if c.paper else ""
    return [Heading("Figures"), *[FigureBlock(path, CAPTIONS[stem].format(metric=metric_label(c.metric),
                                                                          baseline=c.baseline, paper=paper))
                                  for stem, path in c.figures]]


def _unfinished(c: Content) -> list[Block]:
    unfinished = c.agg.runs[c.agg.runs["status"] != "done"]
    if not len(unfinished):
        return []
    items = [f"`{r.variant}` seed {r.seed} (`{r.run_id}`): **{r.status}**" + (f": {r.note}" if r.note else "")
             for r in unfinished.head(LIST_MAX).itertuples()]
    if len(unfinished) > LIST_MAX:
        items.append(f"… and {len(unfinished) - LIST_MAX} more (every run's status is in `runs.csv`)")
    return [Heading("Runs without a result"),
            Paragraph("These runs count in no statistic (their numbers, if any, are not shown)."), Items(items)]


def _problems(c: Content) -> list[Block]:
    problems, excluded = c.agg.problems + c.problems, c.agg.excluded
    if not (problems or excluded):
        return []
    items = [str(p) for p in problems[:LIST_MAX]] + [f"excluded: {e}" for e in excluded[:LIST_MAX]]
    more = max(0, len(problems) - LIST_MAX) + max(0, len(excluded) - LIST_MAX)
    return [Heading("Problems and exclusions"), Items(items + ([f"… and {more} more"] if more else []))]


def _reproduce(c: Content) -> list[Block]:
    runs = c.agg.runs
    run_commits = sorted({str(x) for x in runs.get("commit", pd.Series(dtype=object)).dropna()})
    devices = sorted({str(x) for x in runs.get("device", pd.Series(dtype=object)).dropna()})
    files = ", ".join(f"`{f}`" for f in DATA_FILES)
    if c.figures:
        files += ", " + ", ".join(f"`{p.stem}.png/.pdf`" for _, p in c.figures)
    written = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [Heading("Reproduce"), Items([
        f"Command: `{c.command}`",
        f"Report code commit: `{c.commit}`",
        f"Runs trained at commit(s): {', '.join(f'`{x}`' for x in run_commits) or 'unknown'}"
        + (f" on {', '.join(devices)}" if devices else ""),
        f"Runs: `{c.runs_dir / c.name}`" + (f"; grid module: `{c.grid_path}`" if c.grid_path else ""),
        f"Files: {files}",
        f"Written {written} in {time.perf_counter() - c.started:.1f} s",
    ])]
