"""What one Slurm array task runs: train (or resume) one run.

Its own module, importing nothing heavy at the top: submitit installs its SIGUSR2 handler only once
it has unpickled the task, which imports this module; importing vt_core first (torch, timm: over
10 s on a loaded machine) left a window in which the time-limit signal killed the job outright."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any


class TrainJob:
    """One array task: train (or resume) one run. submitit calls ``checkpoint`` on preemption or
    timeout; it resubmits the same call, which resumes from ``checkpoint.pt``. ``hparams_first``:
    the grid's axes and the seeds, which TensorBoard's HParams table leads with."""

    def __init__(self, hparams_first: tuple[str, ...] = ()) -> None:
        self.hparams_first = tuple(hparams_first)

    def __call__(self, config_path: str, out: str) -> dict[str, Any]:
        import submitit
        import torch

        from vt_core.run_folder import load_config
        from vt_core.train import RunBusy, RunInterrupted, train

        env = submitit.JobEnvironment()
        cpus = int(os.environ.get("SLURM_CPUS_PER_TASK", "0"))
        if cpus:  # as many threads as Slurm gave the task, like the local executor's split
            torch.set_num_threads(cpus)
        if env.num_tasks > 1:  # MASTER_ADDR/PORT, RANK, WORLD_SIZE, LOCAL_RANK for vt_core.train.distributed
            submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0"))
        if restarts:  # the evidence a requeue leaves: Slurm truncates the log of earlier attempts
            print(f"[{Path(out).name}] attempt {restarts + 1} (requeued {restarts}x)", flush=True)
        try:
            result = train(load_config(config_path), out, progress=False, hparams_first=self.hparams_first)
        except RunInterrupted as e:
            e.forward_signal()  # submitit's handler: checkpoint() below, requeue, exit (or "too many times")
            raise
        except RunBusy as e:
            return {"status": "busy", "message": str(e)}
        # The run has ended: a time-limit signal from now on has nothing to save, and arriving while
        # the interpreter exits it would kill the finished job (state FAILED in sacct).
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        if result.get("status") == "done":
            from ablations.analysis_step import after_run

            after_run(Path(out))  # when grid.json asks for it (launch.py --analyze)
        return result

    def checkpoint(self, config_path: str, out: str) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(TrainJob(self.hparams_first), config_path, out)
