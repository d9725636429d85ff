"""The batches of one run: each epoch's training batches in an order seeded by ``(data.seed, epoch)``,
so that a resumed epoch repeats exactly the steps it would have taken, and the validation batches
(all of them, or ``data.val_subset`` drawn with ``train.seed``)."""

from __future__ import annotations

from typing import Any, Iterator

import torch

from ..config import RunConfig
from ..overrides import ConfigError
from . import distributed as D

Batch = tuple[torch.Tensor, torch.Tensor]  # images B×C×H×W on the device, labels B


class Batches:
    """The epoch's batches in a seeded order, so a resumed epoch repeats exactly the same steps.

    In-memory data (probes, CIFAR without augmentation) is indexed directly from tensors, on the
    training device when ``data.on_device``; anything else goes through a DataLoader.
    """

    def __init__(self, bundle: Any, cfg: RunConfig, denv: D.DistEnv, device: torch.device) -> None:
        self.cfg, self.denv, self.device = cfg, denv, device
        self.train_set, self.val_set = bundle.train, bundle.val
        self.tensors = None
        if bundle.tensors is not None and not cfg.data.augment:
            where = device if cfg.data.on_device else torch.device("cpu")
            self.tensors = tuple(t.to(where) for t in bundle.tensors)
        self.n_train = len(self.train_set)
        if cfg.train.batch_size % denv.world_size:
            raise ConfigError(f"train.batch_size: {cfg.train.batch_size} does not split over "
                              f"{denv.world_size} processes")
        self.per_rank = cfg.train.batch_size // denv.world_size
        self.steps_per_epoch = self.n_train // cfg.train.batch_size
        if self.steps_per_epoch == 0:
            raise ConfigError(f"train.batch_size: {cfg.train.batch_size} is larger than the {self.n_train} "
                              "training images")

    def train(self, epoch: int, start_step: int) -> Iterator[Batch]:
        """This rank's share of the epoch's batches from ``start_step`` on (the last short batch is dropped)."""
        g = torch.Generator().manual_seed(self.cfg.data.seed * 1_000_003 + epoch)  # the data's seed, not init's
        order = torch.randperm(self.n_train, generator=g)
        b, world, rank = self.cfg.train.batch_size, self.denv.world_size, self.denv.rank
        batches = [order[s * b:(s + 1) * b][rank::world] for s in range(start_step, self.steps_per_epoch)]
        yield from self._fetch(batches, self.train_set, 0, train=True, epoch=epoch)

    def val(self, dataset: Any = None, tensors: tuple | None = None) -> Iterator[Batch]:
        """The validation split in order (or another dataset, or other in-memory tensors)."""
        dataset = dataset if dataset is not None else self.val_set
        n = len(dataset) if tensors is None else len(tensors[1])
        b = self.cfg.train.batch_size
        idx = self.val_indices(n)[self.denv.rank::self.denv.world_size]
        batches = [idx[s:s + b] for s in range(0, len(idx), b)]
        if tensors is not None:
            yield from ((tensors[0][i.to(tensors[0].device)], tensors[1][i.to(tensors[1].device)]) for i in batches)
            return
        yield from self._fetch(batches, dataset, 2, train=False, epoch=0)

    def val_indices(self, n: int) -> torch.Tensor:
        """Every validation image, or ``data.val_subset`` of them drawn with the run's seed (the same
        subset for every variant of a seed: paired comparisons), in index order."""
        k = self.cfg.data.val_subset
        if not k or k >= n:
            return torch.arange(n)
        g = torch.Generator().manual_seed(self.cfg.train.seed * 104_729 + 17)
        return torch.randperm(n, generator=g)[:k].sort().values

    def _fetch(self, batches: list[torch.Tensor], dataset: Any, offset: int, *, train: bool,
               epoch: int) -> Iterator[Batch]:
        if self.tensors is not None:
            x, y = self.tensors[offset], self.tensors[offset + 1]
            for i in batches:
                i = i.to(x.device)
                yield x[i].to(self.device, non_blocking=True), y[i].to(self.device, non_blocking=True)
            return
        g = torch.Generator().manual_seed(self.cfg.data.seed * 7919 + epoch)  # workers' augmentation draws
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=[i.tolist() for i in batches], num_workers=self.cfg.data.workers,
            pin_memory=self.device.type == "cuda", generator=g,
        )
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
