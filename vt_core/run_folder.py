"""The run folder contract: what a run writes, atomically, and how its state is read back.

    config.yaml    the resolved RunConfig (loadable: ``load_config``)
    metrics.jsonl  one JSON object per logged step or epoch
    tb/            TensorBoard events
    checkpoint.pt  latest training state (temp file + rename)
    result.json    written last and atomically; its presence means the run ended (done or diverged)
    error.txt      the traceback of a failed run
    .lock          held (flock) while a process trains the run; released by the kernel if it dies

A write interrupted by a kill leaves its ``.<name>.XXXXXXXX.tmp`` behind; ``remove_temp_files``
clears those at the next start of the run.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import torch
import yaml

from .config import RunConfig
from .overrides import ConfigError, from_dict, to_dict

CONFIG, METRICS, RESULT, ERROR, CHECKPOINT, TB, LOCK = (
    "config.yaml", "metrics.jsonl", "result.json", "error.txt", "checkpoint.pt", "tb", ".lock",
)
WRITTEN_ATOMICALLY = (CONFIG, METRICS, RESULT, ERROR, CHECKPOINT)
# the temporary names of those writes: tempfile.mkstemp's prefix, 8 characters of its alphabet, suffix
_TEMP_NAME = re.compile(r"\.(%s)\.[a-z0-9_]{8}\.tmp" % "|".join(map(re.escape, WRITTEN_ATOMICALLY)))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_torch_save(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_temp_files(run_dir: Path) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left in ``run_dir`` (its own names
    only: ``.checkpoint.pt.XXXXXXXX.tmp`` and the like). Call it only while holding the run's lock,
    so that no live write loses its file."""
    removed = []
    for entry in os.scandir(run_dir):
        if entry.is_file(follow_symlinks=False) and _TEMP_NAME.fullmatch(entry.name):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def config_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def load_config(path: str | Path) -> RunConfig:
    """Load a RunConfig from YAML (a run's config.yaml or a user's file); errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        return from_dict(RunConfig, data or {})
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def read_result(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / RESULT).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def run_state(run_dir: Path) -> str:
    """done | diverged | failed | running | interrupted | pending."""
    result = read_result(run_dir)
    if result is not None:
        return str(result.get("status", "done"))
    if (run_dir / LOCK).exists() and is_locked(run_dir):
        return "running"
    if (run_dir / ERROR).exists():
        return "failed"
    if (run_dir / CHECKPOINT).exists():
        return "interrupted"
    return "pending"


class RunLock:
    """An exclusive flock on ``<run>/.lock``; a crashed holder never leaves it stuck."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            return False
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return True

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def is_locked(run_dir: Path) -> bool:
    lock = RunLock(run_dir)
    if lock.acquire():
        lock.release()
        return False
    return True


class MetricsLog:
    """Append-only JSON lines; on resume, lines past the checkpoint are dropped so none repeat."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def truncate_after(self, global_step: int) -> None:
        if not self.path.exists():
            return
        kept = [line for line in self._lines() if line.get("step", 0) <= global_step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def _lines(self) -> Iterator[dict[str, Any]]:
        for line in self.path.read_text().splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill
                continue
