"""What the report knows about the keys of a run: which are metrics, costs and curve columns, how
each is labelled and rounded, which way is better, and the states a run can be in."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from vt_core.run_result import COSTS, MODEL_COSTS  # noqa: F401  (re-exported: the report's key lists)
from vt_core.run_result import FINAL_METRICS as METRICS  # noqa: F401

ALPHA = 0.05
CONFIDENCE = 0.95
# the run states a report counts, in its order (vt_core.run_folder.RunState's words; queued is the launcher's)
STATUSES = ("done", "diverged", "failed", "running", "interrupted", "pending", "corrupt")
# METRICS (result.json's final metrics: columns in this order, other numeric keys follow), COSTS and
# MODEL_COSTS (the architecture's, kept for diverged runs too) are vt_core.run_result's lists
CURVE_KEYS = ("epoch", "step", "val_top1", "val_top5", "val_loss", "train_loss", "train_top1", "lr", "img_per_s",
              "grad_norm", "val_top1_ema", "val_loss_ema")
_LOWER_IS_BETTER = ("loss", "err", "time", "mem", "macs", "flops", "params")
# accuracies in percent (also as "<key>@<px>"): their axes stop at 0 and 100, their differences are in pp
PERCENT = ("top1", "top5", "best_top1", "best_top5", "top1_ema", "val_top1", "val_top5", "train_top1", "val_top1_ema")
LABELS = {
    "top1": "Top-1 accuracy (%)", "top5": "Top-5 accuracy (%)", "loss": "Validation loss",
    "train_loss": "Training loss", "best_top1": "Best top-1 accuracy (%)", "best_top5": "Best top-5 accuracy (%)",
    "top1_ema": "Top-1 accuracy, EMA (%)", "best_epoch": "Best epoch", "epochs": "Epochs",
    "params": "Parameters", "params_m": "Parameters (M)", "gmacs": "GMACs per image", "macs": "MACs per image",
    "train_img_per_s": "Training throughput (img/s)", "peak_mem_mb": "Peak memory (MiB)",
    "wall_time_s": "Wall time (s)", "val_top1": "Validation top-1 accuracy (%)", "val_loss": "Validation loss",
}
SHORT = {"top1": "Top-1 (%)", "top5": "Top-5 (%)", "loss": "Val. loss", "train_loss": "Train loss",
         "best_top1": "Best top-1 (%)", "best_top5": "Best top-5 (%)", "top1_ema": "Top-1 EMA (%)"}


def higher_is_better(metric: str) -> bool:
    """Accuracy-like metrics go up; losses, errors, time, memory and cost go down."""
    m = metric.lower()
    return not any(k in m for k in _LOWER_IS_BETTER)


def metric_label(metric: str) -> str:
    if metric in LABELS:
        return LABELS[metric]
    m = re.fullmatch(r"(\w+)@(\d+)", metric)
    if m:
        return f"{metric_label(m.group(1))} at {m.group(2)} px"
    return metric.replace("_", " ")


def is_percent(metric: str) -> bool:
    return metric.partition("@")[0] in PERCENT


def device_kind(device: Any) -> str | None:
    """'cpu' or 'gpu' from a run's ``env.device``: "cpu (<model>, <n> cores)" or the GPU's name."""
    if not isinstance(device, str) or not device.strip():
        return None
    return "cpu" if device.strip().lower().startswith("cpu") else "gpu"


# what ``peak_mem_mb`` measured, by the devices of the runs: torch.cuda.max_memory_allocated on a GPU,
# the process's peak resident set size (ru_maxrss, the interpreter and libraries included) on the CPU
_PEAK_MEMORY = {  # kinds → (table header, axis label)
    frozenset({"cpu"}): ("Peak RSS (MiB)", "Peak RSS (MiB)"),
    frozenset({"gpu"}): ("Peak mem. (MiB)", "Peak memory (MiB)"),
    frozenset({"cpu", "gpu"}): ("Peak mem. / RSS (MiB)", "Peak GPU memory / CPU RSS (MiB)"),
}


def peak_memory_labels(kinds: set[str]) -> tuple[str, str]:
    """(table header, axis label) of peak memory measured on these kinds of device."""
    return _PEAK_MEMORY.get(frozenset(kinds), ("Peak mem. (MiB)", "Peak memory (MiB)"))


def bounds(metric: str) -> tuple[float, float]:
    """The values a metric can take: [0, 100] for an accuracy in percent, ≥ 0 for a loss (cross-entropy),
    a cost or an epoch count, unbounded otherwise."""
    if is_percent(metric):
        return 0.0, 100.0
    if "loss" in metric.lower() or metric in (*COSTS, "best_epoch", "epochs"):
        return 0.0, math.inf
    return -math.inf, math.inf


def decimals(metric: str) -> int:
    return 4 if "loss" in metric else 2


def seed_key(seed: Any) -> tuple[int, Any]:
    """Seeds in numeric order, then any that are not numbers; (init, data) pairs in order of both."""
    if isinstance(seed, tuple):
        return (2, tuple(seed_key(x) for x in seed))
    return (0, seed) if isinstance(seed, (int, float)) else (1, str(seed))


def cell(value: Any) -> Any:
    """A config value as one table cell: lists, tuples and dicts as compact JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"))
    return value
