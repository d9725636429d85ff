"""The suite's front door: plan a grid, train what is not done, report.

    python ablations/launch.py --grid relpos_vs_abs                      # local, then the report
    python ablations/launch.py --grid relpos_vs_abs --dry-run            # the plan, nothing runs
    python ablations/launch.py --grid relpos_vs_abs --status
    python ablations/launch.py --grid swin_table4 --profile imagenet --executor slurm \
        --cluster slurm/profiles/example.yaml

Every plan and launch prints each run's estimated device-hours on the chosen executor with the
estimate's source (ablations/planning/cost.py); ``--budget HOURS`` refuses a plan that needs more.

Exit codes: 0 every planned run ended (done or diverged), 1 some failed (or the disk refused the
launcher's own write: one line naming the file and the filesystem), 2 bad input or over budget
(nothing submitted, nothing written into run folders), 3 runs another process was training were
skipped (--held skip), 130 interrupted (rerun to resume).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ablations.executors import analysis as analysis_step  # noqa: E402
from ablations.planning.cost import model_key  # noqa: E402
from ablations.planning.grid import Grid, PlannedRun, check_buildable, expand, load_grid, parse_seeds  # noqa: E402
from ablations.planning.grid_index import write_index  # noqa: E402
from ablations.planning.model_sizes import SizeCache  # noqa: E402
from ablations.planning.plan import Plan, budget_error, check_budget, cost_row, estimate_costs, print_cost  # noqa: E402
from ablations.planning.show import print_table, show_plan, show_status, summary_line  # noqa: E402
from vt_core import exit_codes  # noqa: E402
from vt_core.cli import OneLineParser, add_set_argument, overrides_from  # noqa: E402
from vt_core.overrides import ConfigError  # noqa: E402
from vt_core.run_folder import RunState, atomic_write_text, config_yaml, run_state  # noqa: E402

DEFAULT_RUNS = Path("runs")


class LaunchError(ConfigError):
    """Bad input to the launcher (exit code 2)."""


class DiskError(Exception):
    """The disk refused one of the launcher's own writes (full, read-only): one line naming the file
    and the filesystem (vt_core.run_folder.write_error's), exit code 1 as the trainer's."""


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


def states(runs: list[PlannedRun], gdir: Path, queued: set[str]) -> dict[str, RunState]:
    out = {}
    for r in runs:
        state = run_state(gdir / r.run_id)
        if state in (RunState.PENDING, RunState.INTERRUPTED, RunState.FAILED) and r.run_id in queued:
            state = RunState.QUEUED
        out[r.run_id] = state
    return out


def to_launch(runs: list[PlannedRun], state: dict[str, RunState], retry_failed: bool) -> list[PlannedRun]:
    """Each distinct run id once, if it is not done, not running or queued, and not failed (unless retried)."""
    todo, seen = [], set()
    for r in runs:
        if r.run_id in seen:
            continue
        seen.add(r.run_id)
        s = state[r.run_id]
        if s in (RunState.PENDING, RunState.INTERRUPTED) or (s is RunState.FAILED and retry_failed):
            todo.append(r)
    return todo


def write_configs(gdir: Path, runs: list[PlannedRun]) -> dict[str, Path]:
    cdir = gdir / ".configs"
    cdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for r in runs:
        p = cdir / f"{r.run_id}.yaml"
        atomic_write_text(p, config_yaml(r.cfg))
        paths[r.run_id] = p
    return paths


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
    p.add_argument("--held", choices=("wait", "skip"),
                   help="local: runs another process is training: wait for them to end (default) or skip them (exit 3)")
    p.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    p.add_argument("--analyze", action=argparse.BooleanOptionalAction, default=None,
                   help="mechanism measures of every finished run after training (docs/analysis.md; default: on "
                        "for the cpu profiles, off for the others)")
    args = p.parse_args(argv)
    try:
        return _main(args)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except DiskError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.FAILED


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
    """The plan and its cost, then the budget's verdict (the plan is what a user reads to trim it);
    calibrates only with --calibrate (whose cache is the one file written, and only within budget)."""
    cost = estimate_costs(plan, calibrate=args.calibrate, force=args.calibrate, jobs=args.jobs)
    for message in plan.missing_data:
        print(f"warning: {message}", file=sys.stderr)
    over = budget_error(plan, args.budget)
    if args.calibrate and over is None:
        runs_existed = plan.runs_dir.exists()
        check_writable(plan.runs_dir)
        save_calibrations(cost, plan.runs_dir, runs_existed)
    show_plan(plan, written=args.calibrate and over is None and cost.new_calibrations > 0)
    if over is not None:
        sys.stdout.flush()  # the plan above the refusal, also where both streams go to one terminal
        raise over
    return exit_codes.OK


def make_plan(args: argparse.Namespace) -> Plan:
    """Everything checked and expanded, nothing written: bad input raises (exit 2) here."""
    grid = load_grid(args.grid, args.profile)
    seeds = parse_seeds(args.seeds, "--seeds") if args.seeds is not None else None
    data_seeds = parse_seeds(args.data_seeds, "--data-seeds") if args.data_seeds is not None else None
    sets = overrides_from(args.set)
    missing: list[str] | None = [] if args.dry_run or args.status else None  # a real launch needs its data
    runs = expand(grid, args.profile, seeds=seeds, data_seeds=data_seeds, sets=sets, only=args.only,
                  missing_data=missing)
    runs_dir = Path(os.path.abspath(args.runs_dir))  # once, here: the trainers run in the repository
    sizes = SizeCache(runs_dir)  # models counted (so built) before need no build now
    built = {} if args.status else check_buildable(runs, lambda cfg: sizes.get(model_key(cfg, "")) is not None)
    executor, cluster, limits = choose_executor(args)
    check_local_flags(args, executor)
    gdir = grid_dir(runs_dir, grid)
    check_index_file(gdir)
    queued: set[str] = set()
    if not args.status and (executor == "slurm" or (gdir / "slurm.json").exists()):  # --status asks sacct itself
        from ablations.executors.slurm.submit import queued_run_ids

        queued = queued_run_ids(gdir)
    state = states(runs, gdir, queued)
    todo = to_launch(runs, state, args.retry_failed)
    return Plan(grid, args.profile, runs, state, todo, executor, cluster, runs_dir, gdir, missing or [], built=built,
                limits=limits, sizes=sizes, analyze=analysis_step.enabled(args.profile, args.analyze))


def check_local_flags(args: argparse.Namespace, executor: str) -> None:
    """--jobs, --held and --calibrate act on this machine: a negative --jobs, or any of them with
    --executor slurm (whose runs train elsewhere), would be ignored, so it is refused."""
    if args.jobs < 0:
        raise LaunchError(f"--jobs: {args.jobs} is negative; give the runs to train at once here (0, the default: "
                          "as the cores or GPUs allow)")
    if executor == "slurm":
        instead = {"--jobs": (args.jobs, "set array_parallelism in the cluster profile"),
                   "--held": (args.held, "it says what the local executor does with a run another process trains"),
                   "--calibrate": (args.calibrate, "Slurm estimates come from finished runs or the GMACs table")}
        for flag, (value, why) in instead.items():
            if value:
                raise LaunchError(f"{flag}: acts on this machine, not used with --executor slurm; {why}")
    args.held = args.held or "wait"  # the default, once it is known that it was not given for Slurm


def check_index_file(gdir: Path) -> None:
    """A grid.json that is not what the launcher writes stops every command on the grid (exit 2, one
    line naming the file and the field), before anything is written: rewriting it would drop the
    entries it could not read, and --status would misname its runs."""
    from ablations.planning.grid_index import read_index_if_any

    read_index_if_any(gdir)


def choose_executor(args: argparse.Namespace) -> tuple[str, Any, Any]:
    executor = pick_executor(args.executor, args.cluster)
    cluster = limits = None
    if executor == "slurm":
        from ablations.executors.slurm.submit import load_cluster, read_limits

        cluster = load_cluster(args.cluster)
        limits = None if args.status else read_limits(cluster)
    elif args.cluster:
        raise LaunchError(f"--cluster: given, but the executor is {executor!r}; add --executor slurm")
    return executor, cluster, limits


def launch(plan: Plan, args: argparse.Namespace) -> int:
    """Estimate, check the budget, record the plan, then train: on Slurm or here."""
    if plan.executor == "slurm":  # before anything is written: without sbatch nothing could be submitted
        from ablations.executors.slurm.submit import check_client

        check_client()
    runs_existed = plan.runs_dir.exists()
    check_writable(plan.runs_dir)
    cost = estimate_costs(plan, calibrate=True, force=args.calibrate, jobs=args.jobs)
    check_budget(plan, args.budget)
    save_calibrations(cost, plan.runs_dir, runs_existed)
    runs, todo, gdir = plan.runs, plan.todo, plan.gdir
    skipped_failed = [r for r in runs if plan.state[r.run_id] is RunState.FAILED and not args.retry_failed]
    fresh = not gdir.exists()
    index_before = (gdir / "grid.json").read_text() if (gdir / "grid.json").is_file() else None
    configs = record_plan(plan, fresh, index_before)
    print(summary_line(plan))
    if skipped_failed:
        print(f"  {len(skipped_failed)} failed runs skipped (see their error.txt; --retry-failed runs them again)")
    if todo:
        print_table([cost_row(plan, r) for r in todo], ["variant", "seed", "run_id", "device_h", "source"])
    print_cost(plan)
    if plan.executor == "slurm":
        try:
            return submit_slurm(plan, args, configs)
        except ConfigError:  # sbatch refused the first array: nothing submitted, so nothing is left written
            _undo_index(gdir, configs, fresh, index_before)
            raise
    return run_here(plan, args, configs)


def save_calibrations(cost: Any, runs_dir: Path, runs_existed: bool) -> None:
    """The calibration cache, the launch's first write: a disk that refuses it (full, read-only) is
    one line naming the file and the filesystem, and the runs folder this launch made goes again."""
    from vt_core.run_folder import RunFolderError

    try:
        cost.save()
    except RunFolderError as e:
        if not runs_existed:
            _remove_empty(runs_dir)
        raise DiskError(str(e)) from None


def record_plan(plan: Plan, fresh: bool, index_before: str | None) -> dict[str, Path]:
    """grid.json, the TensorBoard links and the configs of the runs to train; a write the disk
    refuses takes back what this launch wrote (the grid's folder if it made it, else grid.json as it
    was) and is one line naming the file and the filesystem."""
    from ablations.executors.tensorboard import link_tensorboard
    from vt_core.run_folder import RunFolderError, write_error

    gdir = plan.gdir
    try:
        try:
            gdir.mkdir(parents=True, exist_ok=True)
            write_index(gdir, plan.grid, plan.profile, plan.runs, plan.estimates, plan.analyze)
            link_tensorboard(gdir)  # human run names for TensorBoard, whatever the executor
            return write_configs(gdir, plan.todo)
        except OSError as e:  # a folder or link (the files raise RunFolderError themselves)
            raise write_error(Path(e.filename or gdir), e) from None
    except RunFolderError as e:
        _undo_index(gdir, {}, fresh, index_before)
        raise DiskError(str(e)) from None


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (another launch wrote there meanwhile): not ours to remove
        pass


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
    else:
        (gdir / "grid.json").unlink(missing_ok=True)


def submit_slurm(plan: Plan, args: argparse.Namespace, configs: dict[str, Path]) -> int:
    grid, gdir, todo, cluster, runs_dir = plan.grid, plan.gdir, plan.todo, plan.cluster, plan.runs_dir
    from ablations.executors.slurm.submit import submit

    return submit(grid, gdir, todo, configs, cluster, plan.limits, report=not args.no_report, runs_dir=runs_dir,
                  profile=args.profile, reports_dir=Path(os.path.abspath(args.reports_dir)))


def run_here(plan: Plan, args: argparse.Namespace, configs: dict[str, Path]) -> int:
    from ablations.executors.local import held_runs, run_local

    code = run_local(plan.gdir, plan.todo, configs, jobs=args.jobs, in_process=plan.executor == "debug",
                     held=args.held, holding=held_runs(plan.runs, plan.state))
    if code != exit_codes.CTRL_C and plan.analyze:
        analysis_step.analyze_grid(plan.gdir, [r.run_id for r in plan.runs])
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


if __name__ == "__main__":
    sys.exit(main())
