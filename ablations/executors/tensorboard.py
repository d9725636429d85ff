"""TensorBoard under human names: ``runs/<grid>/tensorboard/<variant>/seed<k>`` links to each run
folder's event directory, so ``tensorboard --logdir runs/<grid>/tensorboard`` lists ``abs/seed0``
instead of a run id.

    runs/<grid>/tensorboard/<variant>/seed<k>          -> ../../<run_id>/tb
    runs/<grid>/tensorboard/<variant>/seed<k>_data<j>  (an entry whose data_seed is not its seed)

The names come from ``runs/<grid>/grid.json``; the links are relative (the runs folder can move or
be copied). Two entries that would take one name (the same variant and seed under other ``--set``
values) are both named with their run id appended, ``seed0_<run_id>``. Writing them is idempotent:
a link that points elsewhere is replaced, a link no entry names any more is removed, and nothing
outside ``tensorboard/`` is touched (run folders never), nor a file or folder someone put there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LINKS = "tensorboard"
TB = "tb"  # vt_core.run_folder.TB (not imported: that module loads torch)


def link_name(entry: dict[str, Any]) -> str:
    """``<variant>/seed<k>`` or ``<variant>/seed<k>_data<j>`` for one grid.json entry."""
    seed = entry["seed"]
    data = entry.get("data_seed")
    if data is None:
        data = entry.get("overrides", {}).get("data.seed")
    suffix = f"_data{data}" if data is not None and data != seed else ""
    return f"{entry['variant']}/seed{seed}{suffix}"


def wanted_links(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Link name → run id, each run id once (its first entry), names made unique with the run id."""
    by_name: dict[str, list[str]] = {}
    seen: set[str] = set()
    for e in entries:
        if e["run_id"] in seen:
            continue
        seen.add(e["run_id"])
        by_name.setdefault(link_name(e), []).append(e["run_id"])
    out = {}
    for name, ids in by_name.items():
        for rid in ids:
            out[name if len(ids) == 1 else f"{name}_{rid}"] = rid
    return out


def link_tensorboard(gdir: Path) -> int:
    """Write ``gdir/tensorboard/`` from ``gdir/grid.json``; returns the number of links there.
    No grid.json (or one that does not parse): nothing is written, 0."""
    gdir = Path(gdir)
    try:
        entries = json.loads((gdir / "grid.json").read_text()).get("runs", [])
    except (OSError, json.JSONDecodeError, AttributeError):
        return 0
    root = gdir / LINKS
    wanted = {root / name: rid for name, rid in wanted_links(entries).items()}
    for link, rid in list(wanted.items()):
        target = os.path.relpath(gdir / rid / TB, link.parent)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.exists() and not link.is_symlink():  # someone's own file or folder: left alone
            del wanted[link]
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{link.name}.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, link)  # atomic: TensorBoard reading the folder never sees the name missing
    _remove_stale(root, set(wanted))
    return len(wanted)


def _remove_stale(root: Path, wanted: set[Path]) -> None:
    """Links under ``root`` that no entry names, and the folders they leave empty (never a file or a
    folder someone put there: only links and empty folders go)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):  # does not follow the links
        here = Path(dirpath)
        for name in filenames + dirnames:
            path = here / name
            if path.is_symlink() and path not in wanted:
                path.unlink()
        if here != root and not any(here.iterdir()):
            here.rmdir()
