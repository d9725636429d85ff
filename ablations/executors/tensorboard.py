"""TensorBoard under human names, each run once: ``tensorboard --logdir runs`` and ``tensorboard
--logdir runs/<grid>/tensorboard`` both list ``abs/seed0`` (under ``<grid>/tensorboard/`` from runs/),
never a run id beside it.

    runs/<grid>/tensorboard/<variant>/seed<k>/          the run's event files (a real folder)
    runs/<grid>/<run_id>/tb.path                        "../tensorboard/<variant>/seed<k>": read by the trainer
    runs/<grid>/tensorboard/<variant>/seed<k>_data<j>   (an entry whose data_seed is not its seed)

TensorBoard follows symlinked folders (its Python and its Rust loader alike), so a link from a
readable name to the run folder's ``tb/`` showed every run twice on ``runs/``. Instead the launcher
gives each run a readable folder before it starts and writes its path into the run folder
(``tb.path``; ``vt_core.run_folder.tb_folder``), and the trainer writes its events there: one copy,
found once from either folder. The name, once given, is kept (``tb.path`` is never rewritten), so
a resumed or requeued run appends to the same folder. Two entries that would take one name (the
same variant and seed under other ``--set`` values) are named with their run id appended,
``seed0_<run_id>`` (both when planned together; the later one when the name was already given).
A run trained before this (its events in the run folder's own ``tb/``) keeps them there and gets a
relative link under the readable name, as before.

The names come from ``runs/<grid>/grid.json``; what is written and removed stays inside
``tensorboard/``, checked on resolved paths: a grid.json entry whose variant, seed or run id could
name another place (``../../victim``, a seed ``"1/../x"``) is refused (grid.json's reader, one line),
a ``tensorboard/`` or variant folder that is a symlink is never followed (its names are left
unwritten, with a note), and only links this module makes (``…/<run_id>/tb`` of this grid,
relative) are ever removed: another grid's link, a link someone put there, a file or a folder, and
every folder of events stay.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from ablations.planning.grid import _NAME as _VARIANT  # the grid's rule for variant names: one place for it
from vt_core.overrides import ConfigError

LINKS = "tensorboard"
TB = "tb"  # vt_core.run_folder.TB (not imported: that module loads torch)
TB_PATH = "tb.path"  # vt_core.run_folder.TB_PATH
_RUN_ID = re.compile(r"[0-9a-f]{12}")  # RunConfig.run_id: 12 hex digits


def link_name(entry: dict[str, Any]) -> str:
    """``<variant>/seed<k>`` or ``<variant>/seed<k>_data<j>`` for one (checked) grid.json entry."""
    seed = entry["seed"]
    data = _data_seed(entry)
    suffix = f"_data{data}" if data is not None and data != seed else ""
    return f"{entry['variant']}/seed{seed}{suffix}"


def _data_seed(entry: dict[str, Any]) -> Any:
    """The entry's data seed; an older grid.json's ``overrides["data.seed"]`` only where it is a
    whole number (grid.json's reader checks ``data_seed``, not what ``overrides`` holds: anything
    else there names nothing, rather than a path)."""
    data = entry.get("data_seed")
    overrides = entry.get("overrides")
    if data is None and isinstance(overrides, dict):
        old = overrides.get("data.seed")
        data = old if isinstance(old, int) and not isinstance(old, bool) else None
    return data


def _entry_problem(entry: Any) -> str | None:
    """Why an entry cannot name a link inside ``tensorboard/`` (None: it can)."""
    if not isinstance(entry, dict):
        return f"is a {type(entry).__name__}, not an entry"
    variant, run_id = entry.get("variant"), entry.get("run_id")
    if not isinstance(variant, str) or not _VARIANT.fullmatch(variant) or ".." in variant:
        return f".variant {variant!r} is not a variant name (letters, digits, _ . + - =, no '..')"
    if not isinstance(run_id, str) or not _VARIANT.fullmatch(run_id) or ".." in run_id:  # the reader's rule
        return f".run_id {run_id!r} is not a run folder's name (letters, digits, _ . + - =, no '..')"
    for key, value in (("seed", entry.get("seed")), ("data_seed", _data_seed(entry))):
        if (value is not None or key == "seed") and (isinstance(value, bool) or not isinstance(value, int)):
            return f".{key} {value!r} is not a whole number"
    return None


def check_entries(path: Path, entries: Any) -> list[dict[str, Any]]:
    """The entries of ``path`` (a grid.json), each of which names a link inside ``tensorboard/``;
    a one-line ConfigError naming the first that does not."""
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'runs' is a {type(entries).__name__}, not a list of entries; "
                          "remove the file to plan the grid afresh")
    for i, entry in enumerate(entries):
        problem = _entry_problem(entry)
        if problem:
            raise ConfigError(f"{path}: runs[{i}]{problem}; the launcher writes no such entry: remove it "
                              "(or the file, to plan the grid afresh)")
    return entries


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
    """Give every run of ``gdir/grid.json`` its readable TensorBoard folder (or, for a run whose
    events are in its own ``tb/``, a link under that name); returns how many names there are. No
    grid.json, or a malformed one (grid.json's reader refuses it at planning, naming the field):
    nothing is written, 0. An entry that could name a place outside ``tensorboard/``: ConfigError."""
    from ablations.planning.grid_index import GridIndexError, read_index_if_any

    gdir = Path(os.path.abspath(gdir))
    try:  # every name checked by grid.json's one reader; check_entries checks the paths again
        index = read_index_if_any(gdir)
    except GridIndexError:
        return 0
    if index is None:
        return 0
    entries = check_entries(index.path, index.data.get("runs", []))
    root = gdir / LINKS
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        _note(root, "is not a folder of this grid (a symlink or a file): left as it is")
        return 0
    made, placed = set(), 0
    for name, rid in wanted_links(entries).items():
        own = gdir / rid / TB
        if own.is_dir() and not own.is_symlink():  # trained before: its events stay where they are
            link = root / name
            if _write_link(root, link, os.path.relpath(own, link.parent)):
                made.add(link)
                placed += 1
        elif _claim(root, gdir / rid, name):
            placed += 1
    _remove_stale(gdir, root, made)
    return placed


def _claim(root: Path, run: Path, name: str) -> bool:
    """``run/tb.path`` naming the run's readable folder (made here, empty until the run writes):
    kept as it is once written; a name someone else holds gets the run id appended."""
    pointer = run / TB_PATH
    if pointer.is_file():
        return True  # given before: the trainer checks it (vt_core.run_folder.tb_folder)
    folder = root / name
    if folder.exists() or folder.is_symlink():  # another run's, or someone's own
        folder = root / f"{name}_{run.name}"
    if folder.parent != root and (folder.parent.is_symlink() or not _inside(root, folder.parent)):
        _note(folder.parent, "is a symlink: not followed, its names left unwritten")
        return False
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        return False
    folder.mkdir(parents=True, exist_ok=True)
    run.mkdir(parents=True, exist_ok=True)
    tmp = run / f".{TB_PATH}.tmp"
    tmp.write_text(os.path.relpath(folder, run) + "\n")
    os.replace(tmp, pointer)
    return True


def _write_link(root: Path, link: Path, target: str) -> bool:
    """One link, atomically; False where a folder on the way is a symlink or someone's own file or
    folder holds the name (never followed, never replaced)."""
    if link.parent != root and (link.parent.is_symlink() or not _inside(root, link.parent)):
        _note(link.parent, "is a symlink: not followed, its links left unwritten")
        return False
    if link.is_symlink() and os.readlink(link) == target:
        return True
    if link.exists() and not link.is_symlink():  # someone's own file or folder: left alone
        return False
    if link.is_symlink() and not _ours(root.parent, link):  # someone's own link: left alone
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)  # atomic: TensorBoard reading the folder never sees the name missing
    return True


def _inside(root: Path, path: Path) -> bool:
    real = Path(os.path.realpath(path))
    return real == Path(os.path.realpath(root)) or Path(os.path.realpath(root)) in real.parents


def _ours(gdir: Path, link: Path) -> bool:
    """A link this module made: relative, to ``<run_id>/tb`` of this grid's folder."""
    target = os.readlink(link)
    if os.path.isabs(target):
        return False
    lands = Path(os.path.normpath(link.parent / target))
    return lands.name == TB and lands.parent.parent == gdir and bool(_RUN_ID.fullmatch(lands.parent.name))


def _remove_stale(gdir: Path, root: Path, wanted: set[Path]) -> None:
    """Links this module made that no entry names any more, and the folders their removal left
    empty; never a symlinked folder's contents, another's link, a file or a folder of one's own."""
    if not root.is_dir():
        return
    emptied: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, topdown=True):  # does not descend into symlinks
        here = Path(dirpath)
        for name in filenames + dirnames:
            path = here / name
            if path.is_symlink() and path not in wanted and _ours(gdir, path):
                path.unlink()
                emptied.add(here)
    for here in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while here != root and here.is_dir() and not here.is_symlink() and not any(here.iterdir()):
            here.rmdir()
            here = here.parent


def _note(path: Path, what: str) -> None:
    print(f"note: {path} {what}; TensorBoard names for this grid are incomplete", file=sys.stderr)
