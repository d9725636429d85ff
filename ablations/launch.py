"""The suite's front door: plan a grid, train what is not done, report.

    python ablations/launch.py --grid relpos_vs_abs                      # local, then the report
    python ablations/launch.py --grid relpos_vs_abs --dry-run            # the plan, nothing runs
    python ablations/launch.py --grid relpos_vs_abs --status
    python ablations/launch.py --grid swin_table4 --profile imagenet --executor slurm \
        --cluster slurm/profiles/example.yaml

Every plan and launch prints each run's estimated device-hours on the chosen executor with the
estimate's source (ablations/cost.py); ``--budget HOURS`` refuses a plan that needs more.

Exit codes: 0 every planned run ended (done or diverged), 1 some failed, 2 bad input or over budget
(nothing submitted, nothing written into run folders), 3 runs another process was training were
skipped (--held skip), 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ablations.cost import Estimate  # noqa: E402
from ablations.grid import Grid, PlannedRun, check_buildable, expand, load_grid, parse_seeds  # noqa: E402
from ablations.plan import Plan, check_budget, cost_row, estimate_costs, print_cost  # noqa: E402
from vt_core import exit_codes  # noqa: E402
from vt_core.cli import OneLineParser, add_set_argument, overrides_from  # noqa: E402
from vt_core.overrides import ConfigError  # noqa: E402
from vt_core.run_folder import atomic_write_text, config_yaml, last_line, run_state  # noqa: E402

DEFAULT_RUNS = Path("runs")


class LaunchError(ConfigError):
    """Bad input to the launcher (exit code 2)."""


# ---------------------------------------------------------------------------------------- plan
def grid_dir(runs_dir: Path, grid: Grid) -> Path:
    return runs_dir / grid.name


def check_writable(path: Path) -> None:
    """Fail early (exit 2) when the runs folder cannot be created or written; leaves nothing behind."""
    import tempfile

    if path.exists() and not path.is_dir():
        raise LaunchError(f"--runs-dir: {path} exists and is not a folder")
    created = []
    try:
        missing = path
        while not missing.exists():
            created.append(missing)
            missing = missing.parent
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise LaunchError(f"--runs-dir: {path} is not writable ({e.strerror or e})") from None
    finally:
        for d in created:  # deepest first
            try:
                d.rmdir()
            except OSError:
                pass


def states(runs: list[PlannedRun], gdir: Path, queued: set[str]) -> dict[str, str]:
    out = {}
    for r in runs:
        state = run_state(gdir / r.run_id)
        if state in ("pending", "interrupted", "failed") and r.run_id in queued:
            state = "queued"
        out[r.run_id] = state
    return out


def to_launch(runs: list[PlannedRun], state: dict[str, str], retry_failed: bool) -> list[PlannedRun]:
    """Each distinct run id once, if it is not done, not running or queued, and not failed (unless retried)."""
    todo, seen = [], set()
    for r in runs:
        if r.run_id in seen:
            continue
        seen.add(r.run_id)
        s = state[r.run_id]
        if s in ("pending", "interrupted") or (s == "failed" and retry_failed):
            todo.append(r)
    return todo


def write_index(gdir: Path, grid: Grid, profile: str, runs: list[PlannedRun],
                estimates: dict[str, Estimate] | None = None) -> None:
    """``runs/<grid>/grid.json``: which variant and seed (and data seed, where the grid crosses them)
    every run id is, and its cost estimate, for the report and --status."""
    path = gdir / "grid.json"
    index: dict[str, Any] = {}
    if path.exists():
        try:
            index = json.loads(path.read_text())
        except json.JSONDecodeError:
            index = {}
    entries = {(e["variant"], e["seed"], e["run_id"]): e for e in index.get("runs", [])}
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
        "runs": sorted(entries.values(), key=lambda e: (e["variant"], e["seed"], e["run_id"])),
    }
    atomic_write_text(path, json.dumps(index, indent=1) + "\n")


def write_configs(gdir: Path, runs: list[PlannedRun]) -> dict[str, Path]:
    cdir = gdir / ".configs"
    cdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for r in runs:
        p = cdir / f"{r.run_id}.yaml"
        atomic_write_text(p, config_yaml(r.cfg))
        paths[r.run_id] = p
    return paths


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))


# ---------------------------------------------------------------------------------------- executors
def pick_executor(name: str, cluster: str | None) -> str:
    """auto: Slurm when sbatch is on PATH and a cluster profile says how to use it, else local."""
    if name != "auto":
        return name
    if shutil.which("sbatch"):
        if cluster:
            return "slurm"
        print("note: sbatch is on PATH but no --cluster profile was given: running locally", file=sys.stderr)
    return "local"


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python ablations/launch.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", required=True, help="a shipped grid name or a path to a grid module")
    p.add_argument("--profile", default="cpu", help="scale profile of the grid (default: cpu)")
    p.add_argument("--executor", default="auto", choices=("auto", "local", "slurm", "debug"),
                   help="auto: slurm when sbatch is on PATH and --cluster is given, else local")
    p.add_argument("--cluster", help="Slurm cluster profile YAML (slurm/profiles/*.yaml)")
    add_set_argument(p, "overrides for every run (repeatable; every occurrence counts)")
    p.add_argument("--seeds", help="comma-separated seeds instead of the grid's SEEDS (init seeds where crossed)")
    p.add_argument("--data-seeds", help="comma-separated data seeds, crossed with the seeds (default: the grid's; "
                                        "without any, data.seed = seed)")
    p.add_argument("--budget", type=float, help="refuse (exit 2) when the runs to train need more device-hours")
    p.add_argument("--calibrate", action="store_true",
                   help="time a few steps of every distinct model here, even in --dry-run and for large models")
    p.add_argument("--only", nargs="+", help="variant names or glob patterns")
    p.add_argument("--dry-run", action="store_true", help="print the plan; submit and write nothing")
    p.add_argument("--status", action="store_true",
                   help="one row per run: pending, queued, running, requeued, timed out, cancelled, failed, done …")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again (resuming their checkpoints)")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS), help="where run folders live (default: runs)")
    p.add_argument("--jobs", type=int, default=0, help="local: runs at once (default: as the cores or GPUs allow)")
    p.add_argument("--reports-dir", default="reports", help="where reports go: <dir>/<grid>/ (default: reports)")
    p.add_argument("--held", default="wait", choices=("wait", "skip"),
                   help="local: runs another process is training: wait for them to end (default) or skip them (exit 3)")
    p.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    args = p.parse_args(argv)
    try:
        return _main(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT


def _main(args: argparse.Namespace) -> int:
    _check_path_args(args)
    plan = make_plan(args)
    if args.status:
        return show_status(plan.grid, plan.runs, plan.gdir)
    if args.dry_run:
        return dry_run(plan, args)
    return launch(plan, args)


def _check_path_args(args: argparse.Namespace) -> None:
    """Empty folders (the current one) and over-long names refused before anything is read."""
    from ablations.path_args import check_path

    check_path("--grid", args.grid, "a grid name or a grid module's path")
    check_path("--runs-dir", args.runs_dir)
    check_path("--reports-dir", args.reports_dir)


def dry_run(plan: Plan, args: argparse.Namespace) -> int:
    """The plan and its cost; calibrates only with --calibrate (whose cache is the one file written)."""
    cost = estimate_costs(plan, calibrate=args.calibrate, force=args.calibrate, jobs=args.jobs)
    for message in plan.missing_data:
        print(f"warning: {message}", file=sys.stderr)
    check_budget(plan, args.budget)
    if args.calibrate:
        check_writable(plan.runs_dir)
        cost.save()
    return show_plan(plan)


def make_plan(args: argparse.Namespace) -> Plan:
    """Everything checked and expanded, nothing written: bad input raises (exit 2) here."""
    grid = load_grid(args.grid, args.profile)
    seeds = parse_seeds(args.seeds, "--seeds") if args.seeds is not None else None
    data_seeds = parse_seeds(args.data_seeds, "--data-seeds") if args.data_seeds is not None else None
    sets = overrides_from(args.set)
    missing: list[str] | None = [] if args.dry_run or args.status else None  # a real launch needs its data
    runs = expand(grid, args.profile, seeds=seeds, data_seeds=data_seeds, sets=sets, only=args.only,
                  missing_data=missing)
    built = {} if args.status else check_buildable(runs)  # reading a grid's state needs no model
    executor, cluster, limits = choose_executor(args)
    runs_dir = Path(os.path.abspath(args.runs_dir))  # once, here: the trainers run in the repository
    gdir = grid_dir(runs_dir, grid)
    queued: set[str] = set()
    if not args.status and (executor == "slurm" or (gdir / "slurm.json").exists()):  # --status asks sacct itself
        from ablations.slurm import queued_run_ids

        queued = queued_run_ids(gdir)
    state = states(runs, gdir, queued)
    todo = to_launch(runs, state, args.retry_failed)
    return Plan(grid, args.profile, runs, state, todo, executor, cluster, runs_dir, gdir, missing or [], built=built,
                limits=limits)


def choose_executor(args: argparse.Namespace) -> tuple[str, Any, Any]:
    executor = pick_executor(args.executor, args.cluster)
    cluster = limits = None
    if executor == "slurm":
        from ablations.slurm import load_cluster, read_limits

        cluster = load_cluster(args.cluster)
        limits = None if args.status else read_limits(cluster)
    elif args.cluster:
        raise LaunchError(f"--cluster: given, but the executor is {executor!r}; add --executor slurm")
    return executor, cluster, limits


def launch(plan: Plan, args: argparse.Namespace) -> int:
    """Estimate, check the budget, record the plan, then train: on Slurm or here."""
    from ablations.tensorboard_links import check_index

    check_writable(plan.runs_dir)
    check_index(plan.gdir)  # a planted grid.json entry naming a place outside the grid: refused, nothing written
    cost = estimate_costs(plan, calibrate=True, force=args.calibrate, jobs=args.jobs)
    check_budget(plan, args.budget)
    cost.save()
    runs, todo, gdir, grid = plan.runs, plan.todo, plan.gdir, plan.grid
    skipped_failed = [r for r in runs if plan.state[r.run_id] == "failed" and not args.retry_failed]
    fresh = not gdir.exists()
    index_before = (gdir / "grid.json").read_text() if (gdir / "grid.json").is_file() else None
    gdir.mkdir(parents=True, exist_ok=True)
    write_index(gdir, grid, args.profile, runs, plan.estimates)
    from ablations.tensorboard_links import link_tensorboard

    link_tensorboard(gdir)  # human run names for TensorBoard, whatever the executor
    from ablations.local import held_runs

    held = len(held_runs(runs, plan.state))
    done_before = len({r.run_id for r in runs}) - len(todo) - held
    print(f"grid {grid.name} ({args.profile}): {len(runs)} runs planned, {done_before} need nothing, {len(todo)} to run"
          f" on {plan.executor}" + (f", {held} held by another process" if held else ""))
    if skipped_failed:
        print(f"  {len(skipped_failed)} failed runs skipped (see their error.txt; --retry-failed runs them again)")
    if todo:
        print_table([cost_row(plan, r) for r in todo], ["variant", "seed", "run_id", "device_h", "source"])
    print_cost(plan)
    configs = write_configs(gdir, todo)
    if plan.executor == "slurm":
        try:
            return submit_slurm(plan, args, configs)
        except ConfigError:  # sbatch refused the first array: nothing submitted, so nothing is left written
            _undo_index(gdir, configs, fresh, index_before)
            raise
    return run_here(plan, args, configs)


def _undo_index(gdir: Path, configs: dict[str, Path], fresh: bool, index_before: str | None) -> None:
    """Take back what a launch wrote before a submission that took nothing: the grid's folder when
    this launch created it, else the configs it wrote and grid.json as it was."""
    if fresh:
        shutil.rmtree(gdir, ignore_errors=True)
        return
    for path in configs.values():
        path.unlink(missing_ok=True)
    if index_before is not None:
        atomic_write_text(gdir / "grid.json", index_before)


def submit_slurm(plan: Plan, args: argparse.Namespace, configs: dict[str, Path]) -> int:
    grid, gdir, todo, cluster, runs_dir = plan.grid, plan.gdir, plan.todo, plan.cluster, plan.runs_dir
    from ablations.slurm import submit

    return submit(grid, gdir, todo, configs, cluster, plan.limits, report=not args.no_report, runs_dir=runs_dir,
                  profile=args.profile, reports_dir=Path(os.path.abspath(args.reports_dir)))


def run_here(plan: Plan, args: argparse.Namespace, configs: dict[str, Path]) -> int:
    from ablations.local import held_runs, run_local

    code = run_local(plan.gdir, plan.todo, configs, jobs=args.jobs, in_process=plan.executor == "debug",
                     held=args.held, holding=held_runs(plan.runs, plan.state))
    if code != exit_codes.CTRL_C and not args.no_report:
        _report(plan.grid, plan.runs_dir, args.profile, Path(os.path.abspath(args.reports_dir)) / plan.grid.name)
    return code


def _report(grid: Grid, runs_dir: Path, profile: str, out_dir: Path) -> None:
    from ablations.report import write_report

    try:
        path = write_report(grid.name, runs_dir=runs_dir, out_dir=out_dir, grid_path=grid.path, profile=profile)
    except Exception as e:  # the runs are safe on disk; a report can be rewritten with ablations/report.py
        print(f"report failed ({type(e).__name__}: {e}); rerun: python ablations/report.py --grid {grid.name}",
              file=sys.stderr)
        return
    print(f"report: {path}")


def show_status(grid: Grid, runs: list[PlannedRun], gdir: Path) -> int:
    """One row per run: its folder's state, and Slurm's (one sacct call) for runs in slurm.json."""
    from ablations.slurm_jobs import job_states, run_status

    jobs = job_states(gdir) if (gdir / "slurm.json").exists() else {}
    rows, counts = [], Counter()
    for r in runs:
        folder = gdir / r.run_id
        folder_state = run_state(folder)
        error = ""
        if folder_state == "failed":  # the whole last line: --status is where a user reads why
            error = last_line(folder / "error.txt", limit=None) or "error.txt is empty"
        state, detail = run_status(folder_state, jobs.get(r.run_id), error)
        counts[state] += 1
        rows.append({"variant": r.variant, "seed": r.seed, "run_id": r.run_id, "state": state, "detail": detail})
    print(f"grid {grid.name}: {len(runs)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print_table(rows, ["variant", "seed", "run_id", "state", "detail"])
    return 0


def show_plan(plan: Plan) -> int:
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
        from ablations.slurm import executor_parameters

        print("sbatch parameters:")
        for k, v in executor_parameters(cluster, len(todo)).items():
            print(f"  {k} = {v}")
    print("dry run: nothing submitted, nothing written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
