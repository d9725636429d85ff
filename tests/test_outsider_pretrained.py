"""``train.init_from`` naming something that is no regular file (a FIFO would block the read at
planning forever; a device, a socket) is refused at planning in one line, exit 2, nothing written."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.support.launch import launch, write_grid
from vt_core.overrides import ConfigError
from vt_core.weights.sources import read


@pytest.mark.parametrize("kind", ["fifo", "socket", "run folder's checkpoint a fifo"])
def test_non_regular_files_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.pth"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        path = tmp_path / "s.pth"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
    else:
        path = tmp_path / "run"
        path.mkdir()
        os.mkfifo(path / "checkpoint.pt")
    with pytest.raises(ConfigError) as e:
        read(str(path), shapes_only=True)
    msg = str(e.value)
    assert "\n" not in msg and "is not a regular file" in msg and "train.init_from" in msg, msg
    assert ("a FIFO" if kind != "socket" else "a socket") in msg


def test_fifo_as_init_from_does_not_hang_dry_run(tmp_path: Path) -> None:
    fifo = tmp_path / "x.pth"
    os.mkfifo(fifo)
    runs = tmp_path / "runs"
    done = launch("--grid", str(write_grid(tmp_path)), "--profile", "cpu", "--dry-run",
                  "--set", f"train.init_from={fifo}", runs=runs, timeout=120)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1 and str(fifo) in err and "FIFO" in err, err
    assert not runs.exists()
