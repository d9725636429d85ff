"""Path arguments of the command lines (``launch.py --runs-dir/--reports-dir``, ``report.py
--grid/--out/--runs-dir``), checked before anything is read or written.

An empty path would mean the current folder (``os.path.abspath("")``): refused, as is a path
component longer than the filesystem takes (``OSError: [Errno 36] File name too long`` deep in a
write otherwise). A grid *name* is one path component: ``report.py --grid ../../x/tiny`` would
otherwise read ``runs/../../x/tiny`` and write ``reports/../../x/tiny``, outside both folders.

Imports only the standard library: these checks run before torch is loaded, or instead of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from vt_core.overrides import ConfigError

NAME_MAX = 255  # bytes per path component on Linux's filesystems, when pathconf cannot say


def _name_max(path: Path) -> int:
    """The longest component the filesystem at ``path`` (its nearest existing folder) takes."""
    here = Path(os.path.abspath(path))
    while not os.path.isdir(here) and here != here.parent:
        here = here.parent
    try:
        return os.pathconf(here, "PC_NAME_MAX")
    except (OSError, ValueError):
        return NAME_MAX


def check_path(flag: str, value: str, what: str = "a folder (an empty path would mean the current one)") -> str:
    """``value`` when it can name a file or folder here; else a one-line ConfigError naming ``flag``."""
    if not value.strip():
        raise ConfigError(f"{flag}: empty; give {what}")
    if "\0" in value:
        raise ConfigError(f"{flag}: {value!r} holds a NUL byte, which no path can")
    limit = _name_max(Path(value))
    for part in Path(value).parts:
        if len(os.fsencode(part)) > limit:
            raise ConfigError(f"{flag}: a path component is {len(os.fsencode(part))} bytes long "
                              f"({part[:24]}…), above the filesystem's {limit}; choose a shorter name")
    return value


def check_grid_name(flag: str, value: str) -> str:
    """A grid given by name or by its module's path (``….py``): the name (the module's stem) becomes
    a folder under runs/ and reports/, so it follows the launcher's one rule for grid names."""
    from ablations.planning.grid import _GRID_NAME  # the rule load_grid applies: one place for it

    check_path(flag, value, "a grid name or a grid module's path")
    name = Path(value).stem if value.endswith(".py") else value
    if not _GRID_NAME.match(name) or ".." in name:
        raise ConfigError(f"{flag}: {value!r} is not a grid name (letters, digits, _ . + -, no '..') nor a grid "
                          "module's path ending in .py; where the runs are is --runs-dir")
    return value
