"""torch.distributed from the environment: torchrun's variables or Slurm's (one task per GPU)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def detect() -> DistEnv:
    env = os.environ
    if int(env.get("WORLD_SIZE", "1")) > 1:  # torchrun, or submitit's TorchDistributedEnvironment export
        return DistEnv(int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", "0")))
    if int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env and "MASTER_ADDR" in env:
        return DistEnv(int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_LOCALID", "0")))
    return DistEnv()


def init(denv: DistEnv, device: torch.device) -> None:
    if not denv.enabled or dist.is_initialized():
        return
    os.environ.setdefault("MASTER_PORT", "29500")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, rank=denv.rank, world_size=denv.world_size)


def all_reduce_sum(t: torch.Tensor, denv: DistEnv) -> torch.Tensor:
    if denv.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def any_rank(flag: bool, denv: DistEnv, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any (so all ranks stop at the same step)."""
    if not denv.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def shutdown(denv: DistEnv) -> None:
    if denv.enabled and dist.is_initialized():
        dist.destroy_process_group()
