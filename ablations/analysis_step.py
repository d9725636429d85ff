"""The launcher's analysis step: ``vt_core.analyze`` on every finished run of a grid, each against
the grid's baseline variant at the same seed (CKA), writing ``<run>/analysis.json``.

On by default for the ``cpu`` profiles (``cpu``, ``cpu_*``), off for the others (ImageNet-scale)
unless asked: ``launch.py --analyze / --no-analyze``; the choice is recorded in grid.json
(``"analyze"``), where a Slurm task reads it after training its run. Resumable and idempotent: an
up-to-date analysis.json is left as it is, and an interrupted step only loses the run it was on.
The step never changes a launch's exit code: a run it cannot analyse gets one line and is skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from vt_core.run_folder import CONFIG, RESULT, run_state


def enabled(profile: str, asked: bool | None) -> bool:
    """``--analyze`` / ``--no-analyze`` when given, else on for the cpu profiles only."""
    if asked is not None:
        return asked
    return profile == "cpu" or profile.startswith("cpu_")


def _index(gdir: Path) -> dict[str, Any]:
    """grid.json as its one reader checked it (ablations.planning.grid_index); {} where there is none
    or it is malformed (the launch that wrote it refused that already)."""
    from ablations.planning.grid_index import GridIndexError, read_index_if_any

    try:
        index = read_index_if_any(gdir)
    except GridIndexError:
        return {}
    return index.data if index is not None else {}


def _same_images(a: Path, b: Path) -> bool:
    """Whether two runs' validation images are the same (their data and input size): CKA's condition."""
    import yaml

    try:
        ca, cb = (yaml.safe_load((p / CONFIG).read_text()) for p in (a, b))
        return ca["data"] == cb["data"] and ca["model"]["img_size"] == cb["model"]["img_size"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return False


def baseline_of(gdir: Path, index: dict[str, Any], entry: dict[str, Any]) -> Path | None:
    """The finished run of the baseline variant at ``entry``'s profile, seed and data seed that saw
    the same images (the newest, where a grid holds several settings); None for the baseline itself."""
    base = index.get("baseline")
    if not base or entry.get("variant") == base:
        return None
    found = []
    for e in index.get("runs", []):
        folder = gdir / str(e.get("run_id"))
        if (e.get("variant") == base and all(e.get(k) == entry.get(k) for k in ("profile", "seed", "data_seed"))
                and run_state(folder) == "done" and _same_images(folder, gdir / entry["run_id"])):
            found.append(folder)
    return max(found, key=lambda f: (f / RESULT).stat().st_mtime) if found else None


def analyze_runs(gdir: Path, run_ids: Iterable[str], *, log: Callable[[str], None] = print) -> dict[str, int]:
    """Analyse each finished run of ``run_ids`` (grid.json names its variant and seed); returns how
    many were written, already up to date, skipped (not done) and failed."""
    from vt_core.analyze import AnalysisSettings
    from vt_core.analyze.run import analyze_run, is_up_to_date

    index = _index(gdir)
    entries = {e["run_id"]: e for e in index.get("runs", []) if isinstance(e, dict) and "run_id" in e}
    settings = AnalysisSettings(device="auto")
    counts = {"written": 0, "up to date": 0, "not done": 0, "failed": 0}
    for rid in dict.fromkeys(run_ids):
        folder, entry = gdir / rid, entries.get(rid, {"run_id": rid})
        if run_state(folder) != "done":
            counts["not done"] += 1
            continue
        base = baseline_of(gdir, index, entry)
        if is_up_to_date(folder, settings, base):
            counts["up to date"] += 1
            continue
        name = f"{entry.get('variant', '?')} seed {entry.get('seed', '?')} ({rid})"
        try:
            out = analyze_run(folder, settings, base)
        except Exception as e:  # noqa: BLE001 - one run's analysis must not stop the others or the report
            counts["failed"] += 1
            log(f"analysis failed: {name}: {type(e).__name__}: {' '.join(str(e).split())[:200]}")
            continue
        counts["written"] += 1
        log(f"analysed: {name} in {sum(out['seconds'].values()):.1f} s"
            + (f", CKA vs {base.name}" if base is not None else ""))
    return counts


def analyze_grid(gdir: Path, run_ids: Iterable[str]) -> None:
    """The launcher's step after its runs ended: one line per run analysed, one summary line."""
    counts = analyze_runs(gdir, run_ids)
    print("analysis: " + ", ".join(f"{n} {what}" for what, n in counts.items() if n), flush=True)


def after_run(run_dir: Path) -> None:
    """A Slurm task's step after training ``run_dir``: analyse it, and where it is the baseline the
    runs of its seed that finished before it (their CKA needed it). Only when grid.json says so."""
    gdir = run_dir.parent
    index = _index(gdir)
    if not index.get("analyze"):
        return
    entry = next((e for e in index.get("runs", []) if e.get("run_id") == run_dir.name), None)
    ids = [run_dir.name]
    if entry is not None and entry.get("variant") == index.get("baseline"):
        ids += [e["run_id"] for e in index.get("runs", []) if e.get("variant") != entry["variant"]
                and all(e.get(k) == entry.get(k) for k in ("profile", "seed", "data_seed"))]
    analyze_runs(gdir, ids, log=lambda line: print(line, file=sys.stderr, flush=True))
