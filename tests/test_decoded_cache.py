"""Image files are decoded once per run where the transform is deterministic: the loader's batches
kept in memory (``vt_core.train.decoded``), later passes indexed from them, and the run's numbers
the same as with the cache off."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vt_core.data.digits import write_digit_folder
from vt_core.train import build_config, train


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digit_folder(tmp_path_factory.mktemp("digits"), train_per_class=8, val_per_class=4)


def _cfg(root: Path, *extra: str):
    sets = {"data.name": "imagefolder", "data.root": str(root), "train.batch_size": "16", "data.workers": "0",
            "train.epochs": "2", "train.warmup_epochs": "0"}
    sets.update(item.split("=", 1) for item in extra)
    return build_config("vit_cpu", None, [f"{k}={v}" for k, v in sets.items()])


class _Counted:
    """A deterministic transform that counts its calls (workers=0: in this process) and returns a
    tensor of ``size``² pixels holding the image's mean."""

    def __init__(self, size: int = 8) -> None:
        self.calls, self.size = 0, size

    def __call__(self, img) -> torch.Tensor:
        self.calls += 1
        return torch.full((3, self.size, self.size), float(np.asarray(img, dtype=np.float32).mean()))


def _batches(digits: Path, *extra: str, size: int = 8):
    from vt_core.data.bundle import DataBundle
    from vt_core.data.imagefolder import FolderImages, scan
    from vt_core.train import distributed as D
    from vt_core.train.batches import Batches

    cfg = _cfg(digits, *extra)
    layout = scan(cfg.data)
    tr, va = _Counted(size), _Counted(size)
    bundle = DataBundle(train=FolderImages(layout.train, tr), val=FolderImages(layout.val, va), num_classes=10,
                        tensors=None, mean=(0.5,), std=(0.5,))
    return Batches(bundle, cfg, D.detect(), torch.device("cpu")), tr, va


def _drain(it) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x.clone(), y.clone()) for x, y in it]


def test_later_passes_decode_nothing_and_give_the_loader_s_own_batches(digits: Path) -> None:
    batches, tr, va = _batches(digits)
    plain, _, _ = _batches(digits, "data.cache_mb=0")
    first = _drain(batches.train(0, 0))
    assert tr.calls == 80  # 80 images, 5 batches of 16: every one decoded once
    second, again = _drain(batches.train(1, 0)), _drain(plain.train(1, 0))
    assert tr.calls == 80  # nothing decoded again
    assert len(second) == len(again) == 5
    for (x, y), (x0, y0) in zip(second, again, strict=True):  # the epoch's order, the loader's values
        assert torch.equal(x, x0) and torch.equal(y, y0)
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(first, second, strict=True))  # a new order
    _drain(batches.val()), _drain(batches.val())
    assert va.calls == 40


def test_augmented_training_decodes_every_epoch_and_validation_still_once(digits: Path) -> None:
    batches, tr, va = _batches(digits, "data.augment=true")
    for epoch in range(2):
        _drain(batches.train(epoch, 0))
        _drain(batches.val())
    assert tr.calls == 160 and va.calls == 40


@pytest.mark.parametrize("extra, size", [(("data.cache_mb=0",), 8), (("data.cache_mb=1",), 128)])
def test_off_or_over_budget_decodes_every_pass(digits: Path, extra: tuple[str, ...], size: int) -> None:
    batches, tr, va = _batches(digits, *extra, size=size)  # 80 × 3 × 128² floats: 15 MiB > 1 MiB
    for epoch in range(2):
        _drain(batches.train(epoch, 0))
        _drain(batches.val())
    assert tr.calls == 160 and va.calls == 80


def test_a_partly_kept_pass_decodes_only_the_rest(digits: Path) -> None:
    batches, tr, _ = _batches(digits, "train.batch_size=24")  # 80 // 24 = 3 batches: 8 images left out
    _drain(batches.train(0, 0))
    assert tr.calls == 72
    cache = batches._loaders[0][2]
    assert int(cache.kept.sum()) == 72
    epoch = 1
    while not cache.kept.all() and epoch < 20:  # each pass decodes only its batches holding an image not kept
        before = tr.calls
        _drain(batches.train(epoch, 0))
        assert (tr.calls - before) % 24 == 0 and tr.calls - before <= 72
        epoch += 1
    assert cache.kept.all()
    before = tr.calls
    _drain(batches.train(epoch, 0))
    assert tr.calls == before  # all kept: nothing decoded


def test_decoding_ahead_decodes_each_kept_image_once_and_changes_no_batch(digits: Path) -> None:
    batches, tr, va = _batches(digits)
    plain, _, _ = _batches(digits, "data.cache_mb=0")
    assert batches.decode_kept() == 120 and (tr.calls, va.calls) == (80, 40)
    for epoch in range(2):  # every pass after it reads memory, in the epoch's own order
        for (x, y), (x0, y0) in zip(_drain(batches.train(epoch, 0)), _drain(plain.train(epoch, 0)), strict=True):
            assert torch.equal(x, x0) and torch.equal(y, y0)
        for (x, y), (x0, y0) in zip(_drain(batches.val()), _drain(plain.val()), strict=True):
            assert torch.equal(x, x0) and torch.equal(y, y0)
    assert (tr.calls, va.calls) == (80, 40)


@pytest.mark.parametrize("extra, size, expected", [
    (("data.augment=true",), 8, (0, 40)),  # augmented training is decoded per epoch; validation ahead
    (("data.cache_mb=0",), 8, (0, 0)),  # no cache: nothing to decode ahead
    (("data.cache_mb=1",), 128, (16, 16)),  # over budget: one batch each finds it out, then it stops
    (("data.val_subset=10",), 8, (80, 10)),  # only the validation images evaluated
])
def test_decoding_ahead_decodes_only_what_will_be_kept(digits: Path, extra: tuple[str, ...], size: int,
                                                        expected: tuple[int, int]) -> None:
    batches, tr, va = _batches(digits, *extra, size=size)
    decoded = batches.decode_kept()
    assert (tr.calls, va.calls) == expected
    assert decoded == (0 if "data.cache_mb=1" in extra else sum(expected))


def test_a_run_on_the_cpu_decodes_ahead_and_says_so(digits: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    train(_cfg(digits, "train.epochs=1"), tmp_path / "run", progress=False)
    assert "decoded 120 images into memory in" in capsys.readouterr().out
    train(_cfg(digits, "train.epochs=1", "data.cache_mb=0"), tmp_path / "off", progress=False)
    assert "decoded" not in capsys.readouterr().out


def test_a_run_trains_to_the_same_numbers_with_the_cache_off(digits: Path, tmp_path: Path) -> None:
    rows = {}
    for name, extra in (("kept", ()), ("off", ("data.cache_mb=0",))):
        train(_cfg(digits, *extra), tmp_path / name, progress=False)
        lines = (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        rows[name] = [{k: v for k, v in json.loads(line).items() if k.startswith(("val_", "train_loss", "lr"))}
                      for line in lines]
    assert rows["kept"] == rows["off"] and any("val_top1" in r for r in rows["kept"])


def test_a_negative_budget_is_refused() -> None:
    from vt_core.overrides import ConfigError

    with pytest.raises(ConfigError, match=r"data.cache_mb: -1 must be ≥ 0"):
        build_config("vit_cpu", None, ["data.cache_mb=-1"])


def test_the_digits_folder_is_written_whole_once_and_never_over_other_files(tmp_path: Path) -> None:
    from vt_core.overrides import ConfigError

    script = ("import sys; from vt_core.data.digits import write_digit_folder; "
              "write_digit_folder(sys.argv[1], train_per_class=3, val_per_class=1)")
    import subprocess
    import sys

    root = tmp_path / "digits"
    two = [subprocess.Popen([sys.executable, "-c", script, str(root)]) for _ in range(2)]  # two writers at once
    assert [p.wait() for p in two] == [0, 0]
    assert len(list(root.rglob("*.png"))) == 40 and sorted(p.name for p in tmp_path.iterdir()) == ["digits"]
    assert write_digit_folder(root, train_per_class=3, val_per_class=1) == root  # kept as it is
    with pytest.raises(ConfigError, match="not empty, and not this digits set"):
        write_digit_folder(root, train_per_class=4, val_per_class=1)  # another set would mix with this one
    assert len(list(root.rglob("*.png"))) == 40
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(list(write_digit_folder(empty, train_per_class=1, val_per_class=1).rglob("*.png"))) == 20
