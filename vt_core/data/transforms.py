"""Image preprocessing and augmentation, all through timm: ``create_transform`` for per-sample
pipelines (``data.augment`` → timm's training recipe: random-resized crop, flip, RandAugment;
otherwise resize + centre crop), giving uint8 pixels that ``pixels.PixelNormalise`` normalises (and
randomly erases) per batch, as timm's prefetcher does; ``Mixup`` for mixup / cutmix; and a
vectorised resize + normalise for in-memory tensors (done once at load, not per sample)."""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from timm.data import Mixup, create_transform
from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torchvision import transforms as T

from ..config import DataConfig
from ..overrides import ConfigError

Stats = tuple[tuple[float, ...], tuple[float, ...]]

# Probes: [0, 1] → [-1, 1]. Not their pixel statistics (mean ≈ 0.12, std ≈ 0.13: a dark background
# with sparse bright shapes), which would put the shapes at ≈ +7 and drown the position embeddings
# in a token's LayerNorm; with these, the CPU ViTs learn positions within a few epochs, not dozens.
PROBE_STATS: Stats = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
CIFAR10_STATS: Stats = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
CIFAR100_STATS: Stats = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))
IMAGENET_STATS: Stats = (tuple(IMAGENET_DEFAULT_MEAN), tuple(IMAGENET_DEFAULT_STD))

LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, what PIL's convert("L") uses


def check_in_chans(in_chans: int) -> None:
    if in_chans not in (1, 3):
        raise ConfigError(f"model.in_chans: {in_chans}; the datasets give RGB (3) or grayscale (1) images")


def channel_stats(stats: Stats, in_chans: int) -> Stats:
    """Mean / std per channel for ``in_chans`` channels (grayscale: the luma-weighted RGB ones)."""
    mean, std = stats
    if in_chans == 1:
        return (sum(w * m for w, m in zip(LUMA, mean)),), (sum(w * s for w, s in zip(LUMA, std)),)
    return tuple(mean), tuple(std)


class ToMode:
    """PIL image → the given mode ('RGB' or 'L'): grayscale, palette, RGBA, CMYK … all become one."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, img: Any) -> Any:
        return img if img.mode == self.mode else img.convert(self.mode)

    def __repr__(self) -> str:
        return f"ToMode({self.mode!r})"


def data_stats(data: DataConfig, default: Stats) -> Stats:
    """``data.mean`` / ``data.std`` where given (a pretrained model's, to fine-tune it), else the dataset's."""
    if not data.mean:
        return default
    mean, std = tuple(data.mean), tuple(data.std)
    return (mean * 3, std * 3) if len(mean) == 1 else (mean, std)


def eval_transform(img_size: int, in_chans: int = 3, interpolation: str = "bicubic",
                   crop_pct: float = 1.0) -> T.Compose:
    """Resize the shorter side to ``img_size / crop_pct``, centre crop ``img_size``, to uint8 pixels
    C×H×W (timm's evaluation transform as its prefetcher wants it; ``crop_pct`` 0 means 1). The
    normalisation follows per batch (``pixels.PixelNormalise``)."""
    tf = create_transform(img_size, is_training=False, crop_pct=crop_pct or 1.0, interpolation=interpolation,
                          use_prefetcher=True)
    return T.Compose([ToMode("L" if in_chans == 1 else "RGB"), *tf.transforms])


def train_transform(data: DataConfig, img_size: int, in_chans: int = 3) -> T.Compose:
    """timm's training recipe when ``data.augment`` (random erasing, which acts on normalised pixels,
    is ``PixelNormalise``'s), else resize + centre crop without a crop margin (what timm's
    ``train.py --no-aug`` does); uint8 pixels C×H×W either way."""
    if not data.augment:
        return eval_transform(img_size, in_chans, data.interpolation)
    aa = data.auto_augment if data.auto_augment and data.auto_augment.lower() not in ("none", "off", "false") else None
    tf = create_transform(img_size, is_training=True, auto_augment=aa, interpolation=data.interpolation,
                          use_prefetcher=True)
    return T.Compose([ToMode("L" if in_chans == 1 else "RGB"), *tf.transforms])


def to_gray(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) → (N, 1, H, W) luma, same dtype range."""
    w = torch.tensor(LUMA, dtype=torch.float32).view(1, 3, 1, 1)
    return (x.float() * w).sum(1, keepdim=True)


def normalise_tensors(x: torch.Tensor, img_size: int, stats: Stats, in_chans: int = 3, *,
                      chunk: int = 4096) -> torch.Tensor:
    """uint8 images (N, 3, h, w) → float32 (N, in_chans, img_size, img_size), normalised, resized once.

    Upscaling by a whole factor repeats pixels (nearest), so anything aligned to the pixel grid
    stays aligned to the scaled grid (the probes' cells); other sizes use antialiased bicubic.
    Works in chunks so that the float copy of a large set is built without a second one.
    """
    mean, std = channel_stats(stats, in_chans)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    n, _, h, w = x.shape
    out = torch.empty(n, in_chans, img_size, img_size, dtype=torch.float32)
    for s in range(0, n, chunk):
        b = x[s:s + chunk].float().div_(255.0)
        if in_chans == 1:
            b = to_gray(b)
        if (h, w) != (img_size, img_size):
            if img_size % h == 0 and img_size % w == 0:
                b = F.interpolate(b, size=(img_size, img_size), mode="nearest")
            else:
                b = F.interpolate(b, size=(img_size, img_size), mode="bicubic", antialias=True, align_corners=False)
                b = b.clamp_(0.0, 1.0)
        out[s:s + chunk] = (b - mean_t) / std_t
    return out


def build_mixup(data: DataConfig, num_classes: int, label_smoothing: float) -> Mixup | None:
    """timm's ``Mixup`` (mixup and/or cutmix, with label smoothing folded into its soft targets), or
    None when both alphas are 0. Train with ``timm.loss.SoftTargetCrossEntropy`` when it is not None;
    batches must have an even size."""
    if data.mixup <= 0 and data.cutmix <= 0:
        return None
    return Mixup(mixup_alpha=data.mixup, cutmix_alpha=data.cutmix, label_smoothing=label_smoothing,
                 num_classes=num_classes)


__all__: Sequence[str] = [
    "CIFAR100_STATS", "CIFAR10_STATS", "IMAGENET_STATS", "PROBE_STATS", "ToMode", "build_mixup", "channel_stats",
    "check_in_chans", "data_stats", "eval_transform", "normalise_tensors", "train_transform",
]
