"""Reading the files a run folder or a grid's folder holds, safely: a FIFO (or a device, a socket,
a folder) where a file is expected must not block or be read as data. ``open_regular`` opens
without blocking, checks the file is a regular one, and only then reads; anything else is an
``OSError`` (``EINVAL``, "not a regular file"), which every reader treats as an unreadable file."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO, Any


def open_regular(path: str | Path, mode: str = "rb", **kwargs: Any) -> IO[Any]:
    """``open(path, mode)`` for reading, refusing (OSError) anything but a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO opens at once, unread
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def read_text(path: str | Path) -> str:
    """The text of a regular file (UTF-8); OSError for anything else, UnicodeDecodeError for bytes."""
    with open_regular(path, "r", encoding="utf-8") as f:
        return f.read()


class JsonFileError(ValueError):
    """Why a JSON file could not be read: ``unreadable`` (the reason) or not JSON (the parser's first line)."""

    def __init__(self, reason: str, *, unreadable: bool) -> None:
        super().__init__(reason)
        self.reason, self.unreadable = reason, unreadable


def read_json(path: str | Path) -> Any:
    """The JSON value in a regular file (UTF-8, -16 or -32, as ``json.loads`` detects on bytes).
    FileNotFoundError passes through: whether no file is an error is the caller's to say."""
    import json

    try:
        with open_regular(path, "rb") as f:  # a FIFO there is refused, not waited on
            text = f.read()
    except FileNotFoundError:
        raise
    except OSError as e:
        raise JsonFileError(str(e.strerror or e), unreadable=True) from None
    try:
        return json.loads(text)
    except ValueError as e:  # not JSON, or not text at all
        raise JsonFileError(str(e).splitlines()[0], unreadable=False) from None
