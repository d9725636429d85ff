"""Grids: load a grid module, validate it, and expand it into runs with stable ids.

A grid is a Python module (shipped in ``ablations/grids/`` or a user's file) with::

    DESCRIPTION = "one paragraph for the report"
    BASE = {"preset": "vit_cpu", "model.pool": "mean"}     # a preset plus dotted overrides
    BASELINE = "abs"                                       # the variant the report compares against
    METRIC = "top1"                                        # a key of result.json
    SEEDS = (0, 1, 2)                                      # seed k sets train.seed and data.seed
    # or SEEDS = {"init": (0, 1, 2), "data": (0, 1)}: init and data seeds crossed (3 × 2 runs a variant)
    PROFILES = {"cpu": {...}, "cifar": {...}, "imagenet": {...}}   # scale settings, dotted overrides
    PAPER = {"abs": 80.5}                                  # optional: published numbers per variant

    def sweep(add):
        for pos in ("none", "abs", "rel", "abs+rel"):
            add(name=pos, **{"model.pos": pos})

``sweep(add, profile)`` (two parameters) receives the profile's name, for settings coupled to the
scale (per-stage values for a 2-stage CPU model and a 4-stage paper model).

Overrides apply in this order: the preset, BASE, the profile, the variant, ``--set``, the seed.
Paths (``data.root``, ``train.init_from`` when it names a file or folder) are made absolute against
the working directory once, here, so the trainers (which run in the repository) read the same files.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ablations.planning.grid_rules import (
    COUNT_UP_TO,
    MAX_VARIANTS,
    GridError,
    check_module_fields,
    check_run_count,
    grid_seeds,
    parse_seeds,
    refuse_seed_overrides,
    too_many_variants,
)
from vt_core.config import RunConfig
from vt_core.overrides import ConfigError
from vt_core.presets import get_preset

__all__ = ["Grid", "GridError", "PlannedRun", "Variant", "check_buildable", "expand", "load_grid", "parse_seeds"]

GRIDS_DIR = Path(__file__).resolve().parents[1] / "grids"
REQUIRED = ("DESCRIPTION", "BASE", "BASELINE", "METRIC", "SEEDS", "PROFILES", "sweep")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-=]*$")
_GRID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-]*$")  # a folder name under the runs folder


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class PlannedRun:
    grid: str
    variant: str
    seed: int
    run_id: str
    cfg: RunConfig
    overrides: dict[str, Any]  # everything applied on top of the preset, in order
    data_seed: int | None = None  # set where the grid crosses data seeds with init seeds; None: data.seed = seed


@dataclass
class Grid:
    name: str
    path: Path
    description: str
    base: dict[str, Any]
    baseline: str
    metric: str
    seeds: tuple[int, ...]  # init seeds (train.seed); data.seed follows each unless data_seeds is set
    profiles: dict[str, dict[str, Any]]
    variants: list[Variant]
    paper: dict[str, float] = field(default_factory=dict)
    data_seeds: tuple[int, ...] | None = None  # crossed with seeds: one run per (init, data) pair

    def axes(self) -> list[str]:
        """The dotted keys that vary between variants (the report's columns)."""
        keys: list[str] = []
        for v in self.variants:
            for k in v.overrides:
                if k not in keys:
                    keys.append(k)
        return keys


def available_grids() -> list[str]:
    return sorted(p.stem for p in GRIDS_DIR.glob("*.py") if not p.stem.startswith("_"))


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"ablations_grid_{name}", path)
    if spec is None or spec.loader is None:
        raise GridError(f"grid {name}: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a user's module with a bug: say where, in one line
        raise GridError(f"grid {name}: importing {path} failed: {type(e).__name__}: {e}") from None
    return module


def _locate(name_or_path: str) -> tuple[Path, str]:
    """(module path, grid name). The name becomes the folder ``<runs>/<name>``: a name with a path
    separator or ``..`` that is not an existing .py file, and a file whose stem is not a plain
    folder name, are refused (they would write outside the runs folder)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".py" and candidate.is_file():
        if not _GRID_NAME.match(candidate.stem) or ".." in candidate.stem:
            raise GridError(f"grid {name_or_path}: the file's stem {candidate.stem!r} is not a usable grid name "
                            "(letters, digits, _ . + -, no '..'): rename the file")
        return candidate.resolve(), candidate.stem
    if candidate.suffix == ".py" or candidate.exists():
        raise GridError(f"grid {name_or_path}: no such .py file")
    if not _GRID_NAME.match(name_or_path) or ".." in name_or_path:
        raise GridError(f"--grid: {name_or_path!r} is neither a shipped grid name nor an existing .py file "
                        "(a path needs its .py)")
    path = GRIDS_DIR / f"{name_or_path}.py"
    if not path.is_file():
        shipped = ", ".join(available_grids())
        raise GridError(f"unknown grid {name_or_path!r}; shipped grids: {shipped} (or give a path to a .py)")
    return path, name_or_path


def load_grid(name_or_path: str, profile: str | None = None) -> Grid:
    """A shipped grid by name, or a user's grid module by path; variants as ``profile`` expands them
    (default: ``cpu`` when the grid has it, else its first profile)."""
    path, name = _locate(name_or_path)
    module = _import(path, name)
    missing = [k for k in REQUIRED if not hasattr(module, k)]
    if missing:
        raise GridError(f"grid {name}: {path} lacks {', '.join(missing)}")
    variants: list[Variant] = []
    names: set[str] = set()  # the duplicate check in constant time: a sweep of thousands stays linear
    added = [0]

    def add(*, name: str, **overrides: Any) -> None:
        added[0] += 1
        if added[0] > MAX_VARIANTS:  # only counted from here: the grid is refused once sweep() returns
            if added[0] >= COUNT_UP_TO:
                raise too_many_variants(module_name, added[0], "at least ")
            return
        if not isinstance(name, str) or not _NAME.match(name):
            raise GridError(f"grid {module_name}: variant name {name!r} must be a short word "
                            "(letters, digits, _ . + - =)")
        if name in names:
            raise GridError(f"grid {module_name}: variant {name!r} is added twice")
        names.add(name)
        variants.append(Variant(name, dict(overrides)))

    module_name = name
    check_module_fields(module, name)
    init_seeds, data_seeds = grid_seeds(module.SEEDS, name)
    profiles = {k: dict(v) for k, v in module.PROFILES.items()}
    if not profiles:
        raise GridError(f"grid {name}: PROFILES is empty")
    profile = profile or ("cpu" if "cpu" in profiles else next(iter(profiles)))
    if profile not in profiles:
        raise GridError(f"grid {name}: unknown profile {profile!r}; profiles: {', '.join(profiles)}")
    _call_sweep(module.sweep, add, profile, name)
    if added[0] > MAX_VARIANTS:
        raise too_many_variants(name, added[0])
    if not variants:
        raise GridError(f"grid {name}: sweep() added no variants")
    grid = Grid(
        name=name, path=path, description=str(module.DESCRIPTION).strip(), base=dict(module.BASE),
        baseline=module.BASELINE, metric=module.METRIC, seeds=init_seeds, data_seeds=data_seeds,
        profiles=profiles, variants=variants,
        paper=dict(getattr(module, "PAPER", {})),
    )
    if grid.baseline not in [v.name for v in variants]:
        names = ", ".join(v.name for v in variants)
        raise GridError(f"grid {name}: BASELINE {grid.baseline!r} is not a variant ({names})")
    if "preset" not in grid.base:
        raise GridError(f"grid {name}: BASE needs a 'preset'")
    return grid


def _call_sweep(sweep: Callable[..., None], add: Callable[..., None], profile: str, name: str) -> None:
    """``sweep(add[, profile])``; a bug in it (or add called wrongly) is one line naming the grid."""
    import inspect

    try:
        two = len(inspect.signature(sweep).parameters) >= 2
        sweep(add, profile) if two else sweep(add)
    except GridError:
        raise
    except Exception as e:
        raise GridError(f"grid {name}: sweep() failed: {type(e).__name__}: {e} (variants are added as "
                        "add(name='...', **{'dotted.key': value}))") from None


def _apply(cfg: RunConfig, overrides: dict[str, Any], where: str) -> RunConfig:
    try:
        return cfg.replace(overrides)
    except ConfigError as e:
        raise GridError(f"{where}: {e}") from None


def expand(
    grid: Grid,
    profile: str = "cpu",
    *,
    seeds: tuple[int, ...] | None = None,
    data_seeds: tuple[int, ...] | None = None,
    sets: dict[str, Any] | None = None,
    only: list[str] | None = None,
    missing_data: list[str] | None = None,
) -> list[PlannedRun]:
    """Every (variant, seed[, data seed]) of the grid as a resolved RunConfig with its run id.

    Seed k sets ``train.seed`` and ``data.seed`` (one independent replicate); with data seeds (the
    grid's ``SEEDS["data"]`` or ``data_seeds``) every init seed is crossed with every data seed.
    ``missing_data``: a list to collect a missing ``data.root`` in (one message per path) instead of
    refusing, for plans made away from the data."""
    if profile not in grid.profiles:
        raise GridError(f"grid {grid.name}: unknown profile {profile!r}; profiles: {', '.join(grid.profiles)}")
    refuse_seed_overrides(dict(sets or {}), "--set")
    preset, shared, root = _root_config(grid, profile)
    inits = seeds if seeds is not None else grid.seeds
    datas = data_seeds if data_seeds is not None else grid.data_seeds
    selected = _selected(grid, only)
    check_run_count(grid.name, len(selected), len(inits), len(datas) if datas is not None else None)
    runs = []
    for v in selected:
        where = f"grid {grid.name}, variant {v.name}"
        refuse_seed_overrides(v.overrides, where)
        cfg = _absolute_paths(_apply(_apply(root, v.overrides, where), dict(sets or {}), f"{where}, --set"))
        cfg = _resolve(cfg, where, missing_data)  # once a variant: what resolve checks does not depend on seeds
        for seed in inits:
            for data_seed in (datas if datas is not None else (None,)):
                pair = {"train.seed": seed, "data.seed": seed if data_seed is None else data_seed}
                seeded = _seeded(cfg, pair, where)
                # a replicate's data.seed follows its seed: recorded as the seed alone (the report's key)
                recorded = pair if data_seed is not None else {"train.seed": seed}
                overrides = {"preset": preset, **shared, **v.overrides, **(sets or {}), **recorded}
                runs.append(PlannedRun(grid.name, v.name, seed, seeded.run_id(), seeded, overrides, data_seed))
    return runs


def _seeded(cfg: RunConfig, pair: dict[str, int], where: str) -> RunConfig:
    """The two seeds set directly (dataclasses.replace still validates them): cheaper than dotted
    overrides, which matters for grids of thousands of runs."""
    import dataclasses

    try:
        return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seed=pair["train.seed"]),
                                   data=dataclasses.replace(cfg.data, seed=pair["data.seed"]))
    except ConfigError as e:
        raise GridError(f"{where}: {e}") from None


def _root_config(grid: Grid, profile: str) -> tuple[str, dict[str, Any], RunConfig]:
    """(preset, BASE and profile overrides, the config they make) shared by every variant."""
    prof = dict(grid.profiles[profile])
    base = dict(grid.base)
    preset = prof.pop("preset", base.pop("preset"))
    base.pop("preset", None)
    try:
        root = RunConfig(model=get_preset(preset))
    except ConfigError as e:
        raise GridError(f"grid {grid.name}: {e}") from None
    for overrides, where in ((base, f"grid {grid.name}: BASE"), (prof, f"grid {grid.name}: profile {profile}")):
        refuse_seed_overrides(overrides, where)
        root = _apply(root, overrides, where)
    return preset, {**base, **prof}, root


def _selected(grid: Grid, only: list[str] | None) -> list[Variant]:
    if not only:
        return grid.variants
    unknown = [o for o in only if not any(_match(o, v.name) for v in grid.variants)]
    if unknown:
        names = ", ".join(v.name for v in grid.variants)
        raise GridError(f"grid {grid.name}: --only {', '.join(unknown)} matches no variant ({names})")
    return [v for v in grid.variants if any(_match(o, v.name) for o in only)]


def _absolute_paths(cfg: RunConfig) -> RunConfig:
    """data.root and a file or folder train.init_from as absolute paths (against the working
    directory, where the user typed them): the trainers run elsewhere."""
    changes: dict[str, Any] = {}
    if cfg.data.root and not os.path.isabs(os.path.expanduser(cfg.data.root)):
        changes["data.root"] = os.path.abspath(os.path.expanduser(cfg.data.root))
    init = cfg.train.init_from
    if init and ":" not in init.split(os.sep)[0] and os.path.exists(os.path.expanduser(init)):
        if not os.path.isabs(os.path.expanduser(init)):
            changes["train.init_from"] = os.path.abspath(os.path.expanduser(init))
    return cfg.replace(changes) if changes else cfg


def _resolve(cfg: RunConfig, where: str, missing_data: list[str] | None) -> RunConfig:
    from vt_core.resolve import resolve

    try:
        return resolve(cfg)
    except ConfigError as e:
        root = cfg.data.root
        if missing_data is None or not root or os.path.exists(root) or not str(e).startswith("data.root"):
            raise GridError(f"{where}: {e}") from None
    message = f"data.root: {root} does not exist (planned without it; a real launch refuses)"
    if message not in missing_data:
        missing_data.append(message)
    if cfg.train.init_from:  # the weights are still checked against the model
        from vt_core.weights.sources import check

        try:
            check(cfg.train.init_from, cfg.model)
        except ConfigError as e:
            raise GridError(f"{where}: {e}") from None
    return cfg


def _match(pattern: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def check_buildable(runs: list[PlannedRun], known: Callable[[RunConfig], bool] = lambda cfg: False
                    ) -> dict[str, Any]:
    """Build every distinct model on the meta device: a variant that cannot be built stops the plan.
    Models ``known`` to have been built before (their sizes are cached) are skipped, so a grid
    planned again imports no torch. Returns the meta models by ``repr(model config)``, for
    counting their cost without a rebuild."""
    pending = [run for run in runs if not known(run.cfg)]
    if not pending:
        return {}
    import torch

    from vt_core.model import VisionTransformer

    built: dict[str, Any] = {}
    for run in pending:
        key = repr(run.cfg.model)
        if key in built:
            continue
        try:
            with torch.device("meta"):
                built[key] = VisionTransformer(run.cfg.model)
        except Exception as e:
            raise GridError(f"grid {run.grid}, variant {run.variant}: the model cannot be built: "
                            f"{type(e).__name__}: {e}") from None
    return built


if __name__ == "__main__":  # python ablations/planning/grid.py NAME: print the expansion
    for r in expand(load_grid(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "cpu"):
        print(r.variant, r.seed, r.run_id)
