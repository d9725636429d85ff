"""The batches of one run: each epoch's training batches in an order seeded by ``(data.seed, epoch)``,
so that a resumed epoch repeats exactly the steps it would have taken, and the validation batches
(all of them, or ``data.val_subset`` drawn with ``train.seed``)."""

from __future__ import annotations

from typing import Any, Iterator

import torch

from ..config import RunConfig
from ..data.pixels import PixelNormalise
from ..overrides import ConfigError
from . import distributed as D
from .decoded import DecodedCache

Batch = tuple[torch.Tensor, torch.Tensor]  # images B×C×H×W on the device, labels B


class Batches:
    """The epoch's batches in a seeded order, so a resumed epoch repeats exactly the same steps.

    In-memory data (probes, CIFAR without augmentation) is indexed directly from tensors, on the
    training device when ``data.on_device``; anything else goes through one DataLoader per split,
    built once, whose ``data.workers`` processes live as long as the run (a new loader per epoch and
    per evaluation restarted them every time: seconds per epoch on a small job). Each worker seeds
    its augmentation draws once, from ``data.seed``; an uninterrupted run is reproducible, a resumed
    one repeats the batches' order and content, not their random crops. A split whose transform is
    deterministic (validation; training without ``data.augment``) keeps what its loader gave, up to
    ``data.cache_mb`` (``decoded.py``): later epochs and evaluations index it instead of decoding.
    Image files arrive as uint8 pixels (what the workers send and the cache keeps) and are normalised
    per batch on the device (``PixelNormalise``; random erasing too, for augmented training).
    """

    def __init__(self, bundle: Any, cfg: RunConfig, denv: D.DistEnv, device: torch.device) -> None:
        self.cfg, self.denv, self.device = cfg, denv, device
        self.train_set, self.val_set = bundle.train, bundle.val
        self.tensors = None
        re_prob = cfg.data.reprob if cfg.data.augment else 0.0
        self.pixels = {0: PixelNormalise(bundle.mean, bundle.std, device=device, re_prob=re_prob),
                       2: PixelNormalise(bundle.mean, bundle.std, device=device)}
        self._loaders: dict[int, tuple[torch.utils.data.DataLoader, _Batches, DecodedCache | None]] = {}
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
        yield from self._fetch(batches, self.train_set, 0)

    def val(self, dataset: Any = None, tensors: tuple | None = None) -> Iterator[Batch]:
        """The validation split in order (or another dataset, or other in-memory tensors)."""
        dataset = dataset if dataset is not None else self.val_set
        batches = self._val_batches(len(dataset) if tensors is None else len(tensors[1]))
        if tensors is not None:
            yield from ((tensors[0][i.to(tensors[0].device)], tensors[1][i.to(tensors[1].device)]) for i in batches)
            return
        yield from self._fetch(batches, dataset, 2)

    def _val_batches(self, n: int) -> list[torch.Tensor]:
        """This rank's share of the validation indices, in batches of ``train.batch_size``."""
        idx, b = self.val_indices(n)[self.denv.rank::self.denv.world_size], self.cfg.train.batch_size
        return [idx[s:s + b] for s in range(0, len(idx), b)]

    def val_indices(self, n: int) -> torch.Tensor:
        """Every validation image, or ``data.val_subset`` of them drawn with the run's seed (the same
        subset for every variant of a seed: paired comparisons), in index order."""
        k = self.cfg.data.val_subset
        if not k or k >= n:
            return torch.arange(n)
        g = torch.Generator().manual_seed(self.cfg.train.seed * 104_729 + 17)
        return torch.randperm(n, generator=g)[:k].sort().values

    def decode_kept(self, *, train: bool = True) -> int:
        """Decode now, before the first step, every image the kept splits will hold (the validation
        images this rank evaluates; the training split too when ``train``), with the workers and
        nothing else running; returns how many were decoded. On the CPU, where the workers and the
        model's threads share the cores, decoding beside the steps slows each step by more than the
        decoding costs (a step's threads wait for the one a worker displaced); the values are those
        the first pass would have decoded, so the run's numbers do not change."""
        if self.tensors is not None:
            return 0
        b = self.cfg.train.batch_size
        todo = [(self._val_batches(len(self.val_set)), self.val_set, 2)]
        if train:
            todo.insert(0, (list(torch.arange(self.n_train).split(b)), self.train_set, 0))
        decoded = 0
        for batches, dataset, offset in todo:
            cache = self._loader(dataset, offset)[2]
            if cache is None:  # no cache for this split (augmented training, data.cache_mb=0): nothing to keep
                continue
            for x, _ in self._decoded(batches, dataset, offset):
                if cache.off:  # the split does not fit: it is decoded in every pass, as without a cache
                    break
                decoded += len(x)
        return decoded

    def _fetch(self, batches: list[torch.Tensor], dataset: Any, offset: int) -> Iterator[Batch]:
        if self.tensors is not None:
            x, y = self.tensors[offset], self.tensors[offset + 1]
            for i in batches:
                i = i.to(x.device)
                yield x[i].to(self.device, non_blocking=True), y[i].to(self.device, non_blocking=True)
            return
        for x, y in self._decoded(batches, dataset, offset):
            yield self.pixels[offset](x.to(self.device, non_blocking=True)), y.to(self.device, non_blocking=True)

    def _decoded(self, batches: list[torch.Tensor], dataset: Any, offset: int) -> Iterator[Batch]:
        """The batches as the workers give them (uint8 pixels for image files), from the split's
        cache where all of a batch is kept; the others go through the loader and are kept."""
        loader, order, cache = self._loader(dataset, offset)
        kept = [cache is not None and cache.has(i) for i in batches]
        order.batches = [i.tolist() for i, k in zip(batches, kept) if not k]
        decoded = iter(loader) if order.batches else iter(())  # no pass of the workers when all is kept
        for i, k in zip(batches, kept):
            if k:
                x, y = cache.get(i)  # type: ignore[union-attr]
            else:
                x, y = next(decoded)
                if cache is not None:
                    cache.put(i, x, y)
            yield x, y

    def _loader(self, dataset: Any, offset: int
                ) -> tuple[torch.utils.data.DataLoader, "_Batches", DecodedCache | None]:
        """The split's DataLoader, built at its first use and kept (its workers persist) with its
        cache; another dataset (``train.eval_sizes`` at another size) gets a loader of its own, not
        kept, nor cached."""
        kept = dataset is (self.train_set if offset == 0 else self.val_set)
        if kept and offset in self._loaders:
            return self._loaders[offset]
        workers = self.cfg.data.workers
        order = _Batches()
        g = torch.Generator().manual_seed(self.cfg.data.seed * 7919 + offset)  # workers' augmentation draws
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=order, num_workers=workers, persistent_workers=kept and workers > 0,
            pin_memory=self.device.type == "cuda", generator=g,
        )
        deterministic = offset != 0 or not self.cfg.data.augment
        cache = (DecodedCache(len(dataset), self.cfg.data.cache_mb, pin=self.device.type == "cuda")
                 if kept and deterministic and self.cfg.data.cache_mb > 0 else None)
        if kept:
            self._loaders[offset] = (loader, order, cache)
        return loader, order, cache


class _Batches:
    """A batch sampler whose batches are set before each pass over the loader (the epoch's order,
    the validation indices): the loader, and its persistent workers, stay the same."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)
