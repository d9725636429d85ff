"""What the report says about how the runs were made: which seeds varied and how much of each
variant's spread each one explains, whether every run ran the same code, the device-hours estimated
against those taken, and what was taken from pretrained weights."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from .budget import device_hours
from .document import Block, Heading, Items, Paragraph, TableBlock
from .keys import decimals, is_percent
from .provenance import provenance
from .stats import seed_design, seed_text
from .table import Cell, Table
from .vocabulary import Verdict

SOURCE = "two-way random-effects ANOVA without replication (Searle, Casella & McCulloch, Variance Components, 1992)"


def seeds_section(runs: pd.DataFrame, summary: pd.DataFrame, metric: str, coupled: bool = False) -> list[Block]:
    """Which seeds the grid varied; with both, each variant's variance split into init, data and residual.
    ``coupled``: the launcher set data.seed = train.seed in every run (grid.json's data_seed_follows_seed)."""
    design = seed_design(runs)
    inits, datas = design["init"], design["data"]
    if len(inits) < 2 and len(datas) < 2:
        return []
    init_list = ", ".join(map(seed_text, inits))
    if len(datas) < 2 and coupled:
        return [Heading("Sources of randomness"), Paragraph(
            f"Each seed sets both the initialisation seed and the data-order / augmentation seed "
            f"(`train.seed` = `data.seed`: {init_list}): every seed is an independent replicate, and the spread "
            f"over seeds is that of both sources together. To split it into the two, cross them "
            f"(`SEEDS = {{\"init\": …, \"data\": …}}` in the grid, or `--data-seeds`).")]
    if len(datas) < 2:
        fixed = f" (`data.seed` {datas[0]} in every run)" if datas else ""
        return [Heading("Sources of randomness"), Paragraph(
            f"Only the initialisation seed varies (`train.seed`: {init_list}); the data seed does not{fixed}. "
            f"The spread over seeds is that of the weight initialisation alone: how much a different data order "
            f"and augmentation would add is not measured (vary `data.seed` as well to split the two).")]
    data_list = ", ".join(map(seed_text, datas))
    if len(inits) < 2:
        return [Heading("Sources of randomness"), Paragraph(
            f"Only the data seed varies (`data.seed`: {data_list}); every run starts from the same initialisation "
            f"(`train.seed` {seed_text(inits[0]) if inits else '—'}). The spread over seeds is that of the data order "
            f"and augmentation alone.")]
    unit = " pp" if is_percent(metric) else ""
    items = [_sources_line(str(v), s, decimals(metric), unit) for v, s in summary.iterrows()
             if s["verdict"] != Verdict.SAME_RUNS]
    return [Heading("Sources of randomness"), Paragraph(
        f"The grid varies the initialisation seed (`train.seed`: {init_list}) and the data-order / augmentation "
        f"seed (`data.seed`: {data_list}) independently, and comparisons are paired on both. Each variant's "
        f"variance over its init × data table splits into the two sources and a residual (their interaction "
        f"and everything else, which one run per cell cannot tell apart), by a {SOURCE}; a component estimated "
        f"below zero is shown as 0. Standard deviations, with each one's share of the variance:"), Items(items)]


def _sources_line(v: str, s: pd.Series, d: int, unit: str) -> str:
    if not math.isfinite(s["var_resid"]):
        dropped = f" (init seeds {s['dropped_init']} lack a data seed)" if s["dropped_init"] else ""
        return f"`{v}`: no complete init × data table of at least 2 × 2 runs{dropped}."
    parts = {k: max(0.0, float(s[f"var_{k}"])) for k in ("init", "data", "resid")}
    total = sum(parts.values())
    text = ", ".join(f"{name} σ = {math.sqrt(x):.{d}f}{unit} ({100 * x / total:.0f} %)" if total > 0
                     else f"{name} σ = 0" for name, x in zip(("init", "data", "residual"), parts.values(), strict=True))
    notes = []
    if s["truncated"]:
        notes.append(f"{s['truncated']} estimated below 0")
    if s["dropped_init"]:
        notes.append(f"init seeds {s['dropped_init']} left out: a data seed missing")
    return f"`{v}` ({int(s['n_init'])} × {int(s['n_data'])}): {text}" + (f" [{'; '.join(notes)}]" if notes else "")


def provenance_section(runs: pd.DataFrame) -> list[Block]:
    """One sentence where every run ran the same code; otherwise the flag and who ran what."""
    sentence, flags = provenance(runs)
    if not sentence:
        return []
    return [Heading("Code and environment"), Paragraph(sentence), *([Items(flags)] if flags else [])]


def cost_section(runs: pd.DataFrame, variants: list[str]) -> list[Block]:
    """Estimated against measured device-hours, where the launcher recorded estimates."""
    budget = device_hours(runs, variants)
    if budget is None:
        return []
    rows = [[Cell(str(v)), Cell(str(r["runs"])), Cell(_hours(r["estimated_h"])), Cell(_hours(r["measured_h"])),
             Cell(f"{r['ratio']:.2f}" if math.isfinite(r["ratio"]) else ""), Cell(str(r["sources"]))]
            for v, r in budget.iterrows()]
    table = Table(["Variant", "Runs", "Estimated (device-h)", "Measured (device-h)", "Measured / estimated",
                   "Estimate from"], ["l", "r", "r", "r", "r", "l"], [False, False, False, False, False, True], rows,
                  budget.reset_index())
    return [Heading("Cost: estimated and measured"), TableBlock(table), Paragraph(
        "Estimated: the launcher's estimate of each run before it ran (`grid.json`). Measured: the run's wall time "
        "× its number of GPUs (`world_size`); a CPU run counts one device, however many processes it ran. Both "
        "are summed over the runs that have both (runs: those / the runs with an estimate); the total counts a "
        "run two variants share once.")]


def _hours(h: float) -> str:
    if not math.isfinite(h):
        return ""
    return f"{h:.3g}" if h < 10 else f"{h:,.1f}"


def transfer_section(runs: pd.DataFrame, transfers: dict[str, dict[str, Any]]) -> list[Block]:
    """Per variant, the tensors that were not copied as they were: resized, new and dropped."""
    if not transfers:
        return []
    items = []
    for v, g in runs.groupby("variant", sort=False, observed=True):
        data = next((transfers[r] for r in g["run_id"] if r in transfers), None)
        if data is None:
            continue
        source = f" from `{data.get('checkpoint', '?')}` ({data.get('format', '?')})"
        parts = [f"{action}: {_tensors(data, action)}" for action in ("resized", "new", "dropped")
                 if _tensors(data, action)]
        items.append(f"`{v}`{source}: " + ("; ".join(parts) if parts else "every tensor copied as it was"))
    return [Heading("Pretrained weights"), Paragraph(
        "Runs that started from pretrained weights (`transfer.json` in the run folder): per variant the "
        "checkpoint and the tensors that were not copied as they were (names with their block numbers as `*` "
        "where several differ only there; shapes checkpoint → model)."), Items(items)]


def _tensors(data: dict[str, Any], action: str) -> str:
    """'`layers.*.blocks.*.attn.relative_position_bias_table` ×12 [169, 3]→[729, 3], `head.weight`'."""
    groups: dict[tuple[str, str], int] = {}
    for t in data.get("tensors") or []:
        if not isinstance(t, dict) or t.get("action") != action or not isinstance(t.get("name"), str):
            continue
        shape = f" {t.get('source')}→{t.get('target')}" if action == "resized" else ""
        key = (re.sub(r"(?<=\.)\d+(?=\.)", "*", t["name"]), shape)
        groups[key] = groups.get(key, 0) + 1
    shown = [f"`{name}`" + (f" ×{n}" if n > 1 else "") + shape for (name, shape), n in list(groups.items())[:12]]
    more = len(groups) - len(shown)
    return ", ".join(shown) + (f", … {more} more" if more > 0 else "")
