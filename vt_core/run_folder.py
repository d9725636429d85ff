"""The run folder contract: what a run writes, atomically, and how its state is read back.

    config.yaml    the resolved RunConfig (loadable: ``load_config``)
    metrics.jsonl  one JSON object per logged step or epoch
    tb/            TensorBoard events
    checkpoint.pt  latest training state (temp file + rename)
    result.json    written last and atomically; its presence means the run ended (done or diverged)
    transfer.json  where the initial weights came from (``train.init_from``) and what each tensor became
    code.diff      ``git diff HEAD`` of the checkout that (re)started the run, when it had uncommitted changes
    error.txt      the traceback of a failed run, or the one-line reason
    .lock          held (flock) while a process trains the run; released by the kernel if it dies

Every write goes through here; one that the filesystem refuses (full, read-only, a file in the way)
raises ``RunFolderError``, one line naming the file and the errno's text. A write interrupted by a
kill leaves ``.<name>.XXXXXXXX.tmp`` behind; ``remove_temp_files`` clears those at the next start.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterator

import yaml

from .config import RunConfig
from .files import open_regular, read_text
from .overrides import ConfigError, from_dict, to_dict
from .run_result import ResultError, RunResult, load_result

CONFIG, METRICS, RESULT, ERROR, CHECKPOINT, TB, LOCK = (
    "config.yaml", "metrics.jsonl", "result.json", "error.txt", "checkpoint.pt", "tb", ".lock",
)
TRANSFER, CODE_DIFF = "transfer.json", "code.diff"
TB_PATH = "tb.path"  # written by the launcher: where in runs/<grid>/tensorboard/ the events go
WRITTEN_ATOMICALLY = (CONFIG, METRICS, RESULT, ERROR, CHECKPOINT, TRANSFER, CODE_DIFF)
# the temporary names of those writes: tempfile.mkstemp's prefix, 8 characters of its alphabet, suffix
_TEMP_NAME = re.compile(r"\.(%s)\.[a-z0-9_]{8}\.tmp" % "|".join(map(re.escape, WRITTEN_ATOMICALLY)))


class RunFolderError(Exception):
    """The run folder cannot be written (full disk, read-only filesystem, no permission, a file
    where a folder should be): one line naming the file and the errno's text."""


def _mount_point(path: Path) -> Path:
    """The mount ``path`` lies on: the longest mount point in the kernel's table above it (a bind
    mount of a folder shares its device with its parent, so ``os.path.ismount`` misses it and would
    name ``/``); where there is no table, the nearest folder ``os.path.ismount`` recognises."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    real = Path(os.path.realpath(path))
    above = [m for m in _mount_points() if m == real or m in real.parents]
    if above:
        return max(above, key=lambda m: len(m.parts))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _mount_points(table: str = "/proc/self/mountinfo") -> list[Path]:
    """Mount points from Linux's mountinfo (its fifth field, with spaces written as \\040); [] elsewhere."""
    try:
        with open(table, encoding="utf-8", errors="replace") as f:
            rows = [line.split() for line in f]
    except OSError:
        return []
    decode = re.compile(r"\\([0-7]{3})")
    return [Path(decode.sub(lambda m: chr(int(m.group(1), 8)), row[4])) for row in rows if len(row) > 4]


def write_error(path: Path, err: OSError) -> RunFolderError:
    """``err`` (raised writing ``path``) as a RunFolderError that says what the user does about it."""
    code = errno.errorcode.get(err.errno or 0, "?")
    what = f"{path}: cannot write: {err.strerror or err} ({code})"
    disk = _mount_point(path)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            st = os.statvfs(disk)
            free = f" ({st.f_bavail * st.f_frsize / 2**20:.1f} MiB free now)"
        except OSError:
            free = ""
        return RunFolderError(f"{what} on the filesystem at {disk}{free}; free space there and rerun the "
                              "same command (a run resumes from its last checkpoint)")
    if err.errno == errno.EROFS:
        return RunFolderError(f"{what}: the filesystem at {disk} is mounted read-only; choose another --out "
                              "or make it writable")
    if err.errno in (errno.EACCES, errno.EPERM):
        return RunFolderError(f"{what}; make the folder writable for this user or choose another --out")
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        return RunFolderError(f"{what}: a file stands where a folder should be; move it or choose another --out")
    return RunFolderError(f"{what}; check the disk, then rerun the same command (a run resumes from its last "
                          "checkpoint)")


def _os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` (torch.save reports a failed write as a RuntimeError whose context
    is the file object's OSError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _atomic_write(path: Path, write: Any) -> None:
    """``write(file)`` into a temporary file beside ``path``, synced, then renamed over it; a failed
    write removes its temporary file and raises RunFolderError."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:  # a kill (KeyboardInterrupt, SystemExit) too: no temporary file stays
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        cause = _os_error_in(e) if isinstance(e, Exception) else None
        if cause is not None:
            raise write_error(path, cause) from None
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_torch_save(obj: Any, path: Path) -> None:
    import torch  # only a checkpoint write needs it; the launcher's planning reads folders torch-free

    _atomic_write(path, lambda f: torch.save(obj, f))


def make_run_folder(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(Path(e.filename or run_dir), e) from None


def remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        raise write_error(path, e) from None


def remove_temp_files(run_dir: Path) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left in ``run_dir`` (its own names
    only: ``.checkpoint.pt.XXXXXXXX.tmp`` and the like). Call it only while holding the run's lock,
    so that no live write loses its file."""
    removed = []
    for entry in os.scandir(run_dir):
        if entry.is_file(follow_symlinks=False) and _TEMP_NAME.fullmatch(entry.name):
            remove(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


def config_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def load_config(path: str | Path) -> RunConfig:
    """Load a RunConfig from YAML (a run's config.yaml or a user's file); errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(read_text(path))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:  # a folder, a FIFO, no permission, not text
        raise ConfigError(f"{path}: cannot be read as a config ({getattr(e, 'strerror', None) or e})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    try:
        return from_dict(RunConfig, data or {})
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def read_result(run_dir: Path) -> RunResult | None:
    """The run's result.json, or None where it has none or one no trainer writes (``run_state``
    tells the two apart: pending or corrupt)."""
    try:
        return load_result(run_dir / RESULT)
    except (FileNotFoundError, ResultError):
        return None


def last_line(path: Path, limit: int | None = 200) -> str:
    """The last non-empty line of a text file (the exception of a traceback), at most ``limit``
    characters (None: all of it), read from the file's end; "" where there is none."""
    try:
        with open_regular(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1][:limit] if lines else ""
    except OSError:
        return ""


def tb_folder(run_dir: Path) -> Path:
    """Where the run's TensorBoard events go: ``run_dir/tb``, or under a launcher the folder that
    ``run_dir/tb.path`` names (relative, inside the grid's ``tensorboard/``: ``../tensorboard/abs/seed0``),
    so that TensorBoard opened on the runs folder lists each run once, under its readable name."""
    try:
        text = (run_dir / TB_PATH).read_text().strip()
    except FileNotFoundError:
        return run_dir / TB
    except OSError as e:
        raise ConfigError(f"{run_dir / TB_PATH}: cannot be read ({e.strerror or e})") from None
    links = Path(os.path.abspath(run_dir)).parent / "tensorboard"
    target = Path(os.path.normpath(Path(os.path.abspath(run_dir)) / text))
    inside = Path(os.path.realpath(links)) in Path(os.path.realpath(target)).parents  # resolved: no symlink out
    if os.path.isabs(text) or links not in target.parents or links.is_symlink() or not inside:
        raise ConfigError(f"{run_dir / TB_PATH}: {text!r} is not a folder inside {links} (the launcher writes "
                          f"one there); delete {run_dir / TB_PATH} to log into {run_dir / TB}")
    return target


class RunState(StrEnum):
    """What a run folder says of its run. A ``str``, so it prints, compares and serialises as the word
    the launcher and the report show; ``queued`` is the launcher's (Slurm has it), ``corrupt`` a
    result.json whose status is none of the ended ones."""

    DONE = "done"
    DIVERGED = "diverged"
    FAILED = "failed"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    PENDING = "pending"
    QUEUED = "queued"
    CORRUPT = "corrupt"

    @property
    def ended(self) -> bool:
        """Will not train again by itself (failed ones only with --retry-failed)."""
        return self in (RunState.DONE, RunState.DIVERGED, RunState.FAILED)

    @property
    def has_result(self) -> bool:
        """Its result.json holds figures the report can use."""
        return self in (RunState.DONE, RunState.DIVERGED)


RESULT_STATES = (RunState.DONE, RunState.DIVERGED)  # the statuses a trainer writes into result.json


def run_state(run_dir: Path) -> RunState:
    """The state a run folder shows, from its files: result.json, the lock, error.txt, a checkpoint."""
    result = read_result(run_dir)
    if result is not None:
        return RunState(result.status)
    if (run_dir / RESULT).exists():  # there, but not a result (truncated, binary, a bad key): never trained over
        return RunState.CORRUPT
    if (run_dir / LOCK).exists() and is_locked(run_dir):
        return RunState.RUNNING
    if (run_dir / ERROR).exists():
        return RunState.FAILED
    if (run_dir / CHECKPOINT).exists():
        return RunState.INTERRUPTED
    return RunState.PENDING


class RunLock:
    """An exclusive flock on ``<run>/.lock``; a crashed holder never leaves it stuck."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self.fd: int | None = None

    def acquire(self) -> bool:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise write_error(self.path, e) from None
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
    """Whether a live process holds the run's lock. It opens the lock read-only and creates nothing,
    so it also reads a run folder on a read-only filesystem."""
    try:
        fd = os.open(run_dir / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


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
        """One row, stamped with the wall clock (``time``, Unix seconds: --status's ETA reads it)."""
        import time

        try:
            with open(self.path, "a") as f:
                f.write(json.dumps({**record, "time": round(time.time(), 3)}) + "\n")
        except OSError as e:
            raise write_error(self.path, e) from None

    def _lines(self) -> Iterator[dict[str, Any]]:
        for line in self.path.read_text().splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill
                continue
