"""One run: the run folder, TensorBoard read-back, resume after kill / signal, divergence, DDP, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from tests.support.training import ROOT, cli, final_metrics, tiny_cfg, tiny_sets
from vt_core.config import RunConfig
from vt_core.run_folder import load_config, run_state
from vt_core.train import build_config, train


def test_run_folder_contract(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = tiny_cfg("train.eval_sizes=[32,48]")
    result = train(cfg, out, progress=False)
    assert result["status"] == "done" and run_state(out) == "done"
    for name in ("config.yaml", "metrics.jsonl", "checkpoint.pt", "result.json"):
        assert (out / name).is_file(), name
    assert not (out / "error.txt").exists()
    # config.yaml loads back to the same run
    assert load_config(out / "config.yaml").run_id() == result["run_id"]
    from vt_core.data import PROBES

    stored = yaml.safe_load((out / "config.yaml").read_text())
    assert stored["model"]["num_classes"] == PROBES["arrangement"].num_classes
    # metrics: one epoch row per epoch, step rows in between, steps increasing
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in rows if "val_top1" in r]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert all(a["step"] <= b["step"] for a, b in zip(rows, rows[1:]))
    on_disk = json.loads((out / "result.json").read_text())
    for key in ("top1", "top5", "loss", "best_top1", "best_top5", "params", "macs", "train_img_per_s", "peak_mem_mb",
                "wall_time_s", "env"):
        assert on_disk[key] is not None, key
    # the recorded model (num_classes resolved from the data) is the one whose parameters were counted
    saved = load_config(out / "config.yaml").model
    assert on_disk["params"] == sum(p.numel() for p in __import__("vt_core").create_model(saved).parameters())
    assert set(on_disk["eval_sizes"]) == {"32", "48"}
    assert {"torch", "timm", "python", "device", "git_commit"} <= set(on_disk["env"])


def test_tensorboard_events_read_back(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    train(tiny_cfg(), out, progress=False)
    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/top1", "val/loss", "val/top1", "val/top5", "train/lr", "train/img_per_s",
            "train/grad_norm"} <= scalars
    assert [e.step for e in acc.Scalars("val/top1")] == sorted(e.step for e in acc.Scalars("val/top1"))
    assert len(acc.Scalars("val/top1")) == 3
    hp = acc.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hp)
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.pos"].string_value == "abs"
    assert start.hparams["train.lr"].number_value == pytest.approx(1e-3)
    assert start.hparams["data.augment"].HasField("bool_value")  # a boolean stays a boolean, not 0.0


def test_hparams_table_leads_with_the_given_keys(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    out = tmp_path / "run"
    first = ["model.shift", "model.pos", "train.seed", "data.seed"]
    train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", preset="swin_cpu"), out, progress=False,
          hparams_first=first)
    acc = EventAccumulator(str(out / "tb"))
    acc.Reload()
    hp = acc.PluginTagToContent("hparams")
    experiment = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/experiment"]).experiment
    assert [h.name for h in experiment.hparam_infos[:4]] == first
    start = plugin_data_pb2.HParamsPluginData.FromString(hp["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.shift"].bool_value is True


@pytest.mark.slow
def test_two_epochs_on_embedded_data_learn_fast(tmp_path: Path) -> None:
    """What ``python -m vt_core.train --out DIR --set train.epochs=2`` trains with no preset or config
    (the CPU-sized default ViT on the default embedded probe): 2 epochs clearly above chance. (Its
    wall time, under 60 s on an idle 2-core machine, is a benchmark figure printed here, not
    asserted.)"""
    from vt_core.data import PROBES

    t = time.time()
    result = train(build_config(None, None, ["train.epochs=2", "train.warmup_epochs=0"]), tmp_path / "r",
                   progress=False)
    print(f"2 epochs of the default model on the default probe: {time.time() - t:.1f} s wall, "
          f"top1 {result['top1']:.1f}")
    chance = 100.0 / PROBES[RunConfig().data.name].num_classes
    assert result["top1"] > chance + 15, result["top1"]


def test_finished_run_is_not_retrained(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = train(tiny_cfg(), out, progress=False)
    stamp = (out / "result.json").stat().st_mtime_ns
    again = train(tiny_cfg(), out, progress=False)
    assert again == first and (out / "result.json").stat().st_mtime_ns == stamp


def test_a_run_finished_while_waiting_for_the_lock_is_not_rewritten(tmp_path: Path, monkeypatch) -> None:
    """Two launches of one grid: the second checks the folder (no result yet), loads its data, and
    takes the lock only after the first finished. The first check is made to miss the result, as
    it does in that race; the check after the lock must find it and leave result.json alone."""
    import vt_core.train.run as trainer

    out = tmp_path / "run"
    first = train(tiny_cfg(), out, progress=False)
    stamp, text = (out / "result.json").stat().st_mtime_ns, (out / "result.json").read_text()
    calls = []
    real = trainer.read_result

    def late_result(folder):  # the first look happens before the other process wrote result.json
        calls.append(folder)
        return None if len(calls) == 1 else real(folder)

    monkeypatch.setattr(trainer, "read_result", late_result)
    again = train(tiny_cfg(), out, progress=False)
    assert len(calls) == 2 and again == first
    assert (out / "result.json").read_text() == text and (out / "result.json").stat().st_mtime_ns == stamp


def test_other_config_in_same_folder_is_refused(tmp_path: Path) -> None:
    from vt_core.overrides import ConfigError

    out = tmp_path / "run"
    train(tiny_cfg(), out, progress=False)
    with pytest.raises(ConfigError, match="holds run"):
        train(tiny_cfg("model.pos=none", "model.pool=mean"), out, progress=False)


RESUME_ARGS = ["--preset", "vit_cpu", "--set", *tiny_sets("train.epochs=4")]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The reference run every stopped-and-resumed run must match, trained once for all signals."""
    out = tmp_path_factory.mktemp("reference") / "ref"
    ref = cli(out, *RESUME_ARGS)
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    return json.loads((out / "result.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGUSR2"])
def test_killed_run_resumes_to_identical_metrics(tmp_path: Path, how: str, uninterrupted: dict) -> None:
    """The one proof, for the trainer itself, that a run stopped any way resumes to the metrics of an
    uninterrupted run (the executors' tests prove their own paths: test_local, test_slurm)."""
    args, reference = RESUME_ARGS, uninterrupted
    out = tmp_path / "killed"
    proc = cli(out, *args)
    # stop it mid-training: after the first epoch's checkpoint, inside a later epoch
    deadline = time.time() + 120
    while not (out / "metrics.jsonl").exists() or '"val_top1"' not in (out / "metrics.jsonl").read_text():
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(getattr(signal, how))
    code = proc.wait(timeout=60)
    assert not (out / "result.json").exists(), "the run finished before it was stopped; the test proves nothing"
    assert code == (-9 if how == "SIGKILL" else 75), proc.stderr.read()
    resumed = cli(out, *args)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert "resumed from checkpoint.pt: epoch " in resumed.stdout.read()
    result = json.loads((out / "result.json").read_text())
    assert final_metrics(result) == final_metrics(reference)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if "val_top1" in r] == [1, 2, 3, 4]


def test_divergence_is_a_status_not_a_crash(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(tiny_cfg("train.lr=1e12", "train.warmup_epochs=0", "train.opt=sgd", "train.weight_decay=0"), out,
                   progress=False)
    assert result["status"] == "diverged"
    assert {"epoch", "step", "global_step"} <= set(result["diverged_at"])
    assert json.loads((out / "result.json").read_text())["status"] == "diverged"
    assert run_state(out) == "diverged"


@pytest.mark.slow
def test_bad_data_path_fails_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli(out, "--set", "data.name=cifar10", f"data.root={tmp_path / 'nowhere'}")
    assert proc.wait(timeout=120) == 2
    err = proc.stderr.read().strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err
    assert not out.exists()


@pytest.mark.slow
def test_bad_override_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = cli(tmp_path / "run", "--set", "model.window_sz=3")
    assert proc.wait(timeout=120) == 2
    err = proc.stderr.read().strip()
    assert len(err.splitlines()) == 1 and "model.window_sz" in err
    assert not (tmp_path / "run").exists()


def test_failure_writes_error_txt(tmp_path: Path) -> None:
    """A real failure mid-run (an image file that cannot be decoded) leaves error.txt and state 'failed'."""
    from PIL import Image

    root = tmp_path / "folder"
    for split in ("train", "val"):
        for c in ("a", "b"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(d / f"{i}.png")
    (root / "train" / "a" / "9.png").write_bytes(b"not a png")
    out = tmp_path / "run"
    cfg = tiny_cfg("data.name=imagefolder", f"data.root={root}", "train.batch_size=2", "data.workers=0")
    from vt_core.data.imagefolder import UnreadableImage

    with pytest.raises(UnreadableImage):
        train(cfg, out, progress=False)
    assert "9.png" in (out / "error.txt").read_text()  # one line naming the file (no traceback helps)
    assert run_state(out) == "failed"


@pytest.mark.slow
def test_ddp_two_processes_match_single(tmp_path: Path) -> None:
    args = ["--preset", "vit_cpu", "--set", *tiny_sets("train.epochs=2")]
    single = cli(tmp_path / "single", *args)
    assert single.wait(timeout=300) == 0, single.stderr.read()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "vt_core.train",
           "--out", str(tmp_path / "ddp"), "--no-progress", *args]
    ddp = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                         timeout=600)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a = json.loads((tmp_path / "single" / "result.json").read_text())
    b = json.loads((tmp_path / "ddp" / "result.json").read_text())
    assert b["world_size"] == 2
    assert b["loss"] == pytest.approx(a["loss"], rel=1e-3)
    assert b["top1"] == pytest.approx(a["top1"], abs=100.0 / 256 * 2)  # at most two val images flip
    assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-3)


def test_peak_memory_says_what_it_measured(tmp_path: Path) -> None:
    """On the CPU ``peak_mem_mb`` is the process's peak RSS (libraries included): result.json says so."""
    result = train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", "train.device=cpu"), tmp_path / "run",
                   progress=False)
    on_disk = json.loads((tmp_path / "run" / "result.json").read_text())
    assert on_disk["peak_mem_kind"] == result["peak_mem_kind"] == "process_peak_rss"
    assert on_disk["peak_mem_mb"] > 0


@pytest.mark.gpu
def test_peak_memory_on_cuda_is_the_allocator_peak(tmp_path: Path) -> None:
    result = train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", "train.device=cuda"), tmp_path / "run",
                   progress=False)
    assert result["peak_mem_kind"] == "cuda_max_allocated"
    assert 0 < result["peak_mem_mb"] <= torch.cuda.get_device_properties(0).total_memory / 2**20
