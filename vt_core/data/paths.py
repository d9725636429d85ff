"""``data.root`` checks shared by the on-disk datasets: every failure is a one-line ConfigError that
names the path and what was expected there."""

from __future__ import annotations

import os
from pathlib import Path

from ..overrides import ConfigError


def one_line(text: object, limit: int = 200) -> str:
    """An exception's message squeezed onto one line (for messages that quote a library's error)."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def root_dir(root: str, expected: str) -> Path:
    """``data.root`` as an absolute folder that exists, else a ConfigError saying what belongs there."""
    if not root:
        raise ConfigError(f"data.root: empty (expected {expected})")
    path = Path(os.path.abspath(os.path.expanduser(root)))
    if not path.exists():
        raise ConfigError(f"data.root: {path} does not exist (expected {expected})")
    if not path.is_dir():
        raise ConfigError(f"data.root: {path} is not a folder (expected {expected})")
    return path


def visible(entries: list[os.DirEntry]) -> list[os.DirEntry]:
    return [e for e in entries if not e.name.startswith(".")]
