"""``result.json``: what a run that ended (done or diverged) reports: final and best accuracy, the
accuracy at other input sizes, cost (parameters, MACs, throughput, peak memory), wall time and the
environment it ran in."""

from __future__ import annotations

import platform
import resource
from typing import Any

import numpy as np
import torch

from ..run_result import RunResult
from .evaluation import evaluate_sizes
from .parts import RunParts
from .state import TrainState


def build_result(run: RunParts, state: TrainState, diverged: dict[str, int] | None) -> RunResult:
    from ..data.normalisation import describe as describe_normalisation
    from ..measure import measure

    cfg, history, best = run.cfg, state.history, state.best
    final = history[-1] if history else {}
    seen = best.epoch >= 0
    cost = measure(cfg.model)
    trained = [h for h in history if "img_per_s" in h]
    speeds = [h["img_per_s"] for h in trained[1:] or trained]
    peak_mb, peak_kind = peak_memory(run.device)
    return RunResult(
        status="diverged" if diverged else "done", run_id=cfg.run_id(), fingerprint=cfg.fingerprint(),
        epochs=sum(1 for h in history if h["epoch"] > 0),
        top1=final.get("val_top1"), top5=final.get("val_top5"), loss=final.get("val_loss"),
        train_loss=final.get("train_loss"),
        best_top1=best.top1 if seen else None, best_top5=best.top5 if seen else None,
        best_epoch=best.epoch if seen else None, top1_ema=final.get("val_top1_ema"), diverged_at=diverged,
        eval_sizes=evaluate_sizes(run) if not diverged and cfg.train.eval_sizes else {},
        params=cost["params"], macs=cost["macs"], gmacs=cost["macs"] / 1e9,
        train_img_per_s=float(np.median(speeds)) if speeds else None,
        peak_mem_mb=peak_mb, peak_mem_kind=peak_kind, wall_time_s=run.wall_s(state),
        world_size=run.denv.world_size, env=environment(run.device), normalisation=describe_normalisation(cfg),
    )


def peak_memory(device: torch.device) -> tuple[float, str]:
    """(MiB, what was measured). On CUDA the tensors' peak (``cuda_max_allocated``: the model,
    activations, optimizer state, no allocator cache); on the CPU the process's peak resident set
    (``process_peak_rss``), which also counts Python, torch's and the data's own memory, so it is
    comparable between runs of one setup, not a model's footprint."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "process_peak_rss"  # Linux reports KiB


def environment(device: torch.device) -> dict[str, Any]:
    """Versions, device, host and the code's provenance (commit, uncommitted changes: then the run
    folder holds ``code.diff``)."""
    from ..environment import describe, provenance

    return {**describe(device), "host": platform.node(), **provenance()}
