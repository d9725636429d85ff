"""Every command the README and docs show in a code block is exercised here, so the docs cannot drift
from the code: each is matched by one row of HOW, which says how it is run (as written, as a dry
run, as a report over runs with known numbers) or, where running it costs minutes or a GPU, which
test runs it and which of its flags the command's own --help must list. A command no row matches
fails the test: a new docs command needs a row."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.report_runs import build_runs

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "runs" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
START = re.compile(r"^(?:\$ )?(python3?|pytest|bash|ruff|tensorboard)\b")

# (pattern the command matches, how it is exercised). Modes:
#   "dry-run"  the command with --dry-run (and a temporary --runs-dir): it must plan, exit 0
#   "exit N"   the command as written (a temporary --runs-dir), exit code N
#   "report"   the report command over a runs folder with known numbers, exit 0
#   "flags"    every --flag it shows is listed by the command's --help (costly to run: see its test)
#   "ci"       the test command: .ci/run runs exactly this line
HOW: list[tuple[str, str]] = [
    (r"pip install -e \"\.\[test\]\" && python ablations/launch.py --grid relpos_vs_abs$", "dry-run"),
    (r"^python ablations/launch.py --grid relpos_vs_abs$", "dry-run"),  # trained end to end by test_local
    (r"--grid swin_table4 --profile imagenet --dry-run --budget 500$", "exit 2"),
    (r"ruff check \. && pytest", "ci"),
    (r"^pytest -q -m \"not slow\"$", "flags"),  # the fast tier: a subset of what CI runs
    (r"--grid swin_(finetune|eval) --profile \w+ --set data\.root=\S+$", "dry-run"),
    (r"--executor slurm --cluster", "flags"),  # tests/test_slurm.py launches on the test cluster
    (r"--grid NAME\|PATH", "flags"),
    (r"--set train\.init_from=runs/window_size/<", "flags"),  # tests/test_pretrained_grids.py
    (r"^python ablations/report.py", "report"),
    (r"^python -m vt_core\.analyze RUN_FOLDER", "flags"),  # tests/test_analysis_run.py
    (r"^python -m vt_core\.bench\b", "flags"),  # tests/test_bench.py (GPU rows: marker gpu)
    (r"^python -m vt_core\.measure --preset swin_tiny\S* --set pos=abs --img-size 384 --json$", "exit 0"),
    (r"^python -m vt_core\.measure", "flags"),  # one preset above; tests/test_measure.py counts them all
    (r"^python -m vt_core\.train --out DIR", "flags"),  # tests/test_train.py, tests/test_cli.py
    (r"^tensorboard --logdir", "flags"),  # tests/test_outsider_tensorboard.py reads the links back
]


def doc_commands() -> list[tuple[str, str]]:
    """(file:line, command) of every command line in a code block (indented or fenced)."""
    found = []
    for path in DOCS:
        lines, fenced = path.read_text().splitlines(), False
        i = 0
        while i < len(lines):
            text = lines[i].strip()
            if text.startswith("```"):
                fenced = not fenced
            elif (fenced or lines[i].startswith("    ")) and START.match(text):
                where = f"{path.relative_to(ROOT)}:{i + 1}"
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1].rstrip() + " " + lines[i].strip()
                found.append((where, re.sub(r"\s+#\s.*$", "", text).removeprefix("$ ")))
            i += 1
    return found


COMMANDS = doc_commands()


def how(command: str) -> str:
    modes = [mode for pattern, mode in HOW if re.search(pattern, command)]
    assert modes, f"a docs command no row of HOW covers (add one): {command}"
    return modes[0]


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 20  # the extraction itself works


@pytest.mark.parametrize("where, command", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_docs_command_has_a_way_to_run(where: str, command: str) -> None:
    how(command)  # fast: a new command in the docs needs a row of HOW before the slow run below


def _argv(command: str) -> list[str]:
    """The command's own part: after the last '&&' (install steps are CI's), as argv."""
    return shlex.split(command.split("&&")[-1].strip())


def _run(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    exe = [sys.executable] if argv[0] in ("python", "python3") else [argv[0]]
    return subprocess.run([*exe, *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)


def _with_runs_dir(argv: list[str], runs: Path) -> list[str]:
    if "--runs-dir" in argv:
        argv[argv.index("--runs-dir") + 1] = str(runs)
        return argv
    return [*argv, "--runs-dir", str(runs)]


def _flags_listed(argv: list[str], tmp_path: Path) -> None:
    module = argv[:3] if argv[1:2] == ["-m"] else argv[:2] if argv[0].startswith("python") else argv[:1]
    shown = subprocess.run([sys.executable if module[0].startswith("python") else module[0], *module[1:], "--help"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", " ".join(argv)):
        assert flag in shown.stdout, f"{flag} is in the docs but not in {' '.join(module)} --help"


def _report(argv: list[str], tmp_path: Path) -> None:
    grid = argv[argv.index("--grid") + 1]
    runs = tmp_path / "runs"
    toy = build_runs(runs)
    toy.rename(runs / grid)
    index = (runs / grid / "grid.json")
    index.write_text(index.read_text().replace('"grid": "toy"', f'"grid": "{grid}"'))
    argv = _with_runs_dir(argv, runs)
    argv = [*argv, "--out", str(tmp_path / "report")] if "--out" not in argv else argv
    argv[argv.index("--out") + 1] = str(tmp_path / "report")
    done = _run(argv, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report" / "report.md").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("where, command", COMMANDS, ids=[w for w, _ in COMMANDS])
def test_docs_command(where: str, command: str, tmp_path: Path) -> None:
    mode, argv = how(command), _argv(command)
    if mode == "ci":
        ci = (ROOT / ".ci" / "run").read_text()
        assert command.split("&&")[-2:] == ci.split("&&")[-2:] or command.strip() in ci, \
            f"{where}: the README's test command is not the one .ci/run runs"
        return
    if mode == "flags":
        if argv[0] == "tensorboard" and shutil.which("tensorboard") is None:
            pytest.skip("tensorboard's command is not on PATH here")
        _flags_listed(argv, tmp_path)
        return
    if mode == "report":
        _report(argv, tmp_path)
        return
    runs = tmp_path / "runs"
    if mode == "dry-run":
        argv = _with_runs_dir([*argv, "--dry-run"], runs)
        expected = 0
    else:
        expected = int(mode.split()[1])
        argv = _with_runs_dir(argv, runs) if argv[1].endswith("launch.py") else argv
    done = _run(argv, tmp_path)
    assert done.returncode == expected, f"{where}: {' '.join(argv)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    if mode == "dry-run" or argv[1].endswith("launch.py"):
        assert "run_id" in done.stdout, f"{where}: no plan printed"
        assert not runs.exists() or not any(runs.iterdir()), f"{where}: a dry run wrote {list(runs.iterdir())}"
