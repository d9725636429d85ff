"""A run folder on a read-only bind mount (a folder mounted onto another, on the same device: what
``docker -v …:ro`` or ``mount --bind`` make) is reported as that mount, not as the filesystem at /.
Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped with that reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vt_core.run_folder import RunFolderError, atomic_write_text


@pytest.fixture()
def read_only_bind(tmp_path: Path):
    source, target = tmp_path / "source", tmp_path / "mounted"
    source.mkdir()
    target.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here (needs root): {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=True, capture_output=True)
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def test_read_only_bind_mount_is_named(read_only_bind: Path) -> None:
    run = read_only_bind / "run"
    with pytest.raises(RunFolderError) as e:
        atomic_write_text(run.parent / "result.json", "{}")
    msg = str(e.value)
    assert "\n" not in msg and "Read-only file system" in msg, msg
    assert f"the filesystem at {read_only_bind} is mounted read-only" in msg, msg
