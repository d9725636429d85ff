"""The trainer means what timm means: an image folder normalised with the model's own timm data
config, the LR schedule stepped per epoch or per update with timm's warm-up / cooldown / min lr,
DataLoader workers kept across epochs, and a resumed run's wall time counting every attempt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.training import ROOT, tiny_cfg
from vt_core.data.digits import write_digit_folder
from vt_core.data.pixels import PixelNormalise
from vt_core.train import build_config, train


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_digit_folder(tmp_path_factory.mktemp("digits"), train_per_class=8, val_per_class=4)


def _folder_cfg(root: Path, *extra: str, preset: str = "vit_cpu"):
    sets = {"data.name": "imagefolder", "data.root": str(root), "train.batch_size": "16", "data.workers": "0"}
    sets.update(item.split("=", 1) for item in extra)
    return build_config(preset, None, [f"{k}={v}" for k, v in sets.items()])


def test_image_folder_takes_the_model_data_config_timm_resolves(digits: Path) -> None:
    import timm
    from timm.data import resolve_data_config

    from vt_core.resolve import resolve

    cfg = resolve(_folder_cfg(digits))
    theirs = resolve_data_config({}, model=timm.create_model("vt_vit_cpu", num_classes=10))
    assert cfg.data.mean == tuple(theirs["mean"]) == (0.5, 0.5, 0.5)  # not ImageNet's, the old default
    assert cfg.data.std == tuple(theirs["std"]) and cfg.data.crop_pct == theirs["crop_pct"] == 1.0
    assert resolve(cfg) == cfg  # resolving again changes nothing (the launcher resolves, then the run)
    big = resolve(_folder_cfg(digits, preset="swin_tiny_patch4_window7_224"))
    assert big.data.crop_pct == 0.9 and big.data.mean == (0.485, 0.456, 0.406)
    given = resolve(_folder_cfg(digits, "data.mean=[0.2]", "data.std=[0.3]"))
    assert given.data.mean == (0.2,) and given.data.std == (0.3,)


def test_the_loaded_pixels_use_the_resolved_statistics(digits: Path) -> None:
    from vt_core.data import load_data
    from vt_core.resolve import resolve

    cfg = resolve(_folder_cfg(digits))
    bundle = load_data(cfg.data, img_size=32)
    x = PixelNormalise(bundle.mean, bundle.std)(bundle.train[0][0][None])[0]
    with Image.open(bundle.train.samples[0][0]) as im:
        raw = np.asarray(im)
    assert bundle.mean == (0.5, 0.5, 0.5)
    # (p/255 - 0.5)/0.5 spans [-1, 1]; ImageNet's statistics would reach (1 - 0.406)/0.225 ≈ 2.6
    assert x.min() >= -1.0 - 1e-5 and x.max() <= 1.0 + 1e-5
    assert x.max() > 0.5 and raw.max() > 200


@pytest.mark.parametrize("augment", [False, True])
def test_the_model_sees_what_timm_s_prefetching_loader_gives(digits: Path, augment: bool) -> None:
    """The validation batches (and training batches without augmentation) hold exactly what timm's
    ``create_loader(use_prefetcher=True)`` gives ``train.py`` for the same files: uint8 pixels from
    the workers, normalised per batch; with augmentation only the evaluation transform is compared."""
    import timm
    from timm.data import create_dataset, create_loader, resolve_data_config

    from vt_core.data import load_data
    from vt_core.resolve import resolve
    from vt_core.train import distributed as D
    from vt_core.train.batches import Batches

    cfg = resolve(_folder_cfg(digits, f"data.augment={str(augment).lower()}"))
    batches = Batches(load_data(cfg.data, img_size=32), cfg, D.detect(), torch.device("cpu"))
    ours = dict(zip((path for path, _ in batches.val_set.samples), torch.cat([x for x, _ in batches.val()])))
    dc = resolve_data_config({}, model=timm.create_model("vt_vit_cpu", num_classes=10))
    theirs_set = create_dataset("", root=str(digits / "val"))
    loader = create_loader(theirs_set, input_size=dc["input_size"], batch_size=16, is_training=False,
                           use_prefetcher=True, interpolation=dc["interpolation"], mean=dc["mean"], std=dc["std"],
                           crop_pct=dc["crop_pct"], num_workers=0, device=torch.device("cpu"))
    theirs = torch.cat([x for x, _ in loader])
    assert theirs.dtype == torch.float32 and len(theirs) == len(ours) == 40
    for i, x in enumerate(theirs):
        assert torch.equal(ours[theirs_set.filename(i, absolute=True)], x)  # bit for bit
    if not augment:
        x, _ = next(batches.train(0, 0))
        assert x.dtype == torch.float32 and float(x.min()) >= -1.0 and float(x.max()) <= 1.0


def test_random_erasing_acts_on_the_normalised_batch() -> None:
    pixels = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    plain = PixelNormalise((0.5,) * 3, (0.5,) * 3)(pixels)
    assert not bool((plain == 0).any())  # (p − 127.5) / 127.5 is never 0 for whole p
    erased = PixelNormalise((0.5,) * 3, (0.5,) * 3, re_prob=1.0)(pixels)
    boxes = (erased == 0).all(1)  # timm's 'const' mode: a box of zeros (the mean colour) in every image
    assert all(bool(b.any()) for b in boxes)
    torch.testing.assert_close(erased[~(erased == 0)], plain[~(erased == 0)], rtol=0, atol=0)
    floats = torch.randn(2, 3, 4, 4)
    assert PixelNormalise((0.5,) * 3, (0.5,) * 3, re_prob=1.0)(floats) is floats  # in-memory data: untouched


def test_probe_and_cifar_configs_are_untouched() -> None:
    from vt_core.resolve import resolve

    cfg = tiny_cfg()
    assert resolve(cfg).data == cfg.data  # run ids of the probe grids stay as they were
    cifar = build_config("vit_cpu", None, ["data.name=cifar10", "data.root=/nonexistent"])
    from vt_core.data.normalisation import resolve_normalisation

    assert resolve_normalisation(cifar) == cifar


def test_dry_run_shows_the_normalisation_and_writes_nothing(digits: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = subprocess.run([sys.executable, "-m", "vt_core.train", "--out", str(out), "--dry-run", "--preset", "vit_cpu",
                        "--set", "data.name=imagefolder", f"data.root={digits}"], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "normalisation: mean [0.5, 0.5, 0.5] std [0.5, 0.5, 0.5] crop_pct 1.0 bicubic" in p.stdout
    assert "vt_vit_cpu" in p.stdout and "# run id " in p.stdout
    assert not out.exists()


def _lrs(out: Path) -> dict[int, list[float]]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    by_epoch: dict[int, list[float]] = {}
    for r in rows:
        if "val_top1" not in r:
            by_epoch.setdefault(r["epoch"], []).append(r["lr"])
    return by_epoch


def test_schedule_per_epoch_with_cooldown_means_what_timm_means(tmp_path: Path) -> None:
    from timm.scheduler import CosineLRScheduler

    cfg = tiny_cfg("data.train_size=128", "data.val_size=32", "train.batch_size=32", "train.epochs=2",
                   "train.warmup_epochs=0", "train.cooldown_epochs=1", "train.sched_on=epoch", "train.log_every=1",
                   "train.lr=1e-3", "train.min_lr=1e-4")
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["epochs"] == 3  # epochs + cooldown_epochs, as timm's train.py runs them
    lrs = _lrs(tmp_path / "run")
    # the step rows log the LR after the update: constant within an epoch; timm's cosine at t = 0, 1, then min_lr
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    timm_sched = CosineLRScheduler(opt, t_initial=2, lr_min=1e-4)
    expected = [timm_sched._get_lr(t)[0] for t in range(3)]
    for epoch, want in enumerate(expected):
        assert lrs[epoch] == pytest.approx([want] * 4, rel=1e-6), epoch
    assert expected[2] == pytest.approx(1e-4)


def test_schedule_per_update_is_the_default_and_moves_every_step(tmp_path: Path) -> None:
    cfg = tiny_cfg("data.train_size=128", "data.val_size=32", "train.batch_size=32", "train.epochs=1",
                   "train.warmup_epochs=0", "train.log_every=1")
    assert cfg.train.sched_on == "update"
    train(cfg, tmp_path / "run", progress=False)
    lrs = _lrs(tmp_path / "run")[0]
    assert len(set(lrs)) == 4 and lrs == sorted(lrs, reverse=True)


class _WorkerPid:
    """A transform that answers which process loaded the sample."""

    def __call__(self, img) -> torch.Tensor:
        return torch.tensor([float(os.getpid())])


def test_loader_workers_live_across_epochs_and_evaluations(digits: Path) -> None:
    from vt_core.data.bundle import DataBundle
    from vt_core.data.imagefolder import FolderImages, scan
    from vt_core.train import distributed as D
    from vt_core.train.batches import Batches

    cfg = _folder_cfg(digits, "data.workers=2", "train.batch_size=8", "data.cache_mb=0")  # every pass loaded
    layout = scan(cfg.data)
    bundle = DataBundle(train=FolderImages(layout.train, _WorkerPid()), val=FolderImages(layout.val, _WorkerPid()),
                        num_classes=10, tensors=None, mean=(0.5,), std=(0.5,))
    batches = Batches(bundle, cfg, D.detect(), torch.device("cpu"))

    def pids(it) -> set[int]:
        return {int(p) for x, _ in it for p in x.flatten().tolist()}

    first, val1 = pids(batches.train(0, 0)), pids(batches.val())
    second, val2 = pids(batches.train(1, 0)), pids(batches.val())
    assert len(first) == 2 and os.getpid() not in first
    assert second == first and val2 == val1  # the same worker processes, not new ones every pass


def test_wall_time_adds_up_across_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import vt_core.train.run as T

    cfg = tiny_cfg("data.train_size=128", "data.val_size=32", "train.batch_size=32", "train.epochs=2",
                   "train.warmup_epochs=0")
    real_end = T.end_epoch

    def slow_then_killed(run, state):  # the first attempt spends 2 s, checkpoints epoch 1, then dies
        time.sleep(2.0)
        real_end(run, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(T, "end_epoch", slow_then_killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "run", progress=False)
    monkeypatch.setattr(T, "end_epoch", real_end)
    tick = time.time()
    result = train(cfg, tmp_path / "run", progress=False)
    second = time.time() - tick
    assert result["epochs"] == 2
    assert result["wall_time_s"] >= second + 2.0  # the first attempt's time is counted too
