"""The named parts one run's loop works with, built once and passed around together: its config and
folder, ranks and device, the model and what runs it (compiled, DDP-wrapped), the data and its
batches, the recipe, the log, and the checkpoint they save into."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import RunConfig, TrainConfig
from ..overrides import ConfigError
from ..run_folder import CHECKPOINT
from . import distributed as D
from .batches import Batches
from .log import RunLog
from .recipe import Recipe
from .state import TrainState, save_checkpoint


@dataclass
class RunParts:
    cfg: RunConfig
    out: Path
    denv: D.DistEnv
    device: torch.device
    model: nn.Module  # the module whose weights are saved and counted
    net: nn.Module  # what runs the batches: the model, compiled and/or wrapped in DDP
    bundle: Any  # the DataBundle (eval_sizes reads its in-memory tensors)
    batches: Batches
    recipe: Recipe
    log: RunLog
    started: float  # time.time() at the start of this process's part of the run (wall_time_s)

    def wall_s(self, state: TrainState) -> float:
        """The run's wall seconds so far: earlier processes' (up to their last checkpoint) and this one's."""
        return state.wall_s + time.time() - self.started

    def save(self, state: TrainState) -> None:
        """The checkpoint of ``state`` (rank 0 only: every rank holds the same weights)."""
        if self.denv.is_main:
            save_checkpoint(self.out / CHECKPOINT, model=self.model, recipe=self.recipe, state=state,
                            run_id=self.cfg.run_id(), wall_s=self.wall_s(state))


def select_device(cfg: RunConfig, denv: D.DistEnv) -> torch.device:
    want = cfg.train.device
    if want == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: 'cuda' asked for but no CUDA device is visible")
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", denv.local_rank)
    return torch.device("cpu")


def wrap_for_training(model: nn.Module, tc: TrainConfig, denv: D.DistEnv, device: torch.device) -> nn.Module:
    """The model as the loop runs it: compiled with ``train.compile``, in DDP over several processes."""
    net: nn.Module = model
    if tc.compile:
        # static shapes: a new input size (eval_sizes, a last short batch) recompiles in seconds, while
        # dynamic H×W through padded, shifted windows takes sympy minutes (swin_cpu 32→48: ~9 min)
        net = torch.compile(model, dynamic=False)
    if denv.enabled:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    return net
