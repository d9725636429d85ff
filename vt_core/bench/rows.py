"""One row per (preset, mode, compile, data), and the table, ``bench.csv``, ``bench.md`` and
``bench.json`` it is written as (docs/benchmarks.md has every column)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class Row:
    model: str
    reference: str
    mode: str
    compile: str
    data: str
    device: str
    dtype: str
    batch: int
    img_size: int
    img_s_ours: float
    img_s_ref: float
    ratio: float  # img_s_ours / img_s_ref
    ratio_paired: float  # median over repeats of the two adjacent blocks' ratio: robust to drift
    step_ms_ours: float
    step_ms_ref: float
    gflop_per_img: float
    tflops_ours: float
    tflops_ref: float
    mfu_ours: float
    mfu_ref: float
    mem_mb_ours: float | None
    mem_mb_ref: float | None
    max_abs_diff: float
    extra: dict[str, Any] = field(default_factory=dict)  # bench.json only: every block's seconds


COLUMNS = tuple(f.name for f in fields(Row) if f.name != "extra")
TEXT_COLUMNS = ("model", "reference", "mode", "compile", "data", "device", "dtype")


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if key.startswith("mfu"):
            return f"{100 * value:.1f}%"
        if key == "max_abs_diff":
            return f"{value:.1e}"
        if key.startswith("ratio"):
            return f"{value:.3f}"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def format_table(rows: list[Row]) -> list[list[str]]:
    return [[_fmt(getattr(r, c), c) for c in COLUMNS] for r in rows]


def text_table(rows: list[Row]) -> str:
    cells = [list(COLUMNS), *format_table(rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) if col in TEXT_COLUMNS else c.rjust(w) for col, c, w in zip(COLUMNS, row, widths))
        for row in cells
    )


def markdown(rows: list[Row], env: dict[str, Any]) -> str:
    lines = [
        "# vt_core.bench", "",
        f"`{env['command']}`", "",
        f"- device: {env['device']}, {env['threads']} torch threads",
        f"- torch {env['torch']}, timm {env['timm']}, python {env['python']}",
        f"- dtype {env['dtype']}, batch {env['batch']}, {env['img_size']}², warm-up {env['warmup']}, "
        f"{env['repeats']} timed blocks of {env['steps']} step(s), median",
        f"- matmul peak {env['matmul_peak_tflops']:.3f} TFLOP/s "
        f"(the higher of {env['matmul_peak_tflops_start_end'][0]:.3f} "
        f"at the start and {env['matmul_peak_tflops_start_end'][1]:.3f} at the end); "
        f"timm fused attention setting {env['timm_fused_attn']}",
        f"- load average (1/5/15 min) at start {env.get('load_average', {}).get('start')}, "
        f"at end {env.get('load_average', {}).get('end')}; OMP_WAIT_POLICY={env['omp_wait_policy'] or '(unset)'}",
        "", "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if c in TEXT_COLUMNS else "---:" for c in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in format_table(rows)]
    return "\n".join(lines) + "\n"


def write_outputs(rows: list[Row], env: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in COLUMNS])
    (out / "bench.md").write_text(markdown(rows, env))
    (out / "bench.json").write_text(json.dumps({"env": env, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
