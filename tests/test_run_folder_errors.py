"""A run folder that cannot be written — a file where the folder should be, a read-only filesystem,
a disk that fills up during training — is one line on stderr naming the file and the errno's text,
exit code 1 (failed), ``error.txt`` where it can still be written; after a full disk, freeing space
and rerunning resumes from the last checkpoint.

The filesystems are real: tmpfs mounts of a chosen size, remounted read-only or larger. Mounting
needs root (CAP_SYS_ADMIN); elsewhere those tests are skipped with that reason. Read-only is a
read-only mount, which stops root too; ``chmod -w``, which does not, is tested only when not root.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.training import cli, final_metrics, tiny_sets
from vt_core.run_folder import run_state

ARGS = ["--preset", "vit_cpu", "--set", *tiny_sets("train.epochs=3", "train.warmup_epochs=0")]


@pytest.fixture()
def tmpfs(tmp_path: Path):
    """A mounted tmpfs; call it with a size in bytes (``remount(options)`` changes it later)."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True, capture_output=True)


def failure_line(proc) -> str:
    err = proc.stderr.read().strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.slow
@pytest.mark.parametrize("where", ["run", "run/sub"])
def test_a_file_where_the_run_folder_should_be(tmp_path: Path, where: str) -> None:
    (tmp_path / "run").write_text("a file, not a folder")
    out = tmp_path / where
    proc = cli(out, *ARGS)
    assert proc.wait(timeout=300) == 1
    err = failure_line(proc)
    assert str(tmp_path / "run") in err and ("File exists" in err or "Not a directory" in err), err
    assert (tmp_path / "run").read_text() == "a file, not a folder"


@pytest.mark.slow
def test_read_only_run_folder(tmpfs) -> None:
    disk = tmpfs(16 * 2**20)
    out = disk / "run"
    out.mkdir()
    remount(disk, "ro")
    proc = cli(out, *ARGS)
    assert proc.wait(timeout=300) == 1
    err = failure_line(proc)
    assert str(out) in err and "Read-only file system" in err, err
    assert list(out.iterdir()) == []


@pytest.mark.slow
def test_full_disk_during_training_then_resume(tmp_path: Path, tmpfs) -> None:
    ref = cli(tmp_path / "ref", *ARGS)
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    reference = json.loads((tmp_path / "ref" / "result.json").read_text())
    ckpt_size = (tmp_path / "ref" / "checkpoint.pt").stat().st_size
    # room for one checkpoint and the logs, not for the second that the next save writes beside it
    disk = tmpfs(int(ckpt_size * 1.5))
    out = disk / "run"
    proc = cli(out, *ARGS)
    assert proc.wait(timeout=300) == 1
    err = failure_line(proc)
    assert str(out) in err and "No space left on device" in err, err
    assert run_state(out) == "failed" and "No space left on device" in (out / "error.txt").read_text()
    assert not list(out.glob(".*.tmp")), "a failed write left its temporary file"
    # the user frees space and reruns the same command: it resumes and ends as if never stopped
    remount(disk, f"size={64 * 2**20}")
    again = cli(out, *ARGS)
    assert again.wait(timeout=300) == 0, again.stderr.read()
    assert "resumed from checkpoint.pt: epoch 2/3, step 0" in again.stdout.read()
    assert final_metrics(json.loads((out / "result.json").read_text())) == final_metrics(reference)
    assert run_state(out) == "done"


def test_state_of_a_run_folder_on_a_read_only_filesystem(tmpfs) -> None:
    """Reading states (``launch.py --status``, the report) creates nothing, so it works read-only."""
    disk = tmpfs(16 * 2**20)
    out = disk / "run"
    out.mkdir()
    (out / ".lock").write_text("")
    (out / "checkpoint.pt").write_bytes(b"")
    remount(disk, "ro")
    assert run_state(out) == "interrupted"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores chmod -w; the read-only mount test covers root")
def test_run_folder_without_write_permission(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    out.chmod(0o555)
    try:
        proc = cli(out, *ARGS)
        assert proc.wait(timeout=300) == 1
        err = failure_line(proc)
        assert str(out) in err and "Permission denied" in err, err
    finally:
        out.chmod(0o755)
