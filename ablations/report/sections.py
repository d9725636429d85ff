"""What the report says, section by section: the grid and its setting, the table, one verdict per
variant, the figures, the runs without a result, problems and exclusions, and how to reproduce it."""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .document import Block, FigureBlock, Heading, Items, Paragraph, TableBlock
from .few_seeds import MIN_SEEDS, TOO_FEW
from .figures.style import chance_level
from .keys import STATUSES, cell, decimals, higher_is_better, is_percent, metric_label, seed_key
from .load import Aggregate
from .multiplicity import NAMES
from .power import MAX_SEEDS
from .run_sections import cost_section, provenance_section, seeds_section, transfer_section
from .stats import StatOptions, memory_kinds
from .table import Table, effect_text, fmt_number, fmt_p, superiority_text, verdict_text

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
    options: StatOptions = StatOptions()
    others: list[tuple[str, Table]] = field(default_factory=list)  # (metric, its table) after the main one
    eval_only: bool = False  # every finished run has train.epochs = 0: evaluated, not trained


def report_blocks(c: Content) -> list[Block]:
    coupled = c.agg.grid.get("data_seed_follows_seed") is True
    return [*_overview(c), *_results(c), Heading("Verdicts"), Items(verdict_lines(c.summary, c.metric, c.baseline)),
            *_other_metrics(c), *seeds_section(c.agg.runs, c.summary, c.metric, coupled=coupled), *_figures(c),
            *cost_section(c.agg.runs, c.agg.variants), *transfer_section(c.agg.runs, c.agg.transfers),
            *_unfinished(c), *_problems(c), *provenance_section(c.agg.runs), *_reproduce(c)]


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
    if c.eval_only:
        blocks.append(Paragraph("The grid evaluates without training (`train.epochs = 0`): every variant's weights "
                                "are evaluated as loaded, so there are no learning curves; the seeds differ in what "
                                "they evaluate on (e.g. `data.val_subset`)."))
    return blocks


def _results(c: Content) -> list[Block]:
    details: list[Block] = []
    if c.table.details is not None:
        details = [Heading("Details", 3), Paragraph("The columns a reader needs second; `table.csv` has every number "
                                                    "of both tables."), TableBlock(c.table.details)]
    return [Heading("Results"), TableBlock(c.table), Paragraph(methods_note(c.options, c.baseline, c.summary) + (
        " Costs are medians over the variant's finished runs (params and GMACs of the model; throughput and peak "
        "memory as measured while training)." + _memory_note(memory_kinds(c.agg.runs))
        + (" **Paper**: the published number." if c.paper else "")
        + (" **Transferred**: what the runs took from pretrained weights." if c.agg.transfers else ""))), *details]


def methods_note(o: StatOptions, baseline: str, summary: pd.DataFrame) -> str:
    """How every statistic of a table was computed, in one paragraph."""
    family = int(summary["p_value"].notna().sum())
    comparisons = f"{family} comparison{'s' * (family != 1)}"
    interval = ("the BCa bootstrap (Efron 1987; 9,999 resamples, seeds resampled in pairs where paired)"
                if o.interval == "bootstrap" else "the t-distribution")
    if o.correction == "none":
        correction, level = "not corrected for multiple comparisons", f"α = {o.alpha:g}"
    else:
        ref = "Holm 1979" if o.correction == "holm" else "Benjamini & Hochberg 1995"
        correction = (f"adjusted over the family of the {comparisons} with `{baseline}` by {NAMES[o.correction]} "
                      f"({ref}), the verdict taken from the adjusted p")
        level = f"α/{max(family, 1)}, the level a lone real difference among the {comparisons} must reach"
    text = (f"Mean ± std over the seeds of the finished runs; 95 % intervals of the means and of Δ from {interval}, "
            f"each on its own (not simultaneous); an accuracy's interval is cut to [0, 100] and a loss's to ≥ 0, "
            f"the values a mean can take. Δ: difference to `{baseline}`, tested with a paired t-test when "
            f"both have the same seeds and Welch's t-test otherwise (α = {o.alpha:g}, two-sided), p-values "
            f"{correction}. Below {MIN_SEEDS} seeds on either side there is no test, effect size or verdict: the "
            f"row says how many more seeds would detect the difference seen so far (or `--min-effect`). A "
            f"difference whose own interval excludes 0 but which the correction does not decide reads \"no "
            f"detectable difference after …\". Bold: the best mean, only where the corrected test decides it (a "
            f"'better' variant, or a baseline every other variant is 'worse' than). Details: effect size, Hedges' g "
            f"(independent seeds) or d_z (paired), and P(beats), the probability that the variant beats "
            f"`{baseline}` on a random seed (McGraw & Wong 1992), each with its 95 % interval (noncentral t) or not "
            f"at all, an effect beyond ±10 as `> 10` with the raw Δ; detectable Δ: the smallest difference the "
            f"comparison detects with 80 % power at its seeds and observed spread (Cohen 1988), at {level}.")
    if o.min_effect is not None:
        text += (f" Seeds for Δ = {o.min_effect:g}: the seeds per variant that would detect a difference of "
                 f"{o.min_effect:g} with 80 % power at the same level and spread.")
    return text


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
        verdict = s["verdict"]
        diff = f"{fmt_number(s['diff'], d, True)}{unit} vs `{baseline}`"
        if verdict == "baseline":
            lines.append(_baseline_line(v, s, d))
        elif verdict.startswith("same runs"):
            lines.append(f"`{v}`: the same configuration, and so the same runs, as `{baseline}`.")
        elif verdict == "no finished runs":
            lines.append(f"`{v}`: no finished runs.")
        elif math.isfinite(s["p_value"]):
            ci = ""
            if math.isfinite(s["diff_low"]):
                method = " (BCa bootstrap)" if s.get("interval") == "BCa" else ""
                ci = f" (95 % CI{method} [{fmt_number(s['diff_low'], d, True)}, {fmt_number(s['diff_high'], d, True)}])"
            lines.append(f"`{v}`: {diff}{ci}, {s['test']} t-test {p_clause(s['p_value'])} → "
                         f"**{verdict_text(s, metric)}**{_adjusted(s, family)}{_effects(s, baseline, d)}"
                         f"{_power_clause(s, d, unit, base_n)}.")
        elif verdict == TOO_FEW:
            lines.append(f"`{v}`: {diff}; **{verdict_text(s, metric)}**{_too_few_clause(s, base_n)}.")
        elif math.isfinite(s["diff"]):
            lines.append(f"`{v}`: {diff}; **{verdict}**.")
        else:
            lines.append(f"`{v}`: **{verdict}**.")
    return lines


def _adjusted(s: pd.Series, family: int) -> str:
    correction = s.get("correction", "")
    if not correction or correction == "none":
        return " (not corrected for multiple comparisons)"
    p_adj = float(s["p_adj"])
    return f" ({NAMES[correction]}-adjusted {p_clause(p_adj)} over {family} comparison{'s' * (family != 1)})"


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
        if s["verdict"] == "no detectable difference":
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
        "adjusted among themselves). Files: `table_<metric>.csv/.md/.tex`.")]
    for metric, table in c.others:
        direction = "higher is better" if higher_is_better(metric) else "lower is better"
        blocks += [Heading(f"{metric_label(metric)} (`{metric}`, {direction})", 3), TableBlock(table)]
    return blocks


def _figures(c: Content) -> list[Block]:
    if not c.figures:
        return [Paragraph("No figures: no run has finished yet.")]
    paper = "; red diamonds: the paper's numbers" if c.paper else ""
    interval = "BCa bootstrap interval" if c.options.interval == "bootstrap" else "t-interval"
    return [Heading("Figures"), *[FigureBlock(path, CAPTIONS[stem].format(
        metric=metric_label(c.metric), baseline=c.baseline, paper=paper, interval=interval,
        chance=_chance_clause(c, stem))) for stem, path in c.figures]]


def _chance_clause(c: Content, stem: str) -> str:
    """What the dotted red line of a figure is, where it has one (the accuracy it plots on a probe)."""
    resolution = c.metric if c.metric in ("top1", "top5", "loss") else "top1"
    level = chance_level(c.agg, {"curves": "val_top1", "resolution": resolution}.get(stem, c.metric))
    if level is None:
        return ""
    return (f"; the red dotted line is chance on the probe ({level:g} %: what a model that cannot tell the "
            f"classes apart gets)")


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
    if c.others:
        files += f", `table_<metric>.csv/.md/.tex` for {', '.join(f'`{m}`' for m, _ in c.others)}"
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
