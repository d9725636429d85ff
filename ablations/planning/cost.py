"""A run's cost before it runs: device-hours on the chosen executor, and where the figure comes from.

device-hours = epochs × training images / (images per second per device) / 3600, the throughput
taken from the first source that has it (``source`` in the plan and in grid.json's ``estimate``):

1. ``runs``: a finished run of this grid with the same model config and batch size (its
   result.json's ``train_img_per_s``, the median over its epochs, divided by its ``world_size``);
2. ``calibration``: a few timed training steps of the model at its batch size on random tensors
   on this machine (no data needed), cached in ``<runs>/.calibration.json`` by model-config hash
   and never recomputed;
3. ``gmacs table``: 6 × MACs per image (forward 2 FLOPs a MAC, backward twice the forward)
   against the device's effective TFLOP/s in ``DEVICE_TFLOPS``.

Each distinct model (config, batch size, device) is measured once, however many runs share it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ablations.planning.model_sizes import SizeCache
from vt_core.config import RunConfig
from vt_core.overrides import to_dict

# Effective training TFLOP/s per device: the vendor's dense bf16/fp16 tensor peak (NVIDIA's data
# sheets: V100 125, A100 312, H100 SXM 989, H200 989, L40S 362, A10 125) × 0.1, the utilisation a
# small vision transformer reaches end to end (norms, softmax, data loading; Swin-T trains at about
# 250 img/s on a V100, i.e. 27 GFLOP × 250 ≈ 7 TFLOP/s). "cpu": a few cores' fp32 (0.05). "gpu":
# a GPU the table does not name. Rough by design: calibration or a finished run replaces it.
DEVICE_TFLOPS: dict[str, float] = {
    "cpu": 0.05, "gpu": 31.2, "v100": 12.5, "a10": 12.5, "a100": 31.2, "l40s": 36.2, "h100": 98.9, "h200": 98.9,
}
TRAIN_FLOPS_PER_MAC = 6
# Training images of the named datasets (the sizes their papers and loaders give)
KNOWN_TRAIN_SIZES = {"imagenet": 1_281_167, "cifar10": 50_000, "cifar100": 50_000}
CALIBRATION_FILE = ".calibration.json"
CALIBRATION_STEPS = 5  # timed steps at least, after two untimed warm-up steps ...
CALIBRATION_MIN_S = 0.5  # ... and until this long (at most 50 steps): the median step is robust to a busy moment
CALIBRATE_MAX_S = 5.0  # calibrate on a launch only where the table expects the steps to take at most this


@dataclass(frozen=True)
class Target:
    """Where the runs will train: the device kind (a DEVICE_TFLOPS key), devices per run, whether
    that is this machine (only then can a calibration measure it), and the CPU threads each run gets
    there (0: a GPU run, threads do not matter)."""

    device: str
    devices: int
    here: bool
    threads: int = 0

    def label(self) -> str:
        return f"{self.devices} × {self.device}" if self.devices > 1 else self.device


@dataclass(frozen=True)
class Estimate:
    device_hours: float
    source: str  # "runs" | "calibration" | "gmacs table"
    images: int  # training images a run sees (epochs × dataset size)

    def as_json(self) -> dict[str, Any]:
        return {"device_hours": self.device_hours, "source": self.source}


def target_of(executor: str, cluster: Any, jobs: int = 0) -> Target:
    """Slurm: the cluster profile's GPUs per run (× nodes), the kind from its constraint when the
    table names it; local: this machine's first GPU, or the CPU."""
    if executor == "slurm" and cluster is not None:
        gpus = int(cluster.gpus_per_run)
        kind = "cpu" if gpus == 0 else _table_name(str(cluster.constraint or ""))
        return Target(kind, max(gpus, 1) * int(getattr(cluster, "nodes", 1) or 1), here=False)
    from vt_core.environment import may_have_gpu

    if may_have_gpu():  # only then is torch asked (a CPU machine plans torch-free)
        import torch

        if torch.cuda.is_available():
            return Target(_table_name(torch.cuda.get_device_name(0)), 1, here=True)
    from ablations.executors.local import slots

    return Target("cpu", 1, here=True, threads=slots(jobs)[1])  # the threads the local executor gives a run


def _table_name(text: str) -> str:
    low = text.lower()
    return next((k for k in DEVICE_TFLOPS if k not in ("cpu", "gpu") and k in low), "gpu")


def train_images(cfg: RunConfig) -> int:
    """Images per epoch: a named dataset's known size (ImageNet-1k also as an ImageFolder whose
    root names it), else data.train_size (the probes' generated size)."""
    data = cfg.data
    name = data.name.lower()
    if name in KNOWN_TRAIN_SIZES:
        return KNOWN_TRAIN_SIZES[name]
    label = f"{name} {os.path.basename(data.root.rstrip('/')).lower()}"
    if "imagenet" in label and not any(t in label for t in ("21k", "22k")):
        return KNOWN_TRAIN_SIZES["imagenet"]
    return data.train_size


def model_key(cfg: RunConfig, device: str) -> str:
    """The hash a model's throughput is cached under: its config, batch size and the device."""
    blob = json.dumps([to_dict(cfg.model), cfg.train.batch_size, device], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class CostModel:
    """Throughput per distinct model, from finished runs, the calibration cache or the table."""

    def __init__(self, target: Target, runs_dir: Path, *, calibrate: bool, force: bool = False,
                 built: dict[str, Any] | None = None, sizes: SizeCache | None = None) -> None:
        self.target, self.calibrate, self.force = target, calibrate, force
        self.built = built or {}  # meta models the plan built already, by repr(model config)
        self.sizes = sizes if sizes is not None else SizeCache(runs_dir)
        self.cache_path = runs_dir / CALIBRATION_FILE
        self.cache: dict[str, dict[str, Any]] = _read_json(self.cache_path)
        self.measured: dict[str, dict[str, float]] = {}  # model key → params and MACs
        self.finished: dict[str, float] = {}  # model key → img/s per device of a finished run
        self.new_calibrations = 0
        self.warnings: list[str] = []  # cached figures that could not be right, each ignored once

    def costs(self, cfg: RunConfig) -> dict[str, float]:
        """Params and MACs of the model, counted once per distinct config."""
        key = model_key(cfg, "")
        if key not in self.measured:
            cached = self.sizes.get(key)
            self.measured[key] = cached if cached is not None else _count(cfg, self.built.get(repr(cfg.model)))
            self.sizes.put(key, self.measured[key])
        return self.measured[key]

    def add_finished(self, cfg: RunConfig, result: dict[str, Any], path: Path | None = None) -> None:
        """A done run's throughput per device, if its result.json's figures can be right (a positive
        finite ``train_img_per_s``, a whole ``world_size`` of at least 1, or none: one process)."""
        if result.get("status") != "done" or "train_img_per_s" not in result:
            return
        speed, world = result.get("train_img_per_s"), result.get("world_size", 1)
        if not _positive_number(speed) or not (_whole(world) and world >= 1):
            self.warnings.append(f"{path or 'result.json'}: train_img_per_s {speed!r} / world_size {world!r} is not "
                                 "a positive throughput per device; not used for estimates")
            return
        self.finished.setdefault(model_key(cfg, self.target.device), float(speed) / float(world))

    def estimate(self, cfg: RunConfig) -> Estimate:
        images = cfg.train.epochs * train_images(cfg)
        speed, source = self._speed(cfg)
        return Estimate(images / speed / 3600.0, source, images)

    def _speed(self, cfg: RunConfig) -> tuple[float, str]:
        key = model_key(cfg, self.target.device)
        if key in self.finished:
            return self.finished[key], "runs"
        if self.target.threads:  # a CPU run's speed depends on the threads it gets beside the others
            key = model_key(cfg, f"{self.target.device}/{self.target.threads} threads")
        cached = self._cached(key)
        if cached is not None:
            return cached, "calibration"
        table = DEVICE_TFLOPS[self.target.device] * 1e12 / (TRAIN_FLOPS_PER_MAC * max(self.costs(cfg)["macs"], 1.0))
        step_s = max(cfg.train.batch_size / table * (CALIBRATION_STEPS + 2), CALIBRATION_MIN_S)  # its duration
        if self.target.here and self.calibrate and (self.force or step_s <= CALIBRATE_MAX_S):
            speed = calibrate(cfg, self.target.threads)
            self.cache[key] = {"img_per_s": speed, "device": self.target.device,
                               "batch_size": cfg.train.batch_size, "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
            self.new_calibrations += 1
            return speed, "calibration"
        return table, "gmacs table"

    def _cached(self, key: str) -> float | None:
        """The cache's img/s for ``key`` if it is a positive finite number; an entry that is not is
        warned about once, dropped and re-estimated (calibrated again where this launch calibrates)."""
        if key not in self.cache:
            return None
        entry = self.cache[key]
        speed = entry.get("img_per_s") if isinstance(entry, dict) else entry
        if _positive_number(speed):
            return float(speed)
        del self.cache[key]  # a new calibration takes its place; without one the table's figure is used
        self.warnings.append(f"{self.cache_path}: entry {key}: img_per_s {speed!r} is not a positive finite "
                             "number of images per second; ignored and estimated again")
        return None

    def save(self) -> None:
        """Write the calibration cache when something new was measured (the runs folder exists then),
        then the model sizes: a disk that refuses the first write leaves neither."""
        if self.new_calibrations:
            from vt_core.run_folder import atomic_write_text

            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.cache_path, json.dumps(self.cache, indent=1, sort_keys=True) + "\n")
        self.sizes.save()


def _count(cfg: RunConfig, model: Any) -> dict[str, float]:
    """Params and MACs per image: on the plan's meta model when there is one (no second build)."""
    from vt_core.measure import count_macs, count_params, measure

    if model is not None:
        try:
            return {"params": float(count_params(model)), "macs": float(count_macs(model)["macs"])}
        except (NotImplementedError, RuntimeError):  # a layer that cannot run on meta: measure builds on the CPU
            pass
    m = measure(cfg.model)
    return {"params": float(m["params"]), "macs": float(m["macs"])}


def calibrate(cfg: RunConfig, threads: int = 0) -> float:
    """Training images per second of the model at its batch size: AdamW steps on random tensors
    (forward, cross-entropy, backward, step) on this machine's device, from the median timed step
    (a few steps of a small model take milliseconds, so one busy moment would skew a mean), with
    ``threads`` CPU threads where given (what the local executor gives each run)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _timed_steps(cfg)
    finally:
        torch.set_num_threads(before)


def _timed_steps(cfg: RunConfig) -> float:
    import statistics

    import torch

    from vt_core.model import VisionTransformer

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    m = cfg.model
    model = VisionTransformer(m).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(cfg.train.batch_size, m.in_chans, m.img_size, m.img_size, device=device)
    y = torch.randint(0, max(m.num_classes, 1), (cfg.train.batch_size,), device=device)
    times: list[float] = []
    for step in range(2 + 50):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = model(x)  # num_classes 0: features, trained on their square (the same backward cost)
        loss = torch.nn.functional.cross_entropy(out, y) if m.num_classes else out.float().square().mean()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - t0)
        if len(times) >= CALIBRATION_STEPS and sum(times) >= CALIBRATION_MIN_S:
            break
    return cfg.train.batch_size / max(statistics.median(times), 1e-9)


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: measured again and rewritten
        return {}
    return data if isinstance(data, dict) else {}


def hours_text(hours: float) -> str:
    if not math.isfinite(hours):
        return "?"
    return f"{hours:.3g}" if hours < 100 else f"{hours:,.0f}"
