"""How fast the commands a user types first answer: ``launch.py --help``, ``report.py --help``, an
unknown grid and profile, ``--status``, and ``--dry-run`` of a grid whose estimates are cached, each
in a fresh process, the median wall time of ``--repeats`` and whether torch was imported.

    python benchmarks/commands.py [--repeats 5] [--repo PATH]

``--repo`` times another checkout of the project (e.g. a worktree of an older commit) with the
same commands, for a before/after comparison; its caches are made first, in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "launch.py --help": ["ablations/launch.py", "--help"],
    "report.py --help": ["ablations/report.py", "--help"],
    "--grid nosuchgrid": ["ablations/launch.py", "--grid", "nosuchgrid"],
    "--profile nosuchprofile": ["ablations/launch.py", "--grid", "relpos_vs_abs", "--profile", "nosuchprofile"],
    "--status": ["ablations/launch.py", "--grid", "relpos_vs_abs", "--status"],
    "--dry-run (estimates cached)": ["ablations/launch.py", "--grid", "relpos_vs_abs", "--dry-run"],
}
CHECK_TORCH = """import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
print("TORCH" if "torch" in sys.modules else "NOTORCH", file=sys.stderr)
"""


def wall(repo: Path, argv: list[str], runs: Path) -> float:
    extra = ["--runs-dir", str(runs)] if argv[0].endswith("launch.py") and "--help" not in argv else []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv, *extra], cwd=repo, env=env, capture_output=True)
    return time.perf_counter() - t0


def imports_torch(repo: Path, argv: list[str], runs: Path) -> bool:
    extra = ["--runs-dir", str(runs)] if argv[0].endswith("launch.py") and "--help" not in argv else []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo)}
    done = subprocess.run([sys.executable, "-c", CHECK_TORCH, *argv, *extra], cwd=repo, env=env,
                          capture_output=True, text=True)
    return "NOTORCH" not in done.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--repo", type=Path, default=ROOT, help="the checkout to time (default: this one)")
    args = ap.parse_args()
    repo = args.repo.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        subprocess.run([sys.executable, "ablations/launch.py", "--grid", "relpos_vs_abs", "--dry-run", "--calibrate",
                        "--runs-dir", str(runs)], cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)},
                       capture_output=True, check=True)  # the caches a dry run reads
        load = os.getloadavg()[0]
        print(f"{repo} on {os.cpu_count()} cores, load average {load:.2f} before; median of {args.repeats}")
        print(f"{'command':<30} {'wall s':>7}  torch")
        for label, argv in COMMANDS.items():
            times = [wall(repo, argv, runs) for _ in range(args.repeats)]
            torch = "imported" if imports_torch(repo, argv, runs) else "no"
            print(f"{label:<30} {statistics.median(times):>7.2f}  {torch}")
        print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
