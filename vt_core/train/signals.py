"""Stopping a run on request: SIGTERM / SIGUSR2 (what Slurm sends before preemption or the time
limit) set a flag that the training loop checks between steps; the run then saves a checkpoint and
raises ``RunInterrupted``, which the command line turns into exit code 75 ("try again")."""

from __future__ import annotations

import signal
from typing import Any


class RunInterrupted(Exception):
    """The run was asked to stop (SIGTERM / SIGUSR2) and saved a checkpoint."""

    def __init__(self, message: str, signum: int | None = None, previous_handler: Any = None) -> None:
        super().__init__(message)
        self.signum, self.previous_handler = signum, previous_handler

    def forward_signal(self) -> bool:
        """Call the handler that was installed before the run's own (submitit's requeue handler)."""
        if self.signum is not None and callable(self.previous_handler):
            self.previous_handler(self.signum, None)
            return True
        return False


class StopFlag:
    """SIGTERM / SIGUSR2 set a flag that the loop checks between steps; the previous handlers come
    back on exit."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR2)

    def __init__(self) -> None:
        self.raised: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        for sig in self.SIGNALS:
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. the debug executor in a thread): no handler
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.raised = signum

    def interrupted(self, where: str) -> RunInterrupted:
        """The exception to raise once the checkpoint is saved; it carries the previous handler."""
        signum = self.raised
        previous = self.previous.get(signum) if signum is not None else None
        return RunInterrupted(f"stopped by signal at {where}; checkpoint saved", signum, previous)

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
