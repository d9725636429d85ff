"""What the report says, section by section: the grid and its setting, the table, one verdict per
variant, the figures, the runs without a result, problems and exclusions, and how to reproduce it."""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .document import Block, FigureBlock, Heading, Items, Paragraph, TableBlock
from .few_seeds import MIN_SEEDS
from .figures.style import chance_level
from .findings import Findings
from .keys import STATUSES, cell, decimals, higher_is_better, is_percent, metric_label, seed_key
from .methods import Methods
from .power import MAX_SEEDS
from .run_sections import cost_section, provenance_section, seeds_section, transfer_section
from .stats import StatOptions, memory_kinds
from .table import Table, effect_text, fmt_number, fmt_p, superiority_text, verdict_text
from .vocabulary import Correction, Interval, Verdict

if TYPE_CHECKING:
    from ablations.planning.grid_index import GridIndex

LIST_MAX = 60  # runs / problems listed one by one in report.md; the rest are counted
DATA_FILES = ("table.csv", "table.md", "table.tex", "summary.csv", "runs.csv", "curves.csv")
CAPTIONS = {
    "bars": "{metric} per variant: bars are means over seeds, whiskers the 95 % {interval} (cut at 0 and 100 % for "
            "an accuracy), white points the single seeds; the dashed line is the baseline ({baseline}){paper}{chance}.",
    "curves": "Learning curves: validation top-1 accuracy and training loss per epoch, mean over seeds with a "
              "±1 std band, cut at 100 % and at a loss of 0 (a symmetric band computed past them holds no value a "
              "run can have){chance}.",
    "cost": "{metric} against cost (median over seeds; whiskers: 95 % CI of the metric, ±1 std of throughput and "
            "memory). Points with a black edge and the dashed line form the Pareto front, drawn only where the "
            "costs differ beyond their noise (more than the two ±1 std whiskers and 2 % for measured costs; "
            "GMACs exactly), which the axis label says otherwise; variants with identical costs are drawn at the "
            "same value side by side{chance}.",
    "resolution": "{metric} when evaluated at other input resolutions (mean over seeds, ±1 std band); the dotted "
                  "line marks the training resolution{chance}.",
}


@dataclass
class Content:
    """What the sections are written from."""

    name: str
    index: GridIndex  # grid.json
    findings: Findings  # the main metric's
    table: Table
    figures: list[tuple[str, Path]]  # (stem, PNG)
    problems: list[str]  # besides agg.problems: figures that failed, the grid's metric missing
    command: str
    commit: str  # of the report code
    runs_dir: Path
    grid_path: Any
    started: float  # time.perf_counter() when the report began
    options: StatOptions = StatOptions()
    others: list[tuple[str, Table]] = field(default_factory=list)  # (metric, its table) after the main one
    eval_only: bool = False  # every finished run has train.epochs = 0: evaluated, not trained


def report_blocks(c: Content) -> list[Block]:
    f = c.findings
    coupled = c.index.data_seed_follows_seed is True
    return [*_overview(c), *_results(c), Heading("Verdicts"), Items(verdict_lines(f.summary, f.metric, f.baseline)),
            *_other_metrics(c), *seeds_section(f.agg.runs, f.summary, f.metric, coupled=coupled), *_figures(c),
            *cost_section(f.agg.runs, f.agg.variants), *transfer_section(f.agg.runs, f.agg.transfers),
            *_unfinished(c), *_problems(c), *provenance_section(f.agg.runs), *_reproduce(c)]


def _overview(c: Content) -> list[Block]:
    f = c.findings
    runs = f.agg.runs
    counts = Counter(runs["status"].astype(str))
    status_line = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s))
    direction = "higher is better" if higher_is_better(f.metric) else "lower is better"
    seeds = sorted(set(runs["seed"]), key=seed_key)
    blocks: list[Block] = [Heading(f"Ablation report: {c.name}", 1)]
    if c.index.description:
        blocks.append(Paragraph(c.index.description.strip()))
    blocks.append(Paragraph(f"**Profile** `{f.agg.profile}` · **baseline** `{f.baseline}` · **metric** `{f.metric}` "
                            f"({direction}) · **seeds** {', '.join(map(str, seeds)) or '—'} · **runs** {len(runs)}: "
                            f"{status_line or 'none'}."))
    if f.agg.setting:
        blocks.append(Paragraph("Settings shared by every run: "
                                + ", ".join(f"`{k}={cell(v)}`" for k, v in f.agg.setting.items()) + "."))
    if c.eval_only:
        blocks.append(Paragraph("The grid evaluates without training (`train.epochs = 0`): every variant's weights "
                                "are evaluated as loaded, so there are no learning curves; the seeds differ in what "
                                "they evaluate on (e.g. `data.val_subset`)."))
    return blocks


def _results(c: Content) -> list[Block]:
    f = c.findings
    details: list[Block] = []
    if c.table.details is not None:
        details = [Heading("Details", 3), Paragraph("The columns a reader needs second; `table.csv` has every number "
                                                    "of both tables."), TableBlock(c.table.details)]
    return [Heading("Results"), TableBlock(c.table), Paragraph(_methods(c).paragraph() + (
        " Costs are medians over the variant's finished runs (params and GMACs of the model; throughput and peak "
        "memory as measured while training)." + _memory_note(memory_kinds(f.agg.runs))
        + (" **Paper**: the published number." if f.paper else "")
        + (" **Transferred**: what the runs took from pretrained weights." if f.agg.transfers else ""))), *details]


def _methods(c: Content) -> Methods:
    return Methods.of(c.options, c.findings.baseline, c.findings.summary)


def _memory_note(kinds: set[str]) -> str:
    """What peak memory means on the devices the runs were measured on."""
    notes = {"gpu": " Peak memory on a GPU: the most CUDA memory PyTorch allocated.",
             "cpu": " Peak RSS on the CPU: the training process's peak resident set size, the Python "
                    "interpreter and the libraries included, not the model's memory alone."}
    return "".join(notes[k] for k in ("gpu", "cpu") if k in kinds)


def verdict_lines(summary: pd.DataFrame, metric: str, baseline: str) -> list[str]:
    """One sentence per variant: its difference to the baseline, the interval, the test, the verdict
    (from the family's adjusted p-value), the effect sizes and what the comparison could have missed."""
    d = decimals(metric)
    unit = " pp" if is_percent(metric) else ""
    family = int(summary["p_value"].notna().sum()) if "p_value" in summary.columns else 0
    base_n = int(summary.loc[baseline, "n"]) if baseline in summary.index else 0
    lines = []
    for v, s in summary.iterrows():
        verdict = Verdict(s["verdict"])
        diff = f"{fmt_number(s['diff'], d, True)}{unit} vs `{baseline}`"
        if verdict is Verdict.BASELINE:
            lines.append(_baseline_line(v, s, d))
        elif verdict is Verdict.SAME_RUNS:
            lines.append(f"`{v}`: the same configuration, and so the same runs, as `{baseline}`.")
        elif verdict is Verdict.NO_RUNS:
            lines.append(f"`{v}`: no finished runs.")
        elif math.isfinite(s["p_value"]):
            ci = ""
            if math.isfinite(s["diff_low"]):
                method = f" ({Interval(s['interval']).short})" if s["interval"] == Interval.BOOTSTRAP else ""
                ci = f" (95 % CI{method} [{fmt_number(s['diff_low'], d, True)}, {fmt_number(s['diff_high'], d, True)}])"
            lines.append(f"`{v}`: {diff}{ci}, {s['test']} t-test {p_clause(s['p_value'])} → "
                         f"**{verdict_text(s, metric, baseline)}**{_adjusted(s, family)}{_effects(s, baseline, d)}"
                         f"{_power_clause(s, d, unit, base_n)}.")
        elif verdict is Verdict.TOO_FEW:
            lines.append(f"`{v}`: {diff}; **{verdict_text(s, metric, baseline)}**{_too_few_clause(s, base_n)}.")
        elif math.isfinite(s["diff"]):
            lines.append(f"`{v}`: {diff}; **{verdict}**.")
        else:
            lines.append(f"`{v}`: **{verdict}**.")
    return lines


def _adjusted(s: pd.Series, family: int) -> str:
    correction = Correction.applied(s.get("correction"))
    if correction is None:
        return " (not corrected for multiple comparisons)"
    p_adj = float(s["p_adj"])
    return f" ({correction.label}-adjusted {p_clause(p_adj)} over {family} comparison{'s' * (family != 1)})"


def _effects(s: pd.Series, baseline: str, d: int) -> str:
    """The effect sizes with their 95 % intervals (none without one)."""
    parts = []
    effect = effect_text(s, d)
    if effect.startswith("|"):
        parts.append(f"{effect}: the seeds barely vary against the difference")
    elif effect:
        parts.append(f"{s['effect_kind']} = {effect.rsplit(' (', 1)[0]}")
    beats = superiority_text(s)
    if beats:
        parts.append(f"P(beats `{baseline}` on a seed) = {beats}")
    return "; " + ", ".join(parts) if parts else ""


def _too_few_clause(s: pd.Series, base_n: int) -> str:
    """Why there is no test, and what the seeds needed are planned from."""
    n = int(s["n"])
    seeds = f"{n} paired seeds" if s["test"] == "paired" else f"{n} and {base_n} seeds"
    out = f" (no test, effect size or verdict below {MIN_SEEDS} seeds on each side; {seeds} so far"
    if math.isfinite(float(s["plan_effect"])):
        what = "the `--min-effect`" if math.isfinite(float(s["min_effect"])) else "the difference seen so far"
        out += (f"; the seeds detect {what} with 80 % power at α = {s['mde_alpha']:.3g} and the spread seen so far, "
                f"a plan that more seeds will revise")
    return out + ")"


def _power_clause(s: pd.Series, d: int, unit: str, base_n: int) -> str:
    """What the comparison could detect (always said for 'no detectable difference') and, given a
    difference to look for, how many seeds it needs."""
    out = ""
    mde = float(s.get("mde", math.nan))
    if math.isfinite(mde):
        seeds = (f"{int(s['n'])} paired seeds" if s["test"] == "paired"
                 else f"{int(s['n'])} and {base_n} seeds (Welch)")
        at = f"80 % power at α = {s['mde_alpha']:.3g} with {seeds}"
        if s["verdict"] == Verdict.NO_DIFFERENCE:
            out += f"; a difference up to ±{fmt_number(mde, d)}{unit} could have been missed ({at} needs " \
                   f"|Δ| ≥ {fmt_number(mde, d)}{unit})"
        else:
            out += f"; detectable: |Δ| ≥ {fmt_number(mde, d)}{unit} ({at})"
    need = float(s.get("seeds_needed", math.nan))
    if not math.isnan(need):
        effect = f"±{s['min_effect']:g}{unit}"
        many = f"more than {MAX_SEEDS:,}" if math.isinf(need) else f"{int(need)}"
        out += f"; {many} seeds per variant would detect {effect} with 80 % power"
    return out


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


def _other_metrics(c: Content) -> list[Block]:
    """The other metrics' tables, each with its own family of comparisons."""
    if not c.others:
        return []
    blocks: list[Block] = [Heading("Other metrics"), Paragraph(
        "The same statistics for each further metric, each table its own family of comparisons (its p-values "
        "adjusted among themselves). Files: `table_METRIC.csv/.md/.tex`.")]
    for metric, table in c.others:
        direction = "higher is better" if higher_is_better(metric) else "lower is better"
        blocks += [Heading(f"{metric_label(metric)} (`{metric}`, {direction})", 3), TableBlock(table)]
    return blocks


def _figures(c: Content) -> list[Block]:
    f = c.findings
    if not c.figures:
        return [Paragraph("No figures: no run has finished yet.")]
    paper = "; red diamonds: the paper's numbers" if f.paper else ""
    return [Heading("Figures"), *[FigureBlock(path, CAPTIONS[stem].format(
        metric=metric_label(f.metric), baseline=f.baseline, paper=paper, interval=c.options.interval.label,
        chance=_chance_clause(c, stem))) for stem, path in c.figures]]


def _chance_clause(c: Content, stem: str) -> str:
    """What the dotted red line of a figure is, where it has one (the accuracy it plots on a probe)."""
    f = c.findings
    resolution = f.metric if f.metric in ("top1", "top5", "loss") else "top1"
    level = chance_level(f.agg, {"curves": "val_top1", "resolution": resolution}.get(stem, f.metric))
    if level is None:
        return ""
    return (f"; the red dotted line is chance on the probe ({level:g} %: what a model that cannot tell the "
            f"classes apart gets)")


def _unfinished(c: Content) -> list[Block]:
    f = c.findings
    unfinished = f.agg.runs[f.agg.runs["status"] != "done"]
    if not len(unfinished):
        return []
    items = [f"`{r.variant}` seed {r.seed} (`{r.run_id}`): **{r.status}**" + (f": {r.note}" if r.note else "")
             for r in unfinished.head(LIST_MAX).itertuples()]
    if len(unfinished) > LIST_MAX:
        items.append(f"… and {len(unfinished) - LIST_MAX} more (every run's status is in `runs.csv`)")
    return [Heading("Runs without a result"),
            Paragraph("These runs count in no statistic (their numbers, if any, are not shown)."), Items(items)]


def _problems(c: Content) -> list[Block]:
    f = c.findings
    problems, excluded = f.agg.problems + c.problems, f.agg.excluded
    if not (problems or excluded):
        return []
    items = [str(p) for p in problems[:LIST_MAX]] + [f"excluded: {e}" for e in excluded[:LIST_MAX]]
    more = max(0, len(problems) - LIST_MAX) + max(0, len(excluded) - LIST_MAX)
    return [Heading("Problems and exclusions"), Items(items + ([f"… and {more} more"] if more else []))]


def _reproduce(c: Content) -> list[Block]:
    runs = c.findings.agg.runs
    run_commits = sorted({str(x) for x in runs.get("commit", pd.Series(dtype=object)).dropna()})
    devices = sorted({str(x) for x in runs.get("device", pd.Series(dtype=object)).dropna()})
    files = ", ".join(f"`{f}`" for f in DATA_FILES)
    if c.others:
        files += f", `table_METRIC.csv/.md/.tex` for {', '.join(f'`{m}`' for m, _ in c.others)}"
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
