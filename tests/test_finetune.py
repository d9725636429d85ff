"""A run from pretrained weights (``train.init_from``): transfer.json and the log line, resume after
SIGKILL to the metrics of an uninterrupted run, evaluation-only runs (``train.epochs=0``) on
validation subsets, layer-wise LR decay, and refusals before anything is written."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import timm
import torch

import vt_core
from tests.support.training import cli, tiny_sets
from vt_core.overrides import ConfigError
from vt_core.train import build_config, train
from vt_core.train.batches import Batches

SWIN_CPU = dict(img_size=32, patch_size=2, embed_dim=48, depths=(2, 2), num_heads=(2, 4), window_size=4,
                mlp_ratio=2.0, num_classes=10)


@pytest.fixture(scope="module")
def swin_weights(tmp_path_factory) -> Path:
    """A timm Swin shaped as swin_cpu, random weights, saved as timm would save a state dict."""
    torch.manual_seed(0)
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, **SWIN_CPU)
    path = tmp_path_factory.mktemp("weights") / "swin_cpu.pth"
    torch.save(model.state_dict(), path)
    return path


def _sets(weights: Path, *extra: str) -> list[str]:
    return tiny_sets(f"train.init_from={weights}", *extra)


def test_init_from_writes_transfer_json_and_a_log_line(tmp_path: Path, swin_weights: Path, capsys) -> None:
    cfg = build_config("swin_cpu", None, _sets(swin_weights, "model.pos=abs+rel", "train.epochs=1",
                                                   "train.warmup_epochs=0"))
    result = train(cfg, tmp_path / "run", progress=False)
    assert result["status"] == "done"
    report = json.loads((tmp_path / "run" / "transfer.json").read_text())
    assert report["checkpoint"] == str(swin_weights) and report["format"] == "timm swin"
    assert report["summary"]["new"] == 3 and report["summary"]["dropped"] == 0  # pos_embed, and the 4-class head
    assert {t["name"] for t in report["tensors"] if t["action"] == "new"} == {"pos_embed.pos_embed", "head.weight",
                                                                              "head.bias"}
    assert "weights from" in capsys.readouterr().out


def test_the_transferred_weights_are_the_ones_trained(tmp_path: Path, swin_weights: Path) -> None:
    """Evaluation only: the run's accuracy is the checkpoint's, computed here independently."""
    cfg = build_config("swin_cpu", None, _sets(swin_weights, "train.epochs=0", "model.num_classes=4"))
    result = train(cfg, tmp_path / "eval", progress=False)
    assert result["epochs"] == 0 and result["train_img_per_s"] is None
    model = vt_core.create_model("swin_cpu", num_classes=4)
    vt_core.weights.sources.load_into(str(swin_weights), model)
    torch.manual_seed(0)  # the run's head is newly initialised from its seed: the same draw
    fresh = vt_core.VisionTransformer(cfg.model.replace(num_classes=4))
    model.head.load_state_dict(fresh.head.state_dict())
    from vt_core.data import load_data

    bundle = load_data(cfg.data, img_size=32)
    with torch.no_grad():
        logits = model.eval()(bundle.tensors[2])
    top1 = 100.0 * float((logits.argmax(1) == bundle.tensors[3]).float().mean())
    assert result["top1"] == pytest.approx(top1, abs=1e-9)
    rows = [json.loads(x) for x in (tmp_path / "eval" / "metrics.jsonl").read_text().splitlines()]
    assert all(isinstance(r.pop("time"), float) for r in rows)  # every row is stamped (--status's ETA)
    assert rows == [{"epoch": 0, "step": 0, "val_loss": result["loss"], "val_top1": result["top1"],
                     "val_top5": result["top5"]}]


def test_validation_subsets_follow_the_run_seed(swin_weights: Path) -> None:
    cfg = build_config("swin_cpu", None, tiny_sets("data.val_subset=100"))
    from vt_core.data import load_data
    from vt_core.train import distributed as D

    bundle = load_data(cfg.data, img_size=32)

    def indices(c):
        return Batches(bundle, c, D.DistEnv(), torch.device("cpu")).val_indices(256)

    a, b = indices(cfg), indices(cfg.replace({"train.seed": 1}))
    assert len(a) == 100 and len(set(a.tolist())) == 100 and not torch.equal(a, b)
    assert torch.equal(a, indices(cfg.replace({"model.shift": False})))  # the same subset for every variant
    assert torch.equal(indices(cfg.replace({"data.val_subset": 0})), torch.arange(256))


def test_data_order_follows_the_data_seed_not_the_init_seed() -> None:
    from vt_core.data import load_data
    from vt_core.train import distributed as D

    cfg = build_config("vit_cpu", None, tiny_sets())
    bundle = load_data(cfg.data, img_size=32)

    def first_batch(c):
        x, _ = next(Batches(bundle, c, D.DistEnv(), torch.device("cpu")).train(0, 0))
        return x

    assert torch.equal(first_batch(cfg), first_batch(cfg.replace({"train.seed": 5})))
    assert not torch.equal(first_batch(cfg), first_batch(cfg.replace({"data.seed": 5, "data.train_size": 512})))


def test_layer_decay_reaches_the_optimizer() -> None:
    from vt_core.train.recipe import build_optimizer_and_scheduler

    cfg = build_config("swin_cpu", None, tiny_sets("train.layer_decay=0.5"))
    model = vt_core.VisionTransformer(cfg.model)
    optimizer, _ = build_optimizer_and_scheduler(model, cfg.train, steps_per_epoch=4)
    scales = sorted({g["lr_scale"] for g in optimizer.param_groups})
    assert scales[-1] == 1.0 and scales[0] == pytest.approx(0.5 ** (len(scales) - 1))


def test_weights_that_do_not_fit_are_refused_before_anything_is_written(tmp_path: Path, swin_weights: Path) -> None:
    cfg = build_config("swin_cpu", None, _sets(swin_weights, "model.dims=[64,128]"))
    with pytest.raises(ConfigError, match=r"train.init_from: .*patch_embed.proj.weight"):
        train(cfg, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_resumed_fine_tune_does_not_load_its_weights_again(tmp_path: Path, swin_weights: Path) -> None:
    """What resuming means for a fine-tune: the checkpoint, not the initial weights, is what it
    continues from (that any resume reaches the uninterrupted metrics is test_train's proof)."""
    args = ["--preset", "swin_cpu", "--set", *_sets(swin_weights, "train.epochs=3", "train.layer_decay=0.8")]
    out = tmp_path / "killed"
    proc = cli(out, *args)
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or '"val_top1"' not in (out / "metrics.jsonl").read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (out / "result.json").exists(), "the run finished before it was killed; the test proves nothing"
    transfer = (out / "transfer.json").read_text()
    resumed = cli(out, *args)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    log = resumed.stdout.read()
    assert "resumed from checkpoint.pt" in log and "weights from" not in log  # no second transfer
    assert json.loads((out / "result.json").read_text())["status"] == "done"
    assert (out / "transfer.json").read_text() == transfer  # the weights came once, at the first start
