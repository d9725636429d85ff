"""A run's cost before it runs: device-hours on the chosen executor, and where the figure comes from.

device-hours = epochs × (training images / training images per second + validation images /
evaluation images per second) / 3600 per device, the figures taken from the first source that has
them (``source`` in the plan and in grid.json's ``estimate``):

1. ``runs``: a finished run of this grid with the same model config and batch size: the images it
   trained over its wall time per device (so its data, evaluation and checkpoints are counted);
   an older result.json without a wall time gives its ``train_img_per_s`` / ``world_size``;
2. ``calibration``: timed training steps and forward passes of the model at its batch size on
   random tensors on this machine, side by side in as many processes as runs will train at once
   (``ablations.planning.calibrate``), cached in ``<runs>/.calibration.json`` by model-config hash
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
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ablations.planning.model_sizes import SizeCache
from vt_core.config import RunConfig
from vt_core.overrides import to_dict
from vt_core.run_result import RunResult

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
KNOWN_VAL_SIZES = {"imagenet": 50_000, "cifar10": 10_000, "cifar100": 10_000}
CALIBRATION_FILE = ".calibration.json"
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
    side_by_side: int = 1  # runs the local executor trains at once here (calibrated together)

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

    at_once, threads = slots(jobs)
    return Target("cpu", 1, here=True, threads=threads, side_by_side=len(at_once))  # as the local executor runs them


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


def val_images(cfg: RunConfig) -> int:
    """Images a run evaluates every epoch (``data.val_subset`` where set)."""
    data = cfg.data
    name = data.name.lower()
    known = KNOWN_VAL_SIZES.get(name)
    if known is None and "imagenet" in f"{name} {os.path.basename(data.root.rstrip('/')).lower()}":
        known = KNOWN_VAL_SIZES["imagenet"]
    size = known if known is not None else data.val_size
    return min(size, data.val_subset) if data.val_subset else size


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

    def add_finished(self, cfg: RunConfig, result: RunResult, path: Path | None = None) -> None:
        """A done run's cost per trained image: its wall time (everything a run spends: data, training,
        evaluation, checkpoints) per device, or its training throughput where an older result has no
        wall time. Figures that cannot be right (not positive and finite, a ``world_size`` that is no
        whole number ≥ 1) are warned about and not used."""
        wall, speed, world = result.wall_time_s, result.train_img_per_s, result.world_size
        if not result.done or (wall is None and speed is None):
            return
        images = cfg.train.total_epochs * train_images(cfg)
        if _positive_number(wall) and images and _whole(world) and world >= 1:
            self.finished.setdefault(model_key(cfg, self.target.device), images / (float(wall) * float(world)))
            return
        if not _positive_number(speed) or not (_whole(world) and world >= 1):
            self.warnings.append(f"{path or 'result.json'}: train_img_per_s {speed!r} / world_size {world!r} is not "
                                 "a positive throughput per device; not used for estimates")
            return
        self.finished.setdefault(model_key(cfg, self.target.device), float(speed) / float(world))

    def estimate(self, cfg: RunConfig) -> Estimate:
        """Training images over the training throughput, plus every epoch's evaluation over the
        evaluation throughput where it was calibrated (a finished run's figure holds both)."""
        images = cfg.train.total_epochs * train_images(cfg)
        (speed, eval_speed), source = self._speed(cfg)
        seconds = images / speed + (cfg.train.total_epochs * val_images(cfg) / eval_speed if eval_speed else 0.0)
        return Estimate(seconds / 3600.0, source, images)

    def prepare(self, cfgs: list[RunConfig]) -> None:
        """Calibrate, together, every distinct model the estimates will need calibrated: side by
        side in as many processes as runs will train at once here (``calibrate.side_by_side``)."""
        todo: dict[str, RunConfig] = {}
        for cfg in cfgs:
            key = self._calibration_key(cfg)
            if (model_key(cfg, self.target.device) not in self.finished and self._cached(key) is None
                    and self._should_calibrate(cfg)):
                todo.setdefault(key, cfg)
        if not todo:
            return
        from ablations.planning.calibrate import side_by_side

        figures = side_by_side(list(todo.values()), self.target.threads, self.target.side_by_side)
        for (key, cfg), (speed, eval_speed) in zip(todo.items(), figures):
            self.cache[key] = {"img_per_s": speed, "eval_img_per_s": eval_speed, "device": self.target.device,
                               "side_by_side": self.target.side_by_side, "batch_size": cfg.train.batch_size,
                               "when": time.strftime("%Y-%m-%dT%H:%M:%S")}
            self.new_calibrations += 1

    def _calibration_key(self, cfg: RunConfig) -> str:
        if self.target.threads:  # a CPU run's speed depends on the threads it gets beside the others
            return model_key(cfg, f"{self.target.device}/{self.target.threads} threads")
        return model_key(cfg, self.target.device)

    def _table_speed(self, cfg: RunConfig) -> float:
        return DEVICE_TFLOPS[self.target.device] * 1e12 / (TRAIN_FLOPS_PER_MAC * max(self.costs(cfg)["macs"], 1.0))

    def _should_calibrate(self, cfg: RunConfig) -> bool:
        from ablations.planning.calibrate import MIN_S, STEPS

        step_s = max(cfg.train.batch_size / self._table_speed(cfg) * (STEPS + 2), MIN_S)  # the steps' duration
        return self.target.here and self.calibrate and (self.force or step_s <= CALIBRATE_MAX_S)

    def _speed(self, cfg: RunConfig) -> tuple[tuple[float, float | None], str]:
        """(training, evaluation) images per second and their source; the evaluation figure None where
        the source has none separately (a finished run's figure includes it; the table has none)."""
        key = model_key(cfg, self.target.device)
        if key in self.finished:
            return (self.finished[key], None), "runs"
        key = self._calibration_key(cfg)
        if self._cached(key) is None and self._should_calibrate(cfg):
            self.prepare([cfg])
        cached = self._cached(key)
        if cached is not None:
            eval_speed = self.cache[key].get("eval_img_per_s")
            return (cached, float(eval_speed) if _positive_number(eval_speed) else None), "calibration"
        return (self._table_speed(cfg), None), "gmacs table"

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


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _read_json(path: Path) -> dict[str, Any]:
    """The cache, or {} (measured again and rewritten): none yet, unreadable, or not a regular file
    (a FIFO there would block the read: the plan would hang)."""
    if path.exists() and not path.is_file():
        print(f"warning: {path}: not a regular file; ignored (estimates are measured again)", file=sys.stderr)
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: measured again and rewritten
        return {}
    return data if isinstance(data, dict) else {}


def hours_text(hours: float) -> str:
    if not math.isfinite(hours):
        return "?"
    return f"{hours:.3g}" if hours < 100 else f"{hours:,.0f}"
