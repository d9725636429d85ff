"""A small digits-like ImageFolder written as real PNG files, for checks that must go through image
files end to end (``vt_core.bench.trainer``, the agreement test with timm's ``train.py``): 10
classes, grayscale, the glyph of PIL's built-in font at a random size, position, rotation and
stroke contrast, on a noisy background. Deterministic given the seed; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CLASSES = tuple(str(d) for d in range(10))


def _glyph(draw_font: ImageFont.FreeTypeFont | ImageFont.ImageFont, digit: str, size: int,
           rng: np.random.Generator, spread: float) -> np.ndarray:
    """One uint8 image of ``digit``: drawn large, rotated, scaled down to ``size`` with its offset;
    ``spread`` (0 – 1) scales every random variation (0: centred, upright, clean glyphs)."""
    big = 4 * size
    canvas = Image.new("L", (big, big), 0)
    ImageDraw.Draw(canvas).text((big / 2, big / 2), digit, fill=255, font=draw_font, anchor="mm")
    canvas = canvas.rotate(float(rng.uniform(-15, 15)) * spread, resample=Image.BILINEAR)
    scale = 1.0 - rng.uniform(0.0, 0.3) * spread
    side = max(4, int(round(size * scale)))
    glyph = np.asarray(canvas.resize((side, side), Image.BILINEAR), dtype=np.float32) / 255.0
    out = np.zeros((size, size), dtype=np.float32)
    y, x = ((size - side) // 2 + np.round(rng.uniform(-1, 1, size=2) * spread * (size - side) / 2)).astype(int)
    out[y:y + side, x:x + side] = glyph
    ink = 1.0 - rng.uniform(0.0, 0.5) * spread  # faint to full strokes
    noisy = out * ink + rng.normal(0.15, 0.02 + rng.uniform(0.01, 0.1) * spread, size=out.shape)
    return (np.clip(noisy, 0.0, 1.0) * 255).astype(np.uint8)


def write_digit_folder(root: str | Path, *, train_per_class: int, val_per_class: int, size: int = 28,
                       seed: int = 0, spread: float = 1.0) -> Path:
    """``root/train/<digit>/*.png`` and ``root/val/<digit>/*.png``; returns ``root``. A folder already
    holding every file is left as it is (the files are a function of the arguments)."""
    root = Path(root)
    marker = root / f".digits-{train_per_class}-{val_per_class}-{size}-{seed}-{spread}"
    if marker.exists():
        return root
    font = ImageFont.load_default(size=3 * size)
    for split, per_class, offset in (("train", train_per_class, 0), ("val", val_per_class, 1)):
        rng = np.random.default_rng([seed, offset])
        for digit in CLASSES:
            folder = root / split / digit
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.fromarray(_glyph(font, digit, size, rng, spread), mode="L").save(folder / f"{i:05d}.png")
    marker.touch()
    return root
