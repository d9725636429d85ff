"""The batches a row's steps consume: one fixed random batch, or the in-memory probe as training gets it."""

from __future__ import annotations

from typing import Iterator

import torch

from .settings import Settings


def synthetic_batches(s: Settings, num_classes: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(s.batch, 3, s.img_size, s.img_size, generator=g).to(s.device)
    y = torch.randint(0, num_classes, (s.batch,), generator=g).to(s.device)
    while True:
        yield x, y


def probe_batches(s: Settings) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches exactly as training gets them: the in-memory probe through ``vt_core.train.Batches``
    (kept on the device, ``data.on_device``), epoch after epoch."""
    from ..config import DataConfig, RunConfig, TrainConfig
    from ..data import load_data
    from ..train.distributed import DistEnv
    from ..train.run import Batches

    data = DataConfig(name="arrangement", train_size=8 * s.batch, val_size=1, on_device=True)
    cfg = RunConfig(data=data, train=TrainConfig(batch_size=s.batch, device=s.device.type))
    batches = Batches(load_data(data, img_size=s.img_size, in_chans=3), cfg, DistEnv(), s.device)
    epoch = 0
    while True:
        yield from batches.train(epoch, 0)
        epoch += 1
