"""Reports: from a grid's run folders to the tables, statistics and figures a paper can use.

    python ablations/report.py --grid relpos_vs_abs                       # reports/relpos_vs_abs/
    python -m ablations.report --grid relpos_vs_abs                       # the same

Exit codes: 0 written, 2 bad input (no grid.json, unknown metric or profile), one line on stderr.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from vt_core import exit_codes
from vt_core.overrides import ConfigError

from .write import write_report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python ablations/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--grid", required=True, help="the grid's name (runs/<grid>/grid.json) or its module's path")
    p.add_argument("--runs-dir", default="runs", help="where run folders live (default: runs)")
    p.add_argument("--out", help="output folder (default: reports/<grid>)")
    p.add_argument("--metric", help="a key of result.json (default: the grid's METRIC)")
    p.add_argument("--profile", help="report this profile's runs (default: the setting run last)")
    args = p.parse_args(argv)
    cmd = shlex.join(["python", "ablations/report.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        path = write_report(args.grid, runs_dir=args.runs_dir, out_dir=args.out, metric=args.metric,
                            profile=args.profile, command=cmd)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    print(f"report: {path}")
    return exit_codes.OK
