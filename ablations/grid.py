"""Grids: load a grid module, validate it, and expand it into runs with stable ids.

A grid is a Python module (shipped in ``ablations/grids/`` or a user's file) with::

    DESCRIPTION = "one paragraph for the report"
    BASE = {"preset": "vit_cpu", "model.pool": "mean"}     # a preset plus dotted overrides
    BASELINE = "abs"                                       # the variant the report compares against
    METRIC = "top1"                                        # a key of result.json
    SEEDS = (0, 1, 2)
    PROFILES = {"cpu": {...}, "cifar": {...}, "imagenet": {...}}   # scale settings, dotted overrides
    PAPER = {"abs": 80.5}                                  # optional: published numbers per variant

    def sweep(add):
        for pos in ("none", "abs", "rel", "abs+rel"):
            add(name=pos, **{"model.pos": pos})

``sweep(add, profile)`` (two parameters) receives the profile's name, for settings coupled to the
scale (per-stage values for a 2-stage CPU model and a 4-stage paper model).

Overrides apply in this order: the preset, BASE, the profile, the variant, ``--set``, the seed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from vt_core.config import RunConfig
from vt_core.overrides import ConfigError
from vt_core.presets import get_preset

GRIDS_DIR = Path(__file__).resolve().parent / "grids"
REQUIRED = ("DESCRIPTION", "BASE", "BASELINE", "METRIC", "SEEDS", "PROFILES", "sweep")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-=]*$")


class GridError(ConfigError):
    """A grid that cannot be loaded or expanded; one line naming the grid, the variant, the key."""


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


@dataclass
class Grid:
    name: str
    path: Path
    description: str
    base: dict[str, Any]
    baseline: str
    metric: str
    seeds: tuple[int, ...]
    profiles: dict[str, dict[str, Any]]
    variants: list[Variant]
    paper: dict[str, float] = field(default_factory=dict)

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


def load_grid(name_or_path: str, profile: str | None = None) -> Grid:
    """A shipped grid by name, or a user's grid module by path; variants as ``profile`` expands them
    (default: ``cpu`` when the grid has it, else its first profile)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".py" or candidate.exists():
        if not candidate.is_file():
            raise GridError(f"grid {name_or_path}: no such file")
        path, name = candidate.resolve(), candidate.stem
    else:
        path, name = GRIDS_DIR / f"{name_or_path}.py", name_or_path
        if not path.is_file():
            shipped = ", ".join(available_grids())
            raise GridError(f"unknown grid {name_or_path!r}; shipped grids: {shipped} (or give a path to a .py)")
    module = _import(path, name)
    missing = [k for k in REQUIRED if not hasattr(module, k)]
    if missing:
        raise GridError(f"grid {name}: {path} lacks {', '.join(missing)}")
    variants: list[Variant] = []

    def add(*, name: str, **overrides: Any) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise GridError(f"grid {module_name}: variant name {name!r} must be a short word "
                            "(letters, digits, _ . + - =)")
        if any(v.name == name for v in variants):
            raise GridError(f"grid {module_name}: variant {name!r} is added twice")
        variants.append(Variant(name, dict(overrides)))

    module_name = name
    profiles = {k: dict(v) for k, v in module.PROFILES.items()}
    if not profiles:
        raise GridError(f"grid {name}: PROFILES is empty")
    profile = profile or ("cpu" if "cpu" in profiles else next(iter(profiles)))
    if profile not in profiles:
        raise GridError(f"grid {name}: unknown profile {profile!r}; profiles: {', '.join(profiles)}")
    sweep: Callable[..., None] = module.sweep
    import inspect

    if len(inspect.signature(sweep).parameters) >= 2:
        sweep(add, profile)
    else:
        sweep(add)
    if not variants:
        raise GridError(f"grid {name}: sweep() added no variants")
    grid = Grid(
        name=name, path=path, description=str(module.DESCRIPTION).strip(), base=dict(module.BASE),
        baseline=module.BASELINE, metric=module.METRIC, seeds=tuple(int(s) for s in module.SEEDS),
        profiles=profiles, variants=variants,
        paper=dict(getattr(module, "PAPER", {})),
    )
    if grid.baseline not in [v.name for v in variants]:
        names = ", ".join(v.name for v in variants)
        raise GridError(f"grid {name}: BASELINE {grid.baseline!r} is not a variant ({names})")
    if not grid.seeds:
        raise GridError(f"grid {name}: SEEDS is empty")
    if "preset" not in grid.base:
        raise GridError(f"grid {name}: BASE needs a 'preset'")
    return grid


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
    sets: dict[str, Any] | None = None,
    only: list[str] | None = None,
) -> list[PlannedRun]:
    """Every (variant, seed) of the grid as a resolved RunConfig with its run id."""
    from vt_core.resolve import resolve

    if profile not in grid.profiles:
        raise GridError(f"grid {grid.name}: unknown profile {profile!r}; profiles: {', '.join(grid.profiles)}")
    prof = dict(grid.profiles[profile])
    base = dict(grid.base)
    preset = prof.pop("preset", base.pop("preset"))
    base.pop("preset", None)
    try:
        root = RunConfig(model=get_preset(preset))
    except ConfigError as e:
        raise GridError(f"grid {grid.name}: {e}") from None
    root = _apply(root, base, f"grid {grid.name}: BASE")
    root = _apply(root, prof, f"grid {grid.name}: profile {profile}")
    variants = grid.variants
    if only:
        unknown = [o for o in only if not any(_match(o, v.name) for v in variants)]
        if unknown:
            names = ", ".join(v.name for v in variants)
            raise GridError(f"grid {grid.name}: --only {', '.join(unknown)} matches no variant ({names})")
        variants = [v for v in variants if any(_match(o, v.name) for o in only)]
    runs = []
    for v in variants:
        where = f"grid {grid.name}, variant {v.name}"
        cfg = _apply(root, v.overrides, where)
        cfg = _apply(cfg, dict(sets or {}), f"{where}, --set")
        for seed in seeds if seeds is not None else grid.seeds:
            seeded = _apply(cfg, {"train.seed": seed}, where)
            try:
                seeded = resolve(seeded)
            except ConfigError as e:
                raise GridError(f"{where}: {e}") from None
            overrides = {**base, **prof, **v.overrides, **(sets or {}), "train.seed": seed}
            runs.append(PlannedRun(grid.name, v.name, seed, seeded.run_id(), seeded, {"preset": preset, **overrides}))
    return runs


def _match(pattern: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def check_buildable(runs: list[PlannedRun]) -> None:
    """Build every distinct model on the meta device: a variant that cannot be built stops the plan."""
    import torch

    from vt_core.model import VisionTransformer

    seen: set[str] = set()
    for run in runs:
        key = repr(run.cfg.model)
        if key in seen:
            continue
        seen.add(key)
        try:
            with torch.device("meta"):
                VisionTransformer(run.cfg.model)
        except Exception as e:
            raise GridError(f"grid {run.grid}, variant {run.variant}: the model cannot be built: "
                            f"{type(e).__name__}: {e}") from None


if __name__ == "__main__":  # python ablations/grid.py NAME: print the expansion
    for r in expand(load_grid(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "cpu"):
        print(r.variant, r.seed, r.run_id)
