"""What the launcher prints: the plan of a dry run (a row per run with its estimate and what will
happen to it), the one-line summary of a launch, and ``--status`` (a row per run with its folder's and
Slurm's state, and how far a running run is)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ablations.planning.grid import Grid, PlannedRun
from ablations.planning.plan import Plan, cost_row, print_cost
from vt_core.run_folder import RunState, last_line, run_state


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


# what a run that will not train now is, in the launch's summary (run_state's words and "queued")
_NOT_TRAINED = {"done": "already done", "diverged": "already ended (diverged)", "failed": "failed before (skipped)",
                "running": "held by another process", "queued": "queued on Slurm"}

def summary_line(plan: Plan) -> str:
    """``grid g (cpu): 12 runs: 4 to train on local, 6 already done, 2 failed before (skipped)``:
    every distinct run counted once, under what happens to it now."""
    todo = {r.run_id for r in plan.todo}
    distinct = {r.run_id for r in plan.runs}
    others = Counter(plan.state[rid] for rid in distinct - todo)
    parts = [f"{len(todo)} to train on {plan.executor}"]
    parts += [f"{n} {_NOT_TRAINED.get(state, state)}" for state, n in sorted(others.items())]
    same = len(plan.runs) - len(distinct)  # variants that resolve to another's config (see --dry-run)
    tail = f" ({same} more planned as the same run as another variant)" if same else ""
    return f"grid {plan.grid.name} ({plan.profile}): {len(distinct)} runs: " + ", ".join(parts) + tail

def show_plan(plan: Plan, written: bool = False) -> int:
    todo_ids = {r.run_id for r in plan.todo}
    first_variant: dict[str, str] = {}
    rows = []
    for r in plan.runs:
        first = first_variant.setdefault(r.run_id, r.variant)
        s = plan.state[r.run_id]
        action = "train" if r.run_id in todo_ids and first == r.variant else (
            f"same run as {first}" if first != r.variant else "skip")
        if s == "interrupted" and action == "train":
            action = "resume"
        cost = plan.costs[r.run_id]
        rows.append({**cost_row(plan, r), "params_M": f"{cost['params'] / 1e6:.2f}",
                     "GMACs": f"{cost['macs'] / 1e9:.3f}", "state": s, "action": action})
    grid = plan.grid
    print(f"grid {grid.name} ({plan.profile}), baseline {grid.baseline}, metric {grid.metric}: {len(plan.runs)} runs, "
          f"{len(plan.todo)} would be submitted to {plan.executor}")
    print_table(rows, ["variant", "seed", "run_id", "params_M", "GMACs", "device_h", "source", "state", "action"])
    print_cost(plan)
    notes = {n for r in plan.runs for n in r.cfg.model.notes()}
    for n in sorted(notes):
        print(f"note: {n}")
    cluster, todo = plan.cluster, plan.todo
    if plan.executor == "slurm" and cluster is not None:
        from ablations.executors.slurm.submit import executor_parameters

        print("sbatch parameters:")
        for k, v in executor_parameters(cluster, len(todo)).items():
            print(f"  {k} = {v}")
    print("dry run: nothing submitted, " + ("only measured throughputs and model sizes cached in --runs-dir" if written
                                            else "nothing written"))
    return 0

def show_status(grid: Grid, runs: list[PlannedRun], gdir: Path) -> int:
    """One row per run: its folder's state, and Slurm's (one sacct call) for runs in slurm.json."""
    from ablations.executors.progress import run_progress
    from ablations.executors.slurm.jobs import job_states, run_status

    jobs = job_states(gdir) if (gdir / "slurm.json").exists() else {}
    rows, counts = [], Counter()
    for r in runs:
        folder = gdir / r.run_id
        folder_state = run_state(folder)
        error = ""
        if folder_state == "failed":  # the whole last line: --status is where a user reads why
            error = last_line(folder / "error.txt", limit=None) or "error.txt is empty"
        state, detail = run_status(folder_state, jobs.get(r.run_id), error)
        if folder_state in (RunState.RUNNING, RunState.INTERRUPTED):  # how far, and when it will end
            progress = run_progress(folder, r.cfg.train.total_epochs)
            detail = " · ".join(x for x in (detail, progress) if x)
        counts[state] += 1
        rows.append({"variant": r.variant, "seed": r.seed, "run_id": r.run_id, "state": state, "detail": detail})
    print(f"grid {grid.name}: {len(runs)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print_table(rows, ["variant", "seed", "run_id", "state", "detail"])
    return 0
