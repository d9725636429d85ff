"""The loader's own output kept in memory, so that an image file is decoded once per run, not once
per epoch and per evaluation.

Where a split's per-sample transform is deterministic (no augmentation: resize, centre crop, to
uint8 pixels), the tensors the DataLoader yields for an index are the same in every pass.
``DecodedCache`` keeps them as they came out of the loader, up to ``data.cache_mb`` MiB per split; a
batch whose images are all kept is indexed from memory, any other goes through the loader and is
kept. The values are the loader's own, bit for bit, so a run trains to the same numbers with the
cache off (``data.cache_mb=0``); what later passes lose is the decoding and the worker round trips.
"""

from __future__ import annotations

import torch

MIB = 2**20


class DecodedCache:
    """Up to ``budget_mb`` MiB of one split's decoded samples (images and labels, by dataset index).

    The store is allocated at the first batch, for the whole split, once its size is known; a split
    that would not fit is not kept at all (nothing is evicted: a pass is either decoded or not).
    """

    def __init__(self, n: int, budget_mb: int, *, pin: bool = False) -> None:
        self.n, self.budget, self.pin = n, budget_mb * MIB, pin
        self.x: torch.Tensor | None = None
        self.y: torch.Tensor | None = None
        self.kept = torch.zeros(n, dtype=torch.bool)
        self.off = budget_mb <= 0

    def has(self, idx: torch.Tensor) -> bool:
        """Whether every sample of the batch ``idx`` is kept."""
        return self.x is not None and bool(self.kept[idx].all())

    def get(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.x is not None and self.y is not None
        return self.x[idx], self.y[idx]

    def put(self, idx: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> None:
        """Keep the loader's batch for the indices it was asked for (a batch of another length, which
        a dataset that drops samples could give, is not kept)."""
        if self.off or x.shape[0] != len(idx) or y.shape[0] != len(idx):
            return
        if self.x is None:
            if self.n * (x[0].numel() * x.element_size() + y[0].numel() * y.element_size()) > self.budget:
                self.off = True  # the split does not fit: every pass decodes, as without a cache
                return
            self.x = torch.empty((self.n, *x.shape[1:]), dtype=x.dtype, pin_memory=self.pin)
            self.y = torch.empty((self.n, *y.shape[1:]), dtype=y.dtype)
        assert self.y is not None
        self.x[idx], self.y[idx] = x, y
        self.kept[idx] = True
