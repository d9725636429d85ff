"""A launch's plan: the grid's runs, their states, what would train and where, and what it costs
(each run's estimate, the total, the budget). Built by ``launch.make_plan``; nothing here writes."""

from __future__ import annotations

import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ablations.planning.cost import CostModel, Estimate, Target, hours_text, target_of
from ablations.planning.grid import Grid, PlannedRun
from ablations.planning.model_sizes import SizeCache
from vt_core.overrides import ConfigError
from vt_core.run_folder import read_result


class BudgetError(ConfigError):
    """The runs to train need more device-hours than --budget allows (exit code 2)."""


@dataclass
class Plan:
    """A grid expanded for one launch: its runs, their states, what would train, and where."""

    grid: Grid
    profile: str
    runs: list[PlannedRun]
    state: dict[str, str]
    todo: list[PlannedRun]
    executor: str
    cluster: Any
    runs_dir: Path
    gdir: Path
    missing_data: list[str] = field(default_factory=list)
    estimates: dict[str, Estimate] = field(default_factory=dict)
    costs: dict[str, dict[str, float]] = field(default_factory=dict)  # run id → params and MACs
    target: Target | None = None
    built: dict[str, Any] = field(default_factory=dict)  # the distinct models, built on meta while checking
    limits: Any = None  # the Slurm cluster's limits (ablations.executors.slurm.cluster), read once at planning
    sizes: SizeCache | None = None  # params and MACs of models counted before (<runs>/.model_sizes.json)
    analyze: bool = False  # analyse each run after training (launch.py --analyze; recorded in grid.json)


def estimate_costs(plan: Plan, *, calibrate: bool, force: bool, jobs: int = 0) -> CostModel:
    """Each run's estimate and model size into the plan; every distinct model measured once."""
    plan.target = target_of(plan.executor, plan.cluster, jobs)
    model = CostModel(plan.target, plan.runs_dir, calibrate=calibrate, force=force, built=plan.built,
                      sizes=plan.sizes)
    for r in plan.runs:  # finished runs of this grid first: the best source for their model config
        if plan.state[r.run_id] == "done":
            result = read_result(plan.gdir / r.run_id)
            if result is not None:
                model.add_finished(r.cfg, result, plan.gdir / r.run_id / "result.json")
    model.prepare([r.cfg for r in plan.runs])  # what needs calibrating, measured together (side by side)
    for r in plan.runs:
        if r.run_id not in plan.estimates:
            plan.estimates[r.run_id] = model.estimate(r.cfg)
            plan.costs[r.run_id] = model.costs(r.cfg)
    for message in model.warnings:  # never trusted, never a traceback: said once, on stderr
        print(f"warning: {message}", file=sys.stderr)
    return model


def total_hours(plan: Plan) -> float:
    return sum(plan.estimates[rid].device_hours for rid in {r.run_id for r in plan.todo})


def print_cost(plan: Plan) -> None:
    """The total over the runs that would train, on the executor's devices."""
    sources = Counter(plan.estimates[r.run_id].source for r in {r.run_id: r for r in plan.todo}.values())
    by = ", ".join(f"{s} ×{n}" for s, n in sources.items()) or "nothing to train"
    assert plan.target is not None
    print(f"cost: {hours_text(total_hours(plan))} device-hours for {sum(sources.values())} run(s) to train on "
          f"{plan.executor} ({plan.target.label()} per run; estimates from {by})")


def check_budget(plan: Plan, budget: float | None) -> None:
    error = budget_error(plan, budget)
    if error is not None:
        raise error


def budget_error(plan: Plan, budget: float | None) -> BudgetError | None:
    """The refusal a plan over ``budget`` gets (None within it); a budget that is not a positive
    number raises at once. Returned, not raised, so that a dry run can print its plan first."""
    if budget is None:
        return None
    if not math.isfinite(budget) or budget <= 0:
        raise BudgetError(f"--budget: {budget} must be a positive number of device-hours")
    total = total_hours(plan)
    if not math.isfinite(total):  # an estimate nobody can check against a budget is no estimate
        return BudgetError("--budget: the runs to train have no finite cost estimate; nothing submitted "
                           "(rerun with --calibrate)")
    if total > budget:
        return BudgetError(f"--budget: the runs to train need an estimated {hours_text(total)} device-hours, more "
                           f"than the budget of {budget:g}; nothing submitted (--only, --seeds or a smaller profile)")
    return None


def cost_row(plan: Plan, r: PlannedRun) -> dict[str, Any]:
    est = plan.estimates[r.run_id]
    seed = r.seed if r.data_seed is None else f"{r.seed}/{r.data_seed}"
    return {"variant": r.variant, "seed": seed, "run_id": r.run_id, "device_h": hours_text(est.device_hours),
            "source": est.source}
