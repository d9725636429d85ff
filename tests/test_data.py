"""On-disk datasets (CIFAR pickles, ImageFolder trees, timm specs), transforms, mixup, and every
malformed-path case: small real-format data that the tests write themselves; nothing is downloaded."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.datasets import expect_error, pickle_to, write_cifar10, write_cifar100, write_imagefolder, write_png
from vt_core.config import DataConfig
from vt_core.data import DATASETS, PROBES, build_mixup, data_kind, dataset_num_classes, load_data, validate_data
from vt_core.data.pixels import PixelNormalise
from vt_core.data.transforms import CIFAR10_STATS
from vt_core.overrides import ConfigError

# ============================================================================ CIFAR


@pytest.fixture()
def cifar10(tmp_path: Path) -> Path:
    return write_cifar10(tmp_path / "data")


def _raw(root: Path, name: str) -> tuple[np.ndarray, list[int]]:
    with open(root / "cifar-10-batches-py" / name, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    return entry["data"].reshape(-1, 3, 32, 32), entry["labels"]


def test_cifar10_loads_as_normalised_tensors(cifar10: Path) -> None:
    b = load_data(DataConfig(name="cifar10", root=str(cifar10)), img_size=32)
    tx, ty, vx, vy = b.tensors
    assert tx.shape == (20, 3, 32, 32) and tx.dtype == torch.float32 and ty.dtype == torch.long
    assert vx.shape == (6, 3, 32, 32) and len(vy) == 6
    assert b.num_classes == 10 and b.classes[3] == "cat" and (b.mean, b.std) == CIFAR10_STATS
    raw, labels = _raw(cifar10, "data_batch_1")
    assert ty[:4].tolist() == labels
    mean, std = (torch.tensor(s).view(3, 1, 1) for s in CIFAR10_STATS)
    assert torch.allclose(tx[0] * std + mean, torch.from_numpy(raw[0]).float() / 255, atol=1e-5)
    test_raw, test_labels = _raw(cifar10, "test_batch")
    assert vy.tolist() == test_labels
    x, y = b.train[5]
    assert torch.equal(x, tx[5]) and y == int(ty[5]) and isinstance(y, int)
    assert len(b.train) == 20 and len(b.val) == 6


def test_cifar_resized_once_at_load(cifar10: Path) -> None:
    data = DataConfig(name="cifar10", root=str(cifar10))
    base = load_data(data, img_size=32).tensors[0]
    up = load_data(data, img_size=64).tensors[0]  # a whole factor: pixels repeated
    assert up.shape == (20, 3, 64, 64)
    assert torch.equal(up, base.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert load_data(data, img_size=48).tensors[2].shape == (6, 3, 48, 48)
    gray = load_data(data, img_size=32, in_chans=1)
    assert gray.tensors[0].shape == (20, 1, 32, 32) and len(gray.mean) == 1


def test_cifar10_root_may_name_the_batches_folder(cifar10: Path) -> None:
    b = load_data(DataConfig(name="cifar10", root=str(cifar10 / "cifar-10-batches-py")), img_size=32)
    assert len(b.train) == 20


def test_cifar_augmented_goes_through_timm_transforms(cifar10: Path) -> None:
    data = DataConfig(name="cifar10", root=str(cifar10), augment=True, reprob=0.5)
    b = load_data(data, img_size=32)
    assert b.tensors is None  # per-sample random transforms; the loop uses a DataLoader
    x, y = b.train[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.uint8 and isinstance(y, int)  # pixels: normalised per batch
    names = [type(t).__name__ for t in b.train.transform.transforms]
    assert "RandomResizedCropAndInterpolation" in names and "RandAugment" in names
    assert "RandomErasing" not in names  # it acts on the normalised batch (PixelNormalise), as in timm's prefetcher
    v1, v2 = b.val[0][0], b.val[0][0]
    assert torch.equal(v1, v2)  # validation stays deterministic
    plain = load_data(DataConfig(name="cifar10", root=str(cifar10)), img_size=32)
    assert torch.allclose(PixelNormalise(b.mean, b.std)(v1[None])[0], plain.tensors[2][0], atol=1e-5)


def test_cifar100(tmp_path: Path) -> None:
    root = write_cifar100(tmp_path)
    b = load_data(DataConfig(name="cifar100", root=str(root)), img_size=32)
    assert b.num_classes == 100 and b.tensors[0].shape == (12, 3, 32, 32) and b.tensors[2].shape == (5, 3, 32, 32)
    assert b.classes[7] == "c7"


def test_cifar_num_classes_needs_no_disk() -> None:
    """A grid can be planned where the data is not (a laptop planning for a cluster)."""
    assert dataset_num_classes(DataConfig(name="cifar10", root="/nowhere/cifar")) == 10
    assert dataset_num_classes(DataConfig(name="cifar100", root="/nowhere/cifar")) == 100


def test_cifar_malformed_paths(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    expect_error(DataConfig(name="cifar10", root=str(missing)), str(missing), "does not exist", "cifar-10-batches-py")
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    expect_error(DataConfig(name="cifar10", root=str(a_file)), str(a_file), "not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    expect_error(DataConfig(name="cifar10", root=str(empty)), f"{empty} has no cifar-10-batches-py/",
                 "data_batch_1..5", "test_batch")
    expect_error(DataConfig(name="cifar100", root=str(empty)), f"{empty} has no cifar-100-python/", "train, test, meta")
    # validate_data makes the same checks without reading
    expect_error(DataConfig(name="cifar10", root=str(empty)), str(empty), fn=validate_data)


def test_cifar_missing_and_corrupt_files(tmp_path: Path) -> None:
    root = write_cifar10(tmp_path / "a")
    folder = root / "cifar-10-batches-py"
    (folder / "data_batch_3").unlink()
    (folder / "test_batch").unlink()
    expect_error(DataConfig(name="cifar10", root=str(root)), f"{folder} lacks data_batch_3, test_batch")

    root = write_cifar10(tmp_path / "b")
    bad = root / "cifar-10-batches-py" / "data_batch_2"
    bad.write_bytes(b"this is not a pickle")
    expect_error(DataConfig(name="cifar10", root=str(root)), f"{bad} is not a CIFAR pickle")

    root = write_cifar10(tmp_path / "c")
    bad = root / "cifar-10-batches-py" / "data_batch_4"
    pickle_to(bad, {"pixels": np.zeros((2, 3072), np.uint8)})
    expect_error(DataConfig(name="cifar10", root=str(root)), str(bad), "expected 'data' and 'labels'")

    root = write_cifar10(tmp_path / "d")
    bad = root / "cifar-10-batches-py" / "data_batch_5"
    pickle_to(bad, {"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})
    expect_error(DataConfig(name="cifar10", root=str(root)), str(bad), "N×3072")

    root = write_cifar10(tmp_path / "e")
    bad = root / "cifar-10-batches-py" / "test_batch"
    pickle_to(bad, {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]})
    expect_error(DataConfig(name="cifar10", root=str(root)), str(root / "cifar-10-batches-py"), "labels in [0, 10]")


# ============================================================================ ImageFolder


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return write_imagefolder(tmp_path / "imgs")


def test_imagefolder_loads_any_format_resized(folder: Path) -> None:
    b = load_data(DataConfig(name="imagefolder", root=str(folder)), img_size=16)
    assert b.num_classes == 3 and b.classes == ("cat", "dog", "fish") and b.tensors is None
    assert len(b.train) == 9 and len(b.val) == 6
    assert b.train.targets == [0, 0, 0, 1, 1, 1, 2, 2, 2] and b.val.targets == [0, 0, 1, 1, 2, 2]
    for ds in (b.train, b.val):
        for i in range(len(ds)):
            x, y = ds[i]
            assert x.shape == (3, 16, 16) and x.dtype == torch.uint8 and isinstance(y, int)
    gray_index = [p for p, _ in b.train.samples].index(str(folder / "train" / "dog" / "dog_0.png"))
    g = b.train[gray_index][0]
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])  # gray → R = G = B
    assert dataset_num_classes(DataConfig(name="imagefolder", root=str(folder))) == 3
    one = load_data(DataConfig(name="imagefolder", root=str(folder)), img_size=20, in_chans=1)
    assert one.train[0][0].shape == (1, 20, 20) and len(one.mean) == 1


def test_imagefolder_augmented_and_in_a_dataloader(folder: Path) -> None:
    b = load_data(DataConfig(name="imagefolder", root=str(folder), augment=True), img_size=24)
    loader = torch.utils.data.DataLoader(b.train, batch_size=4, num_workers=0)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 24, 24) and y.dtype == torch.long


def test_randaugment_extremes_run_with_the_installed_pillow() -> None:
    """DeiT's RandAugment ("inc1") posterizes down to 0 bits at magnitude 10; timm hands that to
    ``ImageOps.posterize``, which Pillow 13 refuses (hence ``pillow<13`` in pyproject.toml)."""
    from timm.data.auto_augment import posterize

    assert posterize(Image.new("RGB", (8, 8), (200, 100, 50)), 0).getpixel((0, 0)) == (0, 0, 0)


def test_tiny_imagenet_layout(tmp_path: Path) -> None:
    """train/<wnid>/images/*.JPEG (+ boxes file), val/images/* labelled by val/val_annotations.txt."""
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n01443537", "n01629819"]
    for i, w in enumerate(wnids):
        for j in range(2):
            write_png(root / "train" / w / "images" / f"{w}_{j}.JPEG", size=(64, 64), seed=10 * i + j)
        (root / "train" / w / f"{w}_boxes.txt").write_text(f"{w}_0.JPEG\t0\t0\t10\t10\n")
    lines = []
    for j in range(4):
        write_png(root / "val" / "images" / f"val_{j}.JPEG", size=(64, 64), seed=100 + j)
        lines.append(f"val_{j}.JPEG\t{wnids[j % 2]}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    b = load_data(DataConfig(name="imagefolder", root=str(root)), img_size=32)
    assert b.classes == tuple(wnids) and len(b.train) == 4 and b.val.targets == [0, 1, 0, 1]
    assert b.val[1][0].shape == (3, 32, 32)

    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG n01443537\n")
    expect_error(DataConfig(name="imagefolder", root=str(root)), str(root / "val" / "val_annotations.txt"), "line 1")
    (root / "val" / "val_annotations.txt").write_text("val_9.JPEG\tn01443537\t0\t0\t1\t1\n")
    expect_error(DataConfig(name="imagefolder", root=str(root)), str(root / "val" / "images" / "val_9.JPEG"),
                 "does not exist")
    (root / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99999999\t0\t0\t1\t1\n")
    expect_error(DataConfig(name="imagefolder", root=str(root)), "'n99999999'", "train/ lacks")


def test_imagefolder_malformed_trees(tmp_path: Path) -> None:
    def cfg(p: Path) -> DataConfig:
        return DataConfig(name="imagefolder", root=str(p))

    missing = tmp_path / "missing"
    expect_error(cfg(missing), f"{missing} does not exist", "train/<class>/<images>")
    expect_error(cfg(missing), str(missing), fn=dataset_num_classes)

    no_train = tmp_path / "no_train"
    (no_train / "val" / "cat").mkdir(parents=True)
    expect_error(cfg(no_train), f"{no_train} has no train/ folder")

    no_val = write_imagefolder(tmp_path / "no_val")
    import shutil

    shutil.rmtree(no_val / "val")
    expect_error(cfg(no_val), f"{no_val} has no val/ folder")

    flat = tmp_path / "flat"
    write_png(flat / "train" / "a.png")
    (flat / "val").mkdir()
    expect_error(cfg(flat), f"{flat / 'train'} holds 1 images directly but no class folders")

    no_classes = tmp_path / "no_classes"
    (no_classes / "train").mkdir(parents=True)
    (no_classes / "val").mkdir()
    expect_error(cfg(no_classes), f"{no_classes / 'train'} has no class folders")

    loose = write_imagefolder(tmp_path / "loose")
    write_png(loose / "train" / "stray.png")
    expect_error(cfg(loose), f"{loose / 'train'} holds images directly", "stray.png")

    empty_class = write_imagefolder(tmp_path / "empty_class")
    (empty_class / "train" / "emu").mkdir()
    (empty_class / "val" / "emu").mkdir()
    (empty_class / "train" / "emu" / "notes.txt").write_text("no images here")
    expect_error(cfg(empty_class), f"{empty_class / 'train' / 'emu'} has no images")

    lacking = write_imagefolder(tmp_path / "lacking")
    shutil.rmtree(lacking / "val" / "dog")
    expect_error(cfg(lacking), f"{lacking / 'val'} classes differ", "lacks dog")

    extra = write_imagefolder(tmp_path / "extra")
    write_png(extra / "val" / "yak" / "y.png")
    expect_error(cfg(extra), f"{extra / 'val'} classes differ", "has yak that train/ lacks")

    corrupt = write_imagefolder(tmp_path / "corrupt")
    bad = corrupt / "train" / "cat" / "cat_0.png"
    bad.write_text("not really a png")
    expect_error(cfg(corrupt), f"{bad} is not an image PIL can read")
    expect_error(cfg(corrupt), str(bad), fn=validate_data)

    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    expect_error(cfg(a_file), f"{a_file} is not a folder")


# ============================================================================ timm specs, names
def test_timm_spec_passes_through(folder: Path) -> None:
    data = DataConfig(name="torch/image_folder", root=str(folder))
    assert data_kind(data.name) == "timm"
    b = load_data(data, img_size=16)
    assert b.num_classes == 3 and len(b.train) == 9 and len(b.val) == 6 and b.tensors is None
    x, y = b.train[4]
    assert x.shape == (3, 16, 16) and y == 1
    assert dataset_num_classes(data) == 3


def test_timm_spec_errors(tmp_path: Path, cifar10: Path) -> None:
    expect_error(DataConfig(name="tfds/cifar10", root=str(tmp_path)), "'tfds/cifar10'", "iterable")
    missing = tmp_path / "nowhere"
    expect_error(DataConfig(name="torch/cifar10", root=str(missing)), f"{missing} does not exist")
    # torchvision checks the official archive's MD5s, which the tiny copy fails: a clean one-line error
    expect_error(DataConfig(name="torch/cifar10", root=str(cifar10)), "create_dataset('torch/cifar10'")
    expect_error(DataConfig(name="torch/no_such_set", root=str(tmp_path)), "'torch/no_such_set'")


def test_unknown_name_lists_the_choices() -> None:
    msg = expect_error(DataConfig(name="cifar11"), "data.name: 'cifar11'", *PROBES, *DATASETS, "torch/<name>")
    assert "hfds/<name>" in msg
    expect_error(DataConfig(name="cifar11"), "'cifar11'", fn=dataset_num_classes)
    expect_error(DataConfig(name="cifar11"), "'cifar11'", fn=validate_data)


def test_bad_input_channels() -> None:
    with pytest.raises(ConfigError, match="model.in_chans: 2"):
        load_data(DataConfig(train_size=8, val_size=8), img_size=32, in_chans=2)


# ============================================================================ mixup
def test_build_mixup() -> None:
    assert build_mixup(DataConfig(), 10, 0.1) is None
    mix = build_mixup(DataConfig(mixup=0.8, cutmix=1.0), 4, 0.1)
    assert mix is not None and mix.mixup_alpha == 0.8 and mix.cutmix_alpha == 1.0 and mix.label_smoothing == 0.1
    np.random.seed(0)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 4
    xm, ym = mix(x.clone(), y)
    assert xm.shape == x.shape and ym.shape == (8, 4)
    assert torch.allclose(ym.sum(1), torch.ones(8))
    assert build_mixup(DataConfig(cutmix=1.0), 4, 0.0).mixup_alpha == 0.0


def test_mean_std_and_interpolation_from_the_config(tmp_path) -> None:
    """A pretrained model's normalisation and resizing (its timm pretrained config) replace the
    dataset's own, for files and for in-memory data alike."""

    from vt_core.config import DataConfig
    from vt_core.data import load_data

    for split in ("train", "val"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (20, 12), (200, 100, 50)).save(tmp_path / split / c / f"{i}.png")
    plain = load_data(DataConfig(name="imagefolder", root=str(tmp_path), workers=0), img_size=8)
    mine = load_data(DataConfig(name="imagefolder", root=str(tmp_path), workers=0, mean=(0.5, 0.5, 0.5),
                                std=(0.25, 0.25, 0.25), interpolation="bilinear"), img_size=8)
    assert mine.mean == (0.5, 0.5, 0.5) and plain.mean != mine.mean
    x = PixelNormalise(mine.mean, mine.std)(mine.val[0][0][None])[0]
    torch.testing.assert_close(x[0], torch.full((8, 8), (200 / 255 - 0.5) / 0.25), atol=2e-2, rtol=0)
    assert "bilinear" in repr(mine.val.transform).lower() and "bicubic" in repr(plain.val.transform).lower()
    probe = load_data(DataConfig(train_size=8, val_size=8, mean=(0.0,), std=(1.0,)), img_size=32)
    assert float(probe.tensors[0].min()) >= 0.0  # unnormalised: [0, 1]


def test_a_truncated_image_deep_in_a_class_is_named_or_skipped(tmp_path, capsys) -> None:

    from vt_core.config import DataConfig
    from vt_core.data import load_data
    from vt_core.data.imagefolder import UnreadableImage

    for split in ("train", "val"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (16, 16), (40 * i, 90, 10)).save(tmp_path / split / c / f"{i}.jpg", quality=95)
    broken = tmp_path / "train" / "b" / "2.jpg"  # not the first of its class: the layout check opens that one only
    broken.write_bytes(broken.read_bytes()[: len(broken.read_bytes()) // 2])
    data = DataConfig(name="imagefolder", root=str(tmp_path), workers=0)
    bundle = load_data(data, img_size=8)
    index = [p for p, _ in bundle.train.samples].index(str(broken))
    with pytest.raises(UnreadableImage) as e:
        bundle.train[index]
    assert str(broken) in str(e.value) and "data.skip_broken" in str(e.value) and "\n" not in str(e.value)
    skipping = load_data(DataConfig(name="imagefolder", root=str(tmp_path), workers=0, skip_broken=True), img_size=8)
    x, y = skipping.train[index]
    assert x.shape == (3, 8, 8) and str(broken) in capsys.readouterr().out
