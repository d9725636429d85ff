"""The report's "Mechanisms" section: what each finished run's ``analysis.json`` (``vt_core.analyze``,
docs/analysis.md) measured, per variant over seeds with intervals and differences to the baseline
(the statistics of the accuracy table, ``summarize``), and the figures people know for them."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .document import Block, FigureBlock, Heading, Paragraph, TableBlock
from .load import Aggregate
from .stats import summarize
from .table import Table, fmt_number, fmt_p

# per-run scalars: column → (header, decimals)
SCALARS = {
    "attention_px": ("attention distance (px)", 2),
    "cross_window": ("cross-window dependence", 4),
    "agreement_1px": ("agreement, 1-px shift", 3),
    "kl_1px": ("KL, 1-px shift", 5),
    "erf50_px": ("ERF r50 last level (px)", 1),
    "cka": ("CKA vs baseline", 3),
}
# the values each measure can take: a t-interval of its mean is cut to them, as accuracy's to [0, 100]
RANGES = {"attention_px": (0.0, math.inf), "cross_window": (0.0, 1.0), "agreement_1px": (0.0, 1.0),
          "kl_1px": (0.0, math.inf), "erf50_px": (0.0, math.inf), "cka": (0.0, 1.0)}
# where the section goes: before the first of these headings (after the figures)
_BEFORE = ("Cost: estimated and measured", "Pretrained weights", "Runs without a result", "Problems and exclusions",
           "Code and environment", "Reproduce")


def read_analyses(agg: Aggregate, gdir: Path) -> dict[str, dict[str, Any]]:
    """run id → analysis.json of every done run that has one (a malformed file is skipped, said on stderr)."""
    out = {}
    for rid in agg.runs.loc[agg.runs["status"] == "done", "run_id"]:
        path = gdir / str(rid) / "analysis.json"
        if not path.is_file():
            continue
        try:
            out[str(rid)] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            print(f"report: {path}: unreadable ({type(e).__name__}); left out of the Mechanisms section",
                  file=sys.stderr)
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def scalars(a: dict[str, Any]) -> dict[str, float]:
    """One run's summary numbers (NaN where the model has no such thing, e.g. no window blocks)."""
    shifts = {r["shift_px"]: r for r in (a.get("translation") or {}).get("shifts", [])}
    erf = list((a.get("erf") or {}).values())
    cka = (a.get("cka") or {}).get("same_block") or {}
    return {
        "attention_px": _mean([r["mean_px"] for r in (a.get("attention_distance") or {}).values()]),
        "cross_window": _mean([r["share"] for r in (a.get("cross_window") or {}).values()]),
        "agreement_1px": shifts[1]["agreement"] if 1 in shifts else math.nan,
        "kl_1px": shifts[1]["kl"] if 1 in shifts else math.nan,
        "erf50_px": erf[-1]["radius_px"].get("0.5", math.nan) if erf else math.nan,
        "cka": _mean(list(cka.values())),
    }


def runs_with_scalars(agg: Aggregate, analyses: dict[str, dict[str, Any]]) -> pd.DataFrame:
    keep = [c for c in ("variant", "seed", "data_seed", "run_id", "status") if c in agg.runs.columns]
    runs = agg.runs[keep].copy()
    rows = [scalars(analyses[str(r)]) if str(r) in analyses else {} for r in runs["run_id"]]
    return pd.concat([runs.reset_index(drop=True), pd.DataFrame(rows, columns=list(SCALARS))], axis=1)


def _cell(s: pd.Series, d: int, baseline: str, variant: str, bounds: tuple[float, float]) -> str:
    if not s["n"] or not math.isfinite(s["mean"]):
        return "–"
    low, high = max(s["ci_low"], bounds[0]), min(s["ci_high"], bounds[1])
    text = f"{fmt_number(s['mean'], d)} [{fmt_number(low, d)}, {fmt_number(high, d)}]"
    if variant != baseline and math.isfinite(s.get("diff", math.nan)):
        p = s.get("p_adj", s.get("p", math.nan))
        text += f"; Δ {s['diff']:+.{d}f}" + (f", p {fmt_p(p)}" if isinstance(p, float) and math.isfinite(p) else "")
    return text


def mechanisms_table(runs: pd.DataFrame, variants: list[str], baseline: str) -> Table:
    """A row per variant, a column per measure: mean [95 % CI] over seeds; Δ to the baseline, Holm-adjusted p."""
    from .table import Cell

    cols = [c for c in SCALARS if runs[c].notna().any()]
    stats = {c: summarize(runs, c, baseline, variants) for c in cols}
    rows = [[Cell(v)] + [Cell(_cell(stats[c].loc[v], SCALARS[c][1], baseline, v, RANGES[c])) for c in cols]
            for v in variants]
    numeric = pd.concat([stats[c][["mean", "ci_low", "ci_high", "diff", "p_adj"]].add_prefix(f"{c}_")
                         for c in cols], axis=1) if cols else pd.DataFrame(index=variants)
    return Table(header=["variant", *[SCALARS[c][0] for c in cols]], align=["l", *["r"] * len(cols)],
                 wrap=[False, *[True] * len(cols)], rows=rows, numeric=numeric.reset_index())


def mechanisms_blocks(agg: Aggregate, baseline: str, out: Path, gdir: Path) -> list[Block]:
    from .figures.mechanisms import draw_mechanism_figures

    analyses = read_analyses(agg, gdir)
    if not analyses:
        draw_mechanism_figures(agg, {}, baseline, out)  # removes stale figures
        return []
    runs = runs_with_scalars(agg, analyses)
    table = mechanisms_table(runs, agg.variants, baseline)
    (out / "mechanisms.csv").write_text(table.numeric.to_csv(index=False), encoding="utf-8")
    blocks: list[Block] = [Heading("Mechanisms"), Paragraph(
        f"Measured on the final weights of {len(analyses)} of {int((agg.runs['status'] == 'done').sum())} finished "
        "runs by `python -m vt_core.analyze` (docs/analysis.md), on the same seeded validation images: mean [95 % "
        f"t-interval, cut to the values the measure can take] over seeds; Δ to {baseline} with its Holm-adjusted "
        "paired p-value, as for accuracy. Attention "
        "distance: mean over blocks and heads; cross-window dependence: mean over window blocks (0 without shifted "
        "windows); agreement and KL: predictions under a 1-pixel cyclic shift against none; ERF r50: radius holding "
        "half the input-gradient mass of the last level's centre; CKA: mean over blocks, linear CKA with the "
        "baseline's block at the same seed."), TableBlock(table)]
    for path, caption in draw_mechanism_figures(agg, analyses, baseline, out):
        blocks.append(FigureBlock(path, caption))
    return blocks


def insert_mechanisms(blocks: list[Block], agg: Aggregate, baseline: str, out: Path, gdir: Path) -> list[Block]:
    """``blocks`` with the Mechanisms section after the figures (nothing when no run was analysed)."""
    section = mechanisms_blocks(agg, baseline, out, gdir)
    at = next((i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.text in _BEFORE), len(blocks))
    return [*blocks[:at], *section, *blocks[at:]]
