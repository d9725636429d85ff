"""A small digits-like ImageFolder written as real PNG files, for checks that must go through image
files end to end (``vt_core.bench.trainer``, the agreement test with timm's ``train.py``): 10
classes, grayscale, the glyph of PIL's built-in font at a random size, position, rotation and
stroke contrast, on a noisy background. Deterministic given the seed; nothing is downloaded."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..overrides import ConfigError

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
    holding this set (the files are a function of the arguments) is left as it is. The set is written
    into a temporary sibling and renamed into place, so a reader, or a second writer at once, never
    sees half of it. A folder that holds anything else is refused: the two sets would mix."""
    root = Path(root)
    marker = f".digits-{train_per_class}-{val_per_class}-{size}-{seed}-{spread}"
    if (root / marker).exists():
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root}: {'not a folder' if not root.is_dir() else 'not empty, and not this digits set'}; "
                          "give a new or an empty folder")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        tmp.chmod(0o755)
        _write(tmp, train_per_class, val_per_class, size, seed, spread)
        (tmp / marker).touch()
        try:
            if root.exists():
                root.rmdir()  # empty: make room (fails if another writer has filled it meanwhile)
            tmp.rename(root)
        except OSError:
            if not (root / marker).exists():
                raise ConfigError(f"{root}: filled by another process while the digits were written") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write(root: Path, train_per_class: int, val_per_class: int, size: int, seed: int, spread: float) -> None:
    font = ImageFont.load_default(size=3 * size)
    for split, per_class, offset in (("train", train_per_class, 0), ("val", val_per_class, 1)):
        rng = np.random.default_rng([seed, offset])
        for digit in CLASSES:
            folder = root / split / digit
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.fromarray(_glyph(font, digit, size, rng, spread), mode="L").save(folder / f"{i:05d}.png")
