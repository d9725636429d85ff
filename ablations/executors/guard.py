"""Trainers end with their launcher: a run process that outlives the launcher that started it trains
on unwatched, holds its run's lock against the next launch, and competes with it for the cores.

    python -m ablations.executors.guard PARENT_PID -- COMMAND [ARG ...]

asks Linux to send SIGTERM to this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``, kept
across ``execve``), checks that the parent is still ``PARENT_PID`` (it may have died before the
request), then replaces itself with COMMAND: no extra process stays. A trainer that gets the signal
saves a checkpoint at its next step and exits 75 (vt_core.train.signals), so the next launch resumes it.

The guard imports nothing outside the standard library: it runs before every trainer, and loading
torch here would double each run's start-up. Elsewhere than Linux, ``guarded`` returns the command
as it is (no such signal there).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
EX_TEMPFAIL = 75  # vt_core.exit_codes.INTERRUPTED (importing vt_core would load torch): nothing ran; rerun


def guarded(cmd: list[str]) -> list[str]:
    """``cmd`` started behind the guard, so that it gets SIGTERM when this process dies.

    The parent-death signal follows the *thread* that started the child: call it (and Popen) from
    the thread that lives as long as the launcher, its main thread."""
    if not sys.platform.startswith("linux"):
        return list(cmd)
    return [sys.executable, "-m", "ablations.executors.guard", str(os.getpid()), "--", *cmd]


def set_parent_death_signal(sig: int = signal.SIGTERM) -> None:
    """The kernel sends ``sig`` to this process when its parent ends (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        print("usage: python -m ablations.executors.guard PARENT_PID -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    parent, cmd = int(argv[0]), argv[2:]
    set_parent_death_signal()
    if os.getppid() != parent:  # the launcher died before the request: the signal will never come
        print(f"guard: the launcher (pid {parent}) is gone; not starting {cmd[0]}", file=sys.stderr)
        return EX_TEMPFAIL
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        print(f"guard: cannot start {cmd[0]}: {e.strerror or e}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
