"""The random number generators a run draws from (Python's, NumPy's global one, torch's CPU and CUDA
generators): seeded at the start, saved with every checkpoint and restored on resume, so that a
resumed run draws exactly what the uninterrupted one would have.

The saved states are plain lists, numbers and tensors, what ``torch.load(weights_only=True)`` reads
back: no pickled NumPy arrays or Python tuples of unknown types."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_data_draws(seed: int) -> None:
    """After the model is initialised from ``train.seed``: Python's and NumPy's generators, which
    Mixup / CutMix and in-process augmentation draw from, follow ``data.seed`` (torch's generator,
    drop path's, stays with ``train.seed``; DataLoader workers get their seeds from ``data.seed``)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)


def rng_state() -> dict[str, Any]:
    version, internal, gauss_next = random.getstate()
    kind, key, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss_next": gauss_next},
        "numpy": {"kind": str(kind), "key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss_next"]))
    key = npy["key"].cpu().numpy().astype(np.uint32)  # MT19937's 624 words
    np.random.set_state((npy["kind"], key, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
