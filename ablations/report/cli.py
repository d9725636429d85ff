"""Reports: from a grid's run folders to the tables, statistics and figures a paper can use.

    python ablations/report.py --grid relpos_vs_abs                       # reports/relpos_vs_abs/
    python -m ablations.report --grid relpos_vs_abs                       # the same
    python ablations/report.py --grid relpos_vs_abs --metric top1,top5,val_loss --correction bh \\
        --interval bootstrap --min-effect 0.3

Exit codes: 0 written, 2 bad input (no grid.json, one without runs, an unknown metric, profile or
option), 1 the output cannot be written (a full or read-only disk), one line on stderr.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from vt_core import exit_codes
from vt_core.cli import OneLineParser
from vt_core.overrides import ConfigError

from .output import ReportWriteError
from .stats import StatOptions
from .vocabulary import Correction, Interval
from .write import write_report


def _number(text: str) -> float:
    """A number; whether it is a sensible one is StatOptions' to say (the one check of the options)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _check_paths(args: argparse.Namespace) -> None:
    """A grid name that would lead outside runs/ and reports/, an empty --out (the current folder),
    over-long names: refused before anything is read or written."""
    from ablations.path_args import check_grid_name, check_path

    check_grid_name("--grid", args.grid)
    check_path("--runs-dir", args.runs_dir)
    if args.out is not None:
        check_path("--out", args.out)


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python ablations/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", required=True, help="the grid's name (runs/<grid>/grid.json) or its module's path")
    p.add_argument("--runs-dir", default="runs", help="where run folders live (default: runs)")
    p.add_argument("--out", help="output folder (default: reports/<grid>)")
    p.add_argument("--metric", help="keys of result.json, comma-separated, one table each, the first the main one "
                                    "(default: the grid's METRIC); val_loss, val_top1, val_top5 name loss, top1, top5")
    p.add_argument("--profile", help="report this profile's runs (default: the setting run last)")
    p.add_argument("--correction", default="holm", metavar="{" + ",".join(Correction) + "}",
                   help="multiple-comparison correction over each table's comparisons (default: holm)")
    p.add_argument("--interval", default="t", metavar="{" + ",".join(Interval) + "}",
                   help="95%% intervals from the t-distribution or the BCa bootstrap (default: t)")
    p.add_argument("--min-effect", type=_number, metavar="DELTA",
                   help="a difference that matters, in the metric's units: the seeds needed to detect it")
    args = p.parse_args(argv)
    cmd = shlex.join(["python", "ablations/report.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        options = StatOptions(correction=args.correction, interval=args.interval, min_effect=args.min_effect)
        _check_paths(args)
        path = write_report(args.grid, runs_dir=args.runs_dir, out_dir=args.out, metric=args.metric,
                            profile=args.profile, command=cmd, correction=options.correction,
                            interval=options.interval, min_effect=options.min_effect)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except ReportWriteError as e:  # a full or read-only disk: the file, the disk and what to do
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.FAILED
    print(f"report: {path}")
    return exit_codes.OK
