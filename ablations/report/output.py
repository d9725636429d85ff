"""Writing a report's folder so that two reports on one ``--out`` (a Slurm report job and a local
rerun) both finish with complete output, and a full or read-only disk is one line.

- Every file is written whole or not at all (``vt_core.run_folder.atomic_write_bytes``: a temporary
  file beside it, then ``os.replace``): a reader never sees half a table, and two writers of one
  file leave one of their complete versions.
- Stale files of an earlier report (another metric's table, a figure the runs no longer allow) are
  removed after the new ones are written, by name, and a file another report removed first is not
  an error.
- ``OutputLock`` (``flock`` on ``<out>/.report.lock``) makes the reports on one folder take turns,
  so that one's stale-file removal never meets the other's half-finished set.
- A write the filesystem refuses raises ``ReportWriteError``: the file, the errno's text and, for a
  full disk, the filesystem and its free space (``vt_core.run_folder.write_error``).
"""

from __future__ import annotations

import fcntl
import io
import os
from pathlib import Path
from typing import Any, Iterable

LOCK = ".report.lock"


class ReportWriteError(Exception):
    """The report's folder cannot be written (full disk, read-only, no permission): one line."""


def make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _error(Path(e.filename or out), e) from None


def write_bytes(path: Path, data: bytes) -> None:
    """``data`` as ``path``, whole or not at all, readable by the group like any file the user writes."""
    from vt_core.run_folder import RunFolderError, atomic_write_bytes

    try:
        atomic_write_bytes(path, data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(path, 0o666 & ~umask)
    except RunFolderError as e:  # its one line names the file and the disk
        raise ReportWriteError(str(e)) from None
    except OSError as e:
        raise _error(path, e) from None


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def save_figure(fig: Any, path: Path, **kwargs: Any) -> None:
    """A matplotlib Figure rendered in memory, then written like any file (the format from the suffix)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip("."), **kwargs)
    write_bytes(path, buf.getvalue())


def remove_stale(paths: Iterable[Path]) -> None:
    """Remove files of an earlier report; one already gone (another report removed it) is fine."""
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except IsADirectoryError:
            continue
        except OSError as e:
            raise _error(p, e) from None


class OutputLock:
    """An exclusive ``flock`` on ``<out>/.report.lock`` for the whole write: a second report on the
    same folder waits for the first (seconds), then writes its own complete set."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise _error(self.path, e) from None
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _error(path: Path, err: OSError) -> ReportWriteError:
    from vt_core.run_folder import write_error

    return ReportWriteError(str(write_error(path, err)))
