"""What ``load_data`` returns: the two splits as torch Datasets, plus, for in-memory data, the
ready tensors the training loop can keep on its device and batch by indexing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset


@dataclass
class DataBundle:
    """train / val: Datasets of (image C×H×W; int label): uint8 pixels for image files and arrays,
    which ``pixels.PixelNormalise(mean, std)`` turns into the model's input per batch, or float32
    already normalised for in-memory data. tensors: for in-memory data, ``(train_x, train_y, val_x,
    val_y)`` with float32 normalised images already at the model's input size and int64 labels (the
    very tensors ``train`` / ``val`` index), else None. mean / std: the normalisation, per channel."""

    train: Dataset
    val: Dataset
    num_classes: int
    tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...] = ()
    name: str = ""
    info: dict[str, Any] = field(default_factory=dict)


class TensorImages(Dataset):
    """Images and labels held as tensors; ``meta`` keeps per-sample latent variables (probes)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, meta: dict[str, torch.Tensor] | None = None) -> None:
        assert len(x) == len(y)
        self.x, self.y, self.meta = x, y, meta or {}

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])

    @property
    def targets(self) -> list[int]:
        return self.y.tolist()


class ArrayImages(Dataset):
    """uint8 images (N, H, W, C) in a NumPy array, turned into PIL images and transformed per
    sample: CIFAR with augmentation, or at sizes too large to hold as floats."""

    def __init__(self, images: np.ndarray, labels: Sequence[int], transform: Callable) -> None:
        self.images, self.labels, self.transform = images, list(labels), transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]

    @property
    def targets(self) -> list[int]:
        return self.labels
