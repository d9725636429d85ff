"""Image files and arrays leave the DataLoader's workers as uint8 pixels and are normalised per
batch, on the training device, as timm's ``PrefetchLoader`` does (``train.py``'s default): the
workers only decode, resize and crop (``create_transform(use_prefetcher=True)``), a batch crosses
processes and the host-to-device copy at a quarter of its float32 size, and what the model sees is
bit for bit what timm's loader gives it, ``(x − 255·mean) / (255·std)`` in float32. Random erasing,
which acts on normalised pixels, follows the normalisation here too, on the whole batch."""

from __future__ import annotations

from typing import Sequence

import torch
from timm.data.random_erasing import RandomErasing


class PixelNormalise:
    """uint8 batches (B, C, H, W) → float32 model input; anything else (the in-memory tensors, which
    are normalised once at load) is returned as it is."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], *, device: torch.device | str = "cpu",
                 re_prob: float = 0.0) -> None:
        shape = (1, len(mean), 1, 1)
        self.mean = torch.tensor([m * 255 for m in mean], dtype=torch.float32, device=device).view(shape)
        self.std = torch.tensor([s * 255 for s in std], dtype=torch.float32, device=device).view(shape)
        # timm's create_transform erases with mode 'const', one box per image: the same here
        self.erase = RandomErasing(probability=re_prob, mode="const", max_count=1, device=device) if re_prob else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.uint8:
            return x
        x = x.to(torch.float32).sub_(self.mean).div_(self.std)
        return self.erase(x) if self.erase is not None else x
