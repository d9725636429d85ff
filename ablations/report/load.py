"""From a grid's run folders to frames: ``load_index`` reads ``runs/<grid>/grid.json``; ``aggregate``
reads the runs of one setting into the tidy runs table (one row per variant × seed) and the long
curves table (one row per variant × seed × epoch)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vt_core.run_result import NOT_MEASUREMENTS, RunResult

from .keys import COSTS, METRICS, MODEL_COSTS, STATUSES, cell, device_kind
from .provenance import packages_text
from .readers import (
    CurveId,
    RunRead,
    curves_frame,
    last_line,
    number,
    read_curve,
    read_run,
    read_transfer,
    transfer_summary,
)
from .selection import (
    Entry,
    ReportError,
    axes_of,
    choose_setting,
    current_variants,
    one_run_per_seed,
    valid_entries,
)

if TYPE_CHECKING:
    from ablations.planning.grid_index import GridIndex

_SKIPPED_KEYS = NOT_MEASUREMENTS  # numeric keys of result.json that are not measurements
# text columns of the runs table after the numbers: provenance, device, cost estimate, transfer, note
_TEXT_COLUMNS = ("commit", "git_dirty", "code_diff", "packages", "device", "est_source", "transfer", "note")


@dataclass
class Aggregate:
    """Everything the report reads: the grid's index, the tidy runs table and the curves."""

    grid: dict[str, Any]
    runs: pd.DataFrame  # one row per (variant, seed) of the selected setting
    curves: pd.DataFrame  # long: one row per (variant, seed, epoch)
    variants: list[str]
    axes: list[str]
    profile: str | None
    setting: dict[str, Any]  # overrides shared by the reported runs (preset, BASE, profile, --set)
    problems: list[str] = field(default_factory=list)  # corrupt results, malformed entries (by path)
    excluded: list[str] = field(default_factory=list)  # runs of other settings, superseded entries
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id → its transfer.json


def load_index(grid_name: str, runs_dir: str | Path = "runs") -> GridIndex:
    from ablations.planning.grid_index import read_index

    path = Path(runs_dir) / grid_name / "grid.json"
    try:
        index = read_index(path)  # every field checked (ablations.planning.grid_index): one line naming a bad one
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file (launch the grid first: "
                          f"python ablations/launch.py --grid {grid_name})") from None
    if not index.runs:  # nothing was planned: there is nothing to report (and nothing is written)
        raise ReportError(f"{path}: no runs in it (plan and launch the grid: python ablations/launch.py --grid "
                          f"{index.grid or grid_name})")
    return index


_DEFAULTS: dict[tuple[str, str], Any] = {}


def preset_value(preset: Any, key: str) -> Any:
    """The value of a dotted key in the preset's RunConfig (for axes a variant does not set)."""
    k = (str(preset), key)
    if k not in _DEFAULTS:
        try:
            from vt_core.config import RunConfig
            from vt_core.presets import get_preset

            obj: Any = RunConfig(model=get_preset(str(preset))) if preset else RunConfig()
            for part in key.split("."):
                obj = getattr(obj, part)
            _DEFAULTS[k] = obj
        except Exception:  # an unknown preset or key (an old grid.json): leave the cell empty
            _DEFAULTS[k] = None
    return _DEFAULTS[k]


def aggregate(grid_name: str, runs_dir: str | Path = "runs", *, profile: str | None = None,
              index: dict[str, Any] | None = None, curves: bool = True) -> Aggregate:
    """Read a grid's runs into one tidy DataFrame (and the curves into a long one).

    Only one setting is reported: the runs of one profile with the same shared overrides (a
    relaunch with ``--set`` or another profile makes new run ids beside the old ones). Without
    ``profile`` the setting whose run folders changed last is taken; the others are listed in
    ``excluded``.
    """
    gdir = Path(runs_dir) / grid_name
    index = index if index is not None else load_index(grid_name, runs_dir).data
    problems: list[str] = []
    excluded: list[str] = []
    variants, entries = current_variants(index, valid_entries(index, gdir, problems), excluded)
    axes = axes_of(index, entries)
    chosen, selected = choose_setting(entries, axes, profile, gdir, excluded)
    reads = _read_each_run_once(selected, str(gdir), problems)
    keep = one_run_per_seed(selected, {rid: r[0] for rid, r in reads.items()}, variants, gdir, excluded)
    table = _RunsTable(grid=index.get("grid", grid_name), axes=axes, gdir=gdir)
    curve_recs: list[dict[str, Any]] = []
    curve_ids: list[CurveId] = []
    curve_cache: dict[str, list[dict[str, Any]]] = {}
    transfers: dict[str, dict[str, Any]] = {}
    for e in keep:
        rid = e["run_id"]
        state = reads[rid][0]
        if state != "pending" and rid not in transfers and (e.get("overrides") or {}).get("train.init_from"):
            transfers[rid] = read_transfer(f"{gdir}/{rid}") or {}  # only runs started from weights have one
        table.add(e, reads[rid], transfers.get(rid))
        if curves and state in ("done", "diverged", "running", "interrupted"):
            if rid not in curve_cache:
                curve_cache[rid] = read_curve(f"{gdir}/{rid}/metrics.jsonl")
            if curve_cache[rid]:
                curve_recs.extend(curve_cache[rid])
                curve_ids.append((e["variant"], e["seed"], rid, state, len(curve_cache[rid])))
    return Aggregate(grid=index, runs=table.frame(), curves=curves_frame(curve_recs, curve_ids), variants=variants,
                     axes=axes, profile=None if chosen[0] == "None" else chosen[0], setting=json.loads(chosen[1]),
                     problems=problems, excluded=excluded, transfers={k: t for k, t in transfers.items() if t})


def _read_each_run_once(selected: list[Entry], gdir: str, problems: list[str]) -> dict[str, RunRead]:
    """Each distinct run folder read once: variants with identical configs share a run id."""
    reads: dict[str, RunRead] = {}
    for e in selected:
        rid = e["run_id"]
        if rid not in reads:
            reads[rid] = read_run(f"{gdir}/{rid}")
            if reads[rid][2]:
                problems.append(reads[rid][2])
    return reads


@dataclass
class _RunsTable:
    """The tidy runs table, one row per kept entry; the extra numeric keys of result.json and the
    ``<metric>@<px>`` columns of ``eval_sizes`` become columns in the order they first appear."""

    grid: Any
    axes: list[str]
    gdir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, None] = field(default_factory=dict)  # ordered sets
    evals: dict[str, None] = field(default_factory=dict)

    def add(self, e: Entry, read: RunRead, transfer: dict[str, Any] | None = None) -> None:
        state, result, _ = read
        rid, ov = e["run_id"], e.get("overrides") or {}
        row: dict[str, Any] = {"grid": self.grid, "profile": e.get("profile"), "variant": e["variant"],
                               "seed": e["seed"], "data_seed": e.get("data_seed"), "run_id": rid, "status": state}
        for a in self.axes:
            row[a] = cell(ov[a] if a in ov else preset_value(ov.get("preset"), a))
        note = ""
        if result is not None:
            self._numbers(row, result, measured=state == "done")
            if state == "diverged":
                at = result.diverged_at
                note = f"diverged at {at}" if at is not None else "diverged"
            self._provenance(row, result)
        elif state == "failed":
            note = last_line(self.gdir / rid / "error.txt")
        elif state == "corrupt":
            note = f"corrupt {self.gdir / rid / 'result.json'}"
        row["note"] = note
        estimate = e.get("estimate") if isinstance(e.get("estimate"), dict) else {}
        row["est_device_hours"] = number(estimate.get("device_hours"))
        row["est_source"] = str(estimate["source"]) if estimate.get("source") is not None else None
        row["transfer"] = transfer_summary(transfer)
        self.rows.append(row)

    def _provenance(self, row: dict[str, Any], result: RunResult) -> None:
        """Where and with what code a run ran: the commit, whether the tree was dirty (code.diff beside
        result.json), the package versions, the device, and the device-hours it took."""
        env = result.env
        row["commit"] = env.get("git_commit")
        dirty = env.get("git_dirty")
        row["git_dirty"] = dirty if isinstance(dirty, bool) else None
        row["code_diff"] = (self.gdir / row["run_id"] / "code.diff").is_file() if dirty is True else None
        row["packages"] = packages_text(env)
        row["device"] = env.get("device")
        wall, world = number(result.wall_time_s), number(result.world_size)
        devices = world if device_kind(env.get("device")) == "gpu" and world >= 1 else 1.0  # a CPU run: one device
        row["device_hours"] = wall * devices / 3600.0
    def _numbers(self, row: dict[str, Any], result: RunResult, *, measured: bool) -> None:
        """Metrics and costs; a run that is not done keeps only the model's costs (params, MACs)."""
        for k in METRICS:
            row[k] = number(result.value(k)) if measured else math.nan
        for k in COSTS:
            row[k] = number(result.value(k)) if (measured or k in MODEL_COSTS) else math.nan
        if not measured:
            return
        for k, v in result.extra.items():  # numbers a newer trainer reports: columns after the known ones
            if k in row or k in _SKIPPED_KEYS:
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                row[k] = float(v)
                self.extra.setdefault(k)
        for size, vals in result.eval_sizes.items():
            for mk, mv in vals.items():
                row[f"{mk}@{size}"] = number(mv)
                self.evals.setdefault(f"{mk}@{size}")

    def frame(self) -> pd.DataFrame:
        base_cols = ["grid", "profile", "variant", "seed", "data_seed", "run_id", "status", *self.axes]
        num_cols = [*METRICS, *self.extra, *sorted(self.evals, key=_eval_sort), *COSTS, "device_hours",
                    "est_device_hours"]
        runs = pd.DataFrame.from_records(self.rows, columns=[*base_cols, *num_cols, *_TEXT_COLUMNS])
        for c in num_cols:
            runs[c] = pd.to_numeric(runs[c], errors="coerce").astype(float)
        keep = {"note", *(c for c in base_cols if c != "data_seed")}  # data_seed only where a grid varies it
        runs = runs[[c for c in runs.columns if c in keep or (runs[c].notna() & (runs[c] != "")).any()]]
        runs["status"] = pd.Categorical(runs["status"], categories=list(STATUSES))
        return runs


def _eval_sort(col: str) -> tuple[str, int]:
    m, _, size = col.partition("@")
    return m, int(size) if size.isdigit() else 0
