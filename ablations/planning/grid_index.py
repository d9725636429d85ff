"""``runs/<grid>/grid.json`` read once and checked field by field, and written: the one reader and
writer of the file the launcher writes and the report, ``--status`` and the TensorBoard links read.

A file edited by hand, truncated or crafted is refused as a whole, in one line naming the file and
the field (``runs[3].seed``, ``axes``) and what the field must be, never half-read: the launcher
would otherwise rewrite it without the entries it could not read, and a run id or variant that is a
path would lead the readers out of the grid's folder."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from vt_core.files import JsonFileError, read_json
from vt_core.overrides import ConfigError
from vt_core.run_folder import atomic_write_text

if TYPE_CHECKING:
    from ablations.planning.cost import Estimate
    from ablations.planning.grid import Grid, PlannedRun

INDEX_FILE = "grid.json"
DEFAULT_METRIC = "top1"  # of an index written before grid.json carried its grid's METRIC
# a variant's name as a grid may add it (ablations.planning.grid), and a run id: one plain folder name
_VARIANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-=]*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-=]*$")
_FIX = "fix the field or delete the file (a launch of the grid writes it again; the run folders keep their results)"


class GridIndexError(ConfigError):
    """A grid.json that is not what the launcher writes (exit code 2): one line, file and field."""


@dataclass(frozen=True)
class IndexEntry:
    """One run of the grid: which variant and seed it is, where it lives, what made it."""

    variant: str
    seed: int
    run_id: str
    profile: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    data_seed: int | None = None
    estimate: dict[str, Any] | None = None  # {"device_hours": float, "source": str} made before it first ran

    @property
    def key(self) -> tuple[str, int, str]:
        return self.variant, self.seed, self.run_id


@dataclass(frozen=True)
class GridIndex:
    """A checked grid.json; ``data`` is the file's JSON as read (for readers of further fields)."""

    path: Path
    runs: list[IndexEntry]
    axes: list[str]
    variants: list[str]
    grid: str | None = None
    baseline: str | None = None  # None: the report compares with the first variant
    metric: str = DEFAULT_METRIC  # an index written without one: the grids' default
    description: str | None = None
    paper: dict[str, float] = field(default_factory=dict)
    data_seed_follows_seed: bool | None = None
    analyze: bool = False  # runs are analysed after training (launch.py --analyze; ablations/executors/analysis.py)
    data: dict[str, Any] = field(default_factory=dict)


def read_index(path: Path) -> GridIndex:
    """The checked index at ``path``; GridIndexError for a file that cannot be read or is malformed
    (FileNotFoundError passes through: whether no index is an error is the caller's to say)."""
    try:
        data = read_json(path)
    except JsonFileError as e:
        raise GridIndexError(f"{path}: cannot be read ({e})" if e.unreadable
                             else f"{path}: cannot be read as JSON ({e}); {_FIX}") from None
    return check_index(data, path)


def read_index_if_any(gdir: Path) -> GridIndex | None:
    """``gdir/grid.json`` checked, or None where the grid has none yet."""
    if not (gdir / INDEX_FILE).exists():  # no grid folder yet, or a file where it would be (--runs-dir says so)
        return None
    try:
        return read_index(gdir / INDEX_FILE)
    except FileNotFoundError:  # removed since (a concurrent launch's undo)
        return None


def check_index(data: Any, path: Path) -> GridIndex:
    """``data`` (grid.json's JSON) as a GridIndex, every field checked."""
    if not isinstance(data, dict):
        raise GridIndexError(f"{path}: {_short(data)} is not a JSON object with a 'runs' list; {_FIX}")
    if "runs" not in data:
        raise GridIndexError(f"{path}: runs: missing (a list of run entries); {_FIX}")
    runs = _field(data, "runs", path, lambda v: isinstance(v, list), "a list of run entries")
    text, names = _is_text, _is_names
    return GridIndex(
        path=path,
        runs=[_entry(e, f"runs[{i}]", path) for i, e in enumerate(runs)],
        axes=_field(data, "axes", path, names, "a list of dotted keys", []),
        variants=_field(data, "variants", path, lambda v: names(v) and all(_VARIANT.match(x) for x in v),
                        "a list of variant names (letters, digits, _ . + - =)", []),
        grid=_field(data, "grid", path, text, "a string"),
        baseline=_field(data, "baseline", path, text, "a variant's name"),
        metric=_field(data, "metric", path, text, "a result.json key (a string)", DEFAULT_METRIC),
        description=_field(data, "description", path, text, "a string"),
        paper=_field(data, "paper", path, _numbers_by_name, "an object of variant → finite number", {}),
        data_seed_follows_seed=_field(data, "data_seed_follows_seed", path, lambda v: isinstance(v, bool),
                                      "true or false"),
        analyze=_field(data, "analyze", path, lambda v: isinstance(v, bool), "true or false", False),
        data=data,
    )


def _entry(e: Any, where: str, path: Path) -> IndexEntry:
    if not isinstance(e, dict):
        raise GridIndexError(f"{path}: {where}: {_short(e)} is not a run entry (an object with variant, seed and "
                             f"run_id); {_FIX}")
    for key in ("variant", "seed", "run_id"):
        if e.get(key) is None:
            raise GridIndexError(f"{path}: {where}.{key}: missing; {_FIX}")
    seed_ok, w = _is_seed, f"{where}."
    return IndexEntry(
        variant=_field(e, "variant", path, lambda v: isinstance(v, str) and bool(_VARIANT.match(v)),
                       "a variant name (letters, digits, _ . + - =)", prefix=w),
        seed=_field(e, "seed", path, seed_ok, "a whole number ≥ 0", prefix=w),
        run_id=_field(e, "run_id", path, lambda v: isinstance(v, str) and bool(_RUN_ID.match(v)) and ".." not in v,
                      "a run folder's name (letters, digits, _ . + - =, no '..')", prefix=w),
        profile=_field(e, "profile", path, lambda v: isinstance(v, str), "a profile name", prefix=w),
        overrides=_field(e, "overrides", path, lambda v: isinstance(v, dict), "an object of dotted key → value", {},
                         prefix=w),
        data_seed=_field(e, "data_seed", path, seed_ok, "a whole number ≥ 0", prefix=w),
        estimate=_field(e, "estimate", path, _estimate_ok, "an object with device_hours (a number ≥ 0) and source",
                        prefix=w),
    )


def _field(data: dict[str, Any], key: str, path: Path, ok: Callable[[Any], bool], what: str, default: Any = None,
           prefix: str = "") -> Any:
    """``data[key]`` if ``ok`` says so; absent (or null): ``default``; else one line naming it."""
    value = data.get(key)
    if value is None:
        return default
    if not ok(value):
        raise GridIndexError(f"{path}: {prefix}{key}: {_short(value)} is not {what}; {_FIX}")
    return value


def _is_text(v: Any) -> bool:
    return isinstance(v, str)


def _is_names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_seed(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _numbers_by_name(v: Any) -> bool:
    return isinstance(v, dict) and all(_finite(x) for x in v.values())


def _estimate_ok(v: Any) -> bool:
    if not isinstance(v, dict) or not isinstance(v.get("source"), str):
        return False
    hours = v.get("device_hours")
    return _finite(hours) and hours >= 0


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def write_index(gdir: Path, grid: Grid, profile: str, runs: list[PlannedRun],
                estimates: dict[str, Estimate] | None = None, analyze: bool = False) -> None:
    """``runs/<grid>/grid.json``: which variant and seed (and data seed, where the grid crosses them)
    every run id is, and its cost estimate, for the report and --status; whether runs are analysed
    after training (``analyze``: a Slurm task reads it)."""
    path = gdir / INDEX_FILE
    old = read_index_if_any(gdir)  # checked at planning too; read again here for a concurrent launch's entries
    entries = {(e["variant"], e["seed"], e["run_id"]): e for e in (old.data["runs"] if old else [])}
    for r in runs:
        entry: dict[str, Any] = {"variant": r.variant, "seed": r.seed, "run_id": r.run_id, "profile": profile,
                                 "overrides": r.overrides}
        if r.data_seed is not None:
            entry["data_seed"] = r.data_seed
        before = entries.get((r.variant, r.seed, r.run_id), {}).get("estimate")
        if before is not None:  # the estimate made before the run first trained, not one from its own result
            entry["estimate"] = before
        elif estimates and r.run_id in estimates:
            entry["estimate"] = estimates[r.run_id].as_json()
        entries[(r.variant, r.seed, r.run_id)] = entry
    index = {
        "grid": grid.name, "description": grid.description, "baseline": grid.baseline, "metric": grid.metric,
        "axes": grid.axes(), "paper": grid.paper, "variants": [v.name for v in grid.variants],
        # seed k sets data.seed = k too unless a run carries its own data_seed: the report says which
        "data_seed_follows_seed": all(r.data_seed is None for r in runs),
        "analyze": analyze,
        "runs": sorted(entries.values(), key=lambda e: (e["variant"], e["seed"], e["run_id"])),
    }
    atomic_write_text(path, json.dumps(index, indent=1) + "\n")
