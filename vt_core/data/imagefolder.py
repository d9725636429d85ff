"""ImageFolder trees in ImageNet's layout: ``root/train/<class>/…`` and ``root/val/<class>/…``,
any image format PIL reads, grayscale, palette or colour (converted to RGB, or to L for
``in_chans=1``), resized to the model's input size. Class indices follow the sorted class folder
names of ``train/``, and ``val/`` must hold exactly the same classes.

Layouts known to work: ImageNet (after the usual val re-foldering), Imagenette / Imagewoof (as
distributed), Tiny-ImageNet as distributed: its ``train/<wnid>/images/*.JPEG`` is found because
images are collected recursively inside a class folder, and its flat ``val/images/`` with
``val/val_annotations.txt`` (``<file>\\t<wnid>\\t…`` per line) is read from the annotations.

The tree is checked before training: missing ``train/`` or ``val/``, no class folders, a class
folder without images, images lying loose in ``train/``, val classes different from train
classes, an annotation naming a missing file, and the first image of every class not opening in
PIL, fewer than 2 classes, are all refused with a one-line ConfigError naming the path. An image
deeper in a class that does not decode (a truncated JPEG, an empty PNG) stops the run when it is
read, in one line naming the file and ``data.skip_broken`` (exit 2), or is skipped with that set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from PIL import Image
from torch.utils.data import Dataset

from ..config import DataConfig
from ..overrides import ConfigError
from .bundle import DataBundle
from .normalisation import used_stats
from .paths import one_line, root_dir, visible
from .transforms import channel_stats, eval_transform, train_transform

LAYOUT = "an ImageFolder tree: train/<class>/<images>, val/<class>/<images>"
TINY_ANNOTATIONS = "val_annotations.txt"


def image_extensions() -> frozenset[str]:
    """Every file extension PIL can open (lower case, with the dot)."""
    Image.init()
    return frozenset(ext.lower() for ext in Image.registered_extensions())


@dataclass(frozen=True)
class FolderLayout:
    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...] = ()
    val: tuple[tuple[str, int], ...] = ()


def _split_dir(root: Path, split: str) -> Path:
    path = root / split
    if not path.is_dir():
        raise ConfigError(f"data.root: {root} has no {split}/ folder (expected {LAYOUT})")
    return path


def _class_dirs(split_dir: Path, exts: frozenset[str]) -> list[str]:
    with os.scandir(split_dir) as it:
        entries = visible(list(it))
    classes = sorted(e.name for e in entries if e.is_dir())
    loose = [e.name for e in entries if e.is_file() and os.path.splitext(e.name)[1].lower() in exts]
    if not classes:
        what = f"holds {len(loose)} images directly but no class folders" if loose else "has no class folders"
        raise ConfigError(f"data.root: {split_dir} {what} (expected {split_dir.name}/<class>/<images>)")
    if loose:
        raise ConfigError(f"data.root: {split_dir} holds images directly ({loose[0]}, …) besides its class folders "
                          f"(expected every image inside {split_dir.name}/<class>/)")
    return classes


def _images(class_dir: Path, exts: frozenset[str]) -> list[str]:
    """Image files inside a class folder, recursively (Tiny-ImageNet keeps them in images/), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [os.path.join(dirpath, f) for f in filenames
                  if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts]
    return sorted(found)


def _check_opens(path: str) -> None:
    try:
        with Image.open(path) as im:
            im.verify()
    except Exception as e:  # noqa: BLE001 - anything PIL raises means the file is not a readable image
        raise ConfigError(f"data.root: {path} is not an image PIL can read ({one_line(e)})") from None


def _tiny_val(val_dir: Path, classes: list[str], exts: frozenset[str], check: bool) -> list[tuple[str, int]]:
    """Tiny-ImageNet's flat validation split: val/images/<file> labelled by val/val_annotations.txt."""
    ann = val_dir / TINY_ANNOTATIONS
    index = {c: i for i, c in enumerate(classes)}
    images = val_dir / "images" if (val_dir / "images").is_dir() else val_dir
    samples = []
    with open(ann, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                raise ConfigError(f"data.root: {ann} line {lineno} is not '<file>\\t<class>\\t…' "
                                  f"(Tiny-ImageNet's val_annotations.txt)")
            name, cls = parts[0].strip(), parts[1].strip()
            if cls not in index:
                raise ConfigError(f"data.root: {ann} line {lineno} names class {cls!r}, which train/ lacks")
            path = images / name
            if not path.is_file():
                raise ConfigError(f"data.root: {path} is listed in {ann.name} (line {lineno}) but does not exist")
            samples.append((str(path), index[cls]))
    if not samples:
        raise ConfigError(f"data.root: {ann} lists no images (expected '<file>\\t<class>\\t…' lines)")
    if check:
        _check_opens(samples[0][0])
    return samples


def scan(data: DataConfig, *, samples: bool = True, check: bool = True) -> FolderLayout:
    """Check the tree and list it. ``samples=False`` stops at the class folders (cheap: used for the
    number of classes); ``check`` also opens the first image of every class."""
    root = root_dir(data.root, LAYOUT)
    train_dir, val_dir = _split_dir(root, "train"), _split_dir(root, "val")
    exts = image_extensions()
    classes = _class_dirs(train_dir, exts)
    if len(classes) < 2:  # one class trains to a meaningless 100 %: nothing to tell apart
        raise ConfigError(f"data.root: {train_dir} has one class folder ({classes[0]}); classification needs at "
                          f"least 2 (expected {train_dir.name}/<class>/<images> for every class)")
    tiny = (val_dir / TINY_ANNOTATIONS).is_file()
    if not tiny:
        val_classes = _class_dirs(val_dir, exts)
        if val_classes != classes:
            lacking = sorted(set(classes) - set(val_classes))
            extra = sorted(set(val_classes) - set(classes))
            parts = [f"lacks {_few(lacking)}" if lacking else "",
                     f"has {_few(extra)} that train/ lacks" if extra else ""]
            raise ConfigError(f"data.root: {val_dir} classes differ from train/'s: it "
                              f"{' and '.join(p for p in parts if p)} (expected the same class folders in both)")
    if not samples:
        return FolderLayout(root, tuple(classes))
    listed: dict[str, list[tuple[str, int]]] = {}
    for split, split_dir in (("train", train_dir), ("val", val_dir)):
        if split == "val" and tiny:
            listed[split] = _tiny_val(val_dir, classes, exts, check)
            continue
        out = []
        for i, c in enumerate(classes):
            files = _images(split_dir / c, exts)
            if not files:
                raise ConfigError(f"data.root: {split_dir / c} has no images "
                                  f"(expected image files PIL reads: .jpg, .jpeg, .png, .bmp, .webp, …)")
            if check:
                _check_opens(files[0])
            out += [(f, i) for f in files]
        listed[split] = out
    return FolderLayout(root, tuple(classes), tuple(listed["train"]), tuple(listed["val"]))


def _few(names: list[str], k: int = 5) -> str:
    shown = ", ".join(names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


class UnreadableImage(ConfigError):
    """An image file PIL cannot decode (truncated, corrupt) met while training: one line naming the
    file and ``data.skip_broken`` (a ConfigError: the user fixes the data, no traceback helps)."""

    def __init__(self, message: str) -> None:
        # A DataLoader worker's error comes back re-raised as UnreadableImage("Caught … Original
        # Traceback …"): keep only its own line, the last one, without the class name before it.
        lines = [line for line in message.splitlines() if line.strip()]
        last = lines[-1] if lines else message
        super().__init__(last.split(f"{type(self).__name__}: ", 1)[-1])


class FolderImages(Dataset):
    """(path, label) samples read with PIL and transformed per sample.

    An image that cannot be decoded (a truncated JPEG deep in a class: the layout check opens only
    the first of each) stops the run with ``UnreadableImage`` naming the file, unless
    ``skip_broken``: then the next readable sample of the split stands in for it, and the file is
    named once in the run's log.
    """

    def __init__(self, samples: tuple[tuple[str, int], ...], transform: Callable, *, skip_broken: bool = False) -> None:
        self.samples, self.transform, self.skip_broken = samples, transform, skip_broken
        self._reported: set[str] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        for k in range(len(self.samples)):
            path, label = self.samples[(i + k) % len(self.samples)]
            try:
                with Image.open(path) as im:
                    return self.transform(im), label
            except (OSError, SyntaxError, ValueError) as e:  # what PIL raises for truncated / corrupt files
                if not self.skip_broken:
                    raise UnreadableImage(f"data.root: {path} cannot be read ({one_line(e)}); fix or remove it, "
                                          f"or set data.skip_broken=true to skip unreadable images") from None
                if path not in self._reported:
                    self._reported.add(path)
                    print(f"warning: skipped unreadable image {path} ({one_line(e)})", flush=True)
        raise UnreadableImage(f"data.root: no image of this split can be read (the first: {self.samples[i][0]})")

    @property
    def targets(self) -> list[int]:
        return [label for _, label in self.samples]


def load_imagefolder(data: DataConfig, img_size: int, in_chans: int) -> DataBundle:
    layout = scan(data)
    stats = used_stats(data)  # the model's data config's, once resolved (vt_core.data.normalisation)
    mean, std = channel_stats(stats, in_chans)
    return DataBundle(
        train=FolderImages(layout.train, train_transform(data, img_size, in_chans), skip_broken=data.skip_broken),
        val=FolderImages(layout.val, eval_transform(img_size, in_chans, data.interpolation, data.crop_pct),
                         skip_broken=data.skip_broken),
        num_classes=len(layout.classes), tensors=None, mean=mean, std=std, classes=layout.classes, name=data.name,
        info={"root": str(layout.root)},
    )
