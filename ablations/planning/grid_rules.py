"""What a grid may hold, checked where it is loaded and expanded (``ablations/planning/grid.py``): its
error type, its seeds (which only SEEDS, --seeds and --data-seeds set) and its size (a ceiling on
variants and runs, refused with the count before anything is expanded)."""

from __future__ import annotations

import math
from typing import Any

from vt_core.overrides import ConfigError

SEED_LIMIT = 2**63
# The largest grid the launcher plans (docs/grids.md): a grid beyond is refused at once with its
# count. Planning costs about a millisecond a run on a 2-core machine (configs resolved and hashed,
# states read, costs estimated), so 20,000 runs take some 30 s to plan; that is 20 arrays at Slurm's
# default MaxArraySize (1001), beyond what a queue takes at once. Split a larger sweep into grids.
MAX_VARIANTS = 10_000
MAX_RUNS = 20_000
COUNT_UP_TO = 100 * MAX_VARIANTS  # a sweep past the ceiling is only counted, up to here, then stopped


class GridError(ConfigError):
    """A grid that cannot be loaded or expanded; one line naming the grid, the variant, the key."""


def check_seed_values(seeds: Any, where: str) -> tuple[int, ...]:
    """A non-empty tuple of distinct integers in [0, 2**63); a GridError naming ``where`` otherwise."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise GridError(f"{where}: {seeds!r} is not a list of integer seeds")
    out = tuple(seeds)
    if not out:
        raise GridError(f"{where}: no seeds")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < SEED_LIMIT:
            raise GridError(f"{where}: seed {s!r} must be an integer in [0, 2**63)")
    if len(set(out)) != len(out):
        raise GridError(f"{where}: {list(out)} repeats a seed")
    return out


def parse_seeds(text: str, flag: str) -> tuple[int, ...]:
    """``--seeds 0,1,2`` → (0, 1, 2); empty items, non-integers, negative or huge seeds are refused."""
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise GridError(f"{flag}: {text!r} has an empty item; give comma-separated integers, e.g. {flag} 0,1,2")
    try:
        seeds = [int(t) for t in items]
    except ValueError:
        raise GridError(f"{flag}: {text!r} is not a comma-separated list of integers") from None
    return check_seed_values(seeds, flag)


def grid_seeds(value: Any, name: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """SEEDS as (init seeds, data seeds or None): a tuple, or {"init": (...), "data": (...)} to cross them."""
    if isinstance(value, dict):
        unknown = set(value) - {"init", "data"}
        if unknown or "init" not in value or "data" not in value:
            raise GridError(f"grid {name}: SEEDS as a dict needs exactly the keys 'init' and 'data' "
                            f"(got {sorted(value)})")
        return (check_seed_values(value["init"], f"grid {name}: SEEDS['init']"),
                check_seed_values(value["data"], f"grid {name}: SEEDS['data']"))
    return check_seed_values(value, f"grid {name}: SEEDS"), None


# The seeds are the grid's axis of replicates: each run's train.seed and data.seed are set from SEEDS,
# --seeds and --data-seeds (they make the run ids). An override of either would be overwritten
# unseen, so it is refused, naming where it came from and the flag that does what it meant.
_SEED_FLAGS = {"train.seed": "--seeds (the grid's SEEDS)", "data.seed": "--data-seeds (the grid's SEEDS['data'])"}


def refuse_seed_overrides(overrides: dict[str, Any], where: str) -> None:
    """A GridError when ``overrides`` sets train.seed or data.seed (dotted, or inside a section mapping)."""
    for key, value in overrides.items():
        keys = [f"{key}.{k}" for k in value] if key in ("train", "data") and isinstance(value, dict) else [key]
        for dotted in keys:
            if dotted in _SEED_FLAGS:
                raise GridError(f"{where}: {dotted} cannot be overridden, every run's seed comes from "
                                f"{_SEED_FLAGS[dotted]}; remove it and give the seeds there")


def too_many_variants(name: str, count: int, at_least: str = "") -> GridError:
    return GridError(f"grid {name}: sweep() adds {at_least}{count:,} variants, more than the {MAX_VARIANTS:,} a "
                     "grid may have (ablations.planning.grid_rules.MAX_VARIANTS, docs/grids.md); split the sweep into "
                     "several grids")


def check_run_count(grid_name: str, n_variants: int, n_inits: int, n_datas: int | None) -> None:
    """Refuse, before expanding anything, a plan of more than MAX_RUNS runs, with its count."""
    total = n_variants * n_inits * (n_datas or 1)
    if total > MAX_RUNS:
        seeds = f"{n_inits:,} seeds" + (f" × {n_datas:,} data seeds" if n_datas else "")
        raise GridError(f"grid {grid_name}: {n_variants:,} variants × {seeds} = {total:,} runs, more than the "
                        f"{MAX_RUNS:,} a launch plans (ablations.planning.grid_rules.MAX_RUNS, docs/grids.md); select "
                        "fewer with --only or --seeds, or split the grid")


def check_module_fields(module: Any, name: str) -> None:
    """The grid module's constants have the types the launcher and grid.json need (SEEDS: grid_seeds):
    a wrong one is one line naming the grid and the constant, before anything is expanded or written
    (a METRIC of 5 or a PAPER number NaN would otherwise reach grid.json and stop every later command)."""
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            value = repr(getattr(module, key, None))
            raise GridError(f"grid {name}: {key} = {value[:60]} must be {what}")

    need(isinstance(module.DESCRIPTION, str), "DESCRIPTION", "a string")
    need(_keyed(module.BASE), "BASE", "a dict of dotted key → value (with a 'preset')")
    need(isinstance(module.BASELINE, str), "BASELINE", "the name of a variant")
    need(isinstance(module.METRIC, str) and bool(module.METRIC), "METRIC", "a result.json key, e.g. 'top1'")
    profiles = module.PROFILES
    need(isinstance(profiles, dict) and all(isinstance(k, str) for k in profiles), "PROFILES",
         "a dict of profile name → dict of dotted key → value")
    for key, value in profiles.items():
        if not _keyed(value):
            raise GridError(f"grid {name}: PROFILES[{key!r}] = {repr(value)[:60]} must be a dict of dotted key → value")
    paper = getattr(module, "PAPER", {})
    need(isinstance(paper, dict) and all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                                         and math.isfinite(v) for k, v in paper.items()),
         "PAPER", "a dict of variant name → finite number")
    need(callable(module.sweep), "sweep", "a function sweep(add) or sweep(add, profile)")


def _keyed(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)
