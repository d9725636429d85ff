"""Reading one run folder: its result.json, the epoch rows of its metrics.jsonl, the last line of its
error.txt, and the long curves table built from many runs' epoch rows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vt_core.run_folder import last_line  # noqa: F401  (re-exported: load.py reads error.txt with it)
from vt_core.run_result import ResultError, RunResult, load_result

from .keys import COSTS, CURVE_KEYS, METRICS, bounds, is_percent

RunRead = tuple[str, RunResult | None, str | None]  # (state, result or None, problem or None)
CurveId = tuple[str, Any, str, str, int]  # (variant, seed, run id, state, number of epoch rows)


def read_run(run_dir: str) -> RunRead:
    """(state, result or None, problem or None); a result.json that is not a trainer's is 'corrupt'
    (``vt_core.run_result``: unreadable, not JSON, a status or a value no trainer writes)."""
    path = run_dir + "/result.json"
    try:
        result = load_result(Path(path))
    except FileNotFoundError:
        from vt_core.run_folder import run_state

        return run_state(Path(run_dir)), None, None
    except ResultError as e:
        return "corrupt", None, f"{path}: {e}; skipped as corrupt"
    bad = out_of_range(result, finished=result.done)
    if bad:  # a number no run can produce: the file is corrupt (or crafted), not a measurement to average
        return "corrupt", None, f"{path}: {bad}; skipped as corrupt"
    return result.status, result, None


def out_of_range(result: RunResult, *, finished: bool = False) -> str | None:
    """The first final metric or cost of result.json (``eval_sizes`` included) outside the values it can
    take (an accuracy outside [0, 100], a negative loss or cost, an infinite number; in a finished
    run also an accuracy of NaN, which no count of correct images gives), as a phrase."""
    values = [(k, result.value(k)) for k in (*METRICS, *COSTS)]
    values += [(f"{k}@{size}", v) for size, vals in result.eval_sizes.items() for k, v in vals.items()]
    for key, raw in values:
        x = number(raw)
        if finished and is_percent(key) and isinstance(raw, float) and math.isnan(raw):  # a count's ratio
            return f"{key} = NaN in a run that says it finished"
        low, high = bounds(key)
        if math.isinf(x) or (math.isfinite(x) and not low <= x <= high):
            span = f"[{low:g}, {high:g}]" if math.isfinite(high) else f"≥ {low:g}"
            return f"{key} = {raw!r} is outside {span}"
    return None


def read_curve(path: str) -> list[dict[str, Any]]:
    """The epoch rows of metrics.jsonl (those with val_top1); step rows and lines cut by a kill are skipped."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    lines = [ln for ln in data.split(b"\n") if b'"val_top1"' in ln]
    if not lines:
        return []
    try:  # one parse for the whole run: far faster than one per line
        rows = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:  # a line cut by a kill: parse line by line, keep the whole ones
        rows = []
        for ln in lines:
            try:
                rows.append(json.loads(ln))
            except ValueError:
                continue
    return [r for r in rows if isinstance(r, dict) and "epoch" in r]


def read_transfer(run_dir: str) -> dict[str, Any] | None:
    """transfer.json of a run started from pretrained weights (``vt_core.weights.transfer``): the checkpoint,
    its format, the counts per action and the tensors; None where there is none or it does not parse."""
    try:
        with open(run_dir + "/transfer.json", "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def transfer_summary(transfer: dict[str, Any] | None) -> str:
    """'copied 180 · resized 12 · new 1': the counts of transfer.json's summary that are not zero."""
    if not transfer:
        return ""
    counts = transfer.get("summary") if isinstance(transfer.get("summary"), dict) else {}
    if not counts:  # an older file without the summary: count the tensors
        for t in transfer.get("tensors") or []:
            if isinstance(t, dict) and isinstance(t.get("action"), str):
                counts[t["action"]] = counts.get(t["action"], 0) + 1
    order = ("copied", "resized", "new", "dropped")
    keys = [*order, *sorted(k for k in counts if k not in order)]
    return " · ".join(f"{k} {counts[k]}" for k in keys if isinstance(counts.get(k), int) and counts[k])


def number(x: Any) -> float:
    """A JSON value as a float; NaN for null, booleans and anything that is not a number."""
    if isinstance(x, bool) or x is None:
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def curves_frame(recs: list[dict[str, Any]], ids: list[CurveId]) -> pd.DataFrame:
    """The long curves table: (variant, seed, run id, status) repeated over each run's epoch rows."""
    reps = np.array([n for *_, n in ids], dtype=np.int64)
    head = {name: np.repeat(np.array([x[i] for x in ids], dtype=object), reps) if ids else np.array([], dtype=object)
            for i, name in enumerate(("variant", "seed", "run_id", "status"))}
    nan = math.nan

    def column(k: str) -> np.ndarray:
        values = [r.get(k, nan) for r in recs]
        try:  # the common case: numbers only
            return np.array(values, dtype=float)
        except (TypeError, ValueError):  # a null or a string somewhere: those become NaN
            return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)

    body = pd.DataFrame({k: column(k) for k in CURVE_KEYS})
    frame = pd.concat([pd.DataFrame(head), body], axis=1)
    keep = [c for c in frame.columns if c in ("variant", "seed", "run_id", "status", "epoch") or frame[c].notna().any()]
    return frame[keep]
