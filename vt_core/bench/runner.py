"""One benchmark invocation: every preset's pair through every (compile, mode, data) row, and the
environment the rows were measured in (device, versions, matmul peak, load average)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import torch

from .pairs import build_pair
from .rows import Row
from .settings import Settings
from .timing import matmul_peak_tflops, measure_pair


def environment(s: Settings, peak_tflops: float) -> dict[str, Any]:
    from ..environment import describe

    return {
        **describe(s.device),
        "dtype": s.dtype, "matmul_peak_tflops": peak_tflops, "timm_fused_attn": s.timm_fused_attn,
        "batch": s.batch, "img_size": s.img_size, "warmup": s.warmup, "repeats": s.repeats, "steps": s.steps,
        "command": "python -m vt_core.bench " + " ".join(sys.argv[1:]),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }


def run(s: Settings, *, log: Callable[[str], None] = print) -> tuple[list[Row], dict[str, Any]]:
    if s.threads is not None:
        torch.set_num_threads(s.threads)
    load_before = _loadavg()
    peak = matmul_peak_tflops(s.device, s.dtype)
    env = environment(s, peak)
    log(f"device: {env['device']}, {env['threads']} torch threads | torch {env['torch']} | timm {env['timm']} | "
        f"{s.dtype} | matmul peak {peak:.3f} TFLOP/s | timm fused attention {s.timm_fused_attn}")
    busy = load_before is not None and load_before[0] - 1 + torch.get_num_threads() > (os.cpu_count() or 1)  # −1: us
    if s.device.type == "cpu" and busy and not os.environ.get("OMP_WAIT_POLICY"):
        # other processes on these cores: OpenMP threads that spin at every barrier while their
        # partner is descheduled make small ops up to ~50× slower, hiding every difference measured
        log(f"warning: load average {load_before[0]} before starting; on a shared CPU run with "
            "OMP_WAIT_POLICY=PASSIVE (set before Python starts), see docs/benchmarks.md")
    rows = []
    for name in s.presets:
        pair = build_pair(name, s)
        log(f"{name}: {pair.flops_per_img / 1e9:.2f} GFLOP/img forward, max |logit diff| {pair.max_abs_diff:.1e}")
        for compiled in s.compile:
            for mode in s.modes:
                for data in s.data:
                    row = measure_pair(pair, mode=mode, compiled=compiled, data=data, s=s, peak_tflops=peak)
                    log(f"  {mode:5s} {row.compile:8s} {data:9s} ours {row.img_s_ours:9.1f} img/s  "
                        f"ref {row.img_s_ref:9.1f} img/s  ratio {row.ratio:.3f} (paired {row.ratio_paired:.3f})")
                    rows.append(row)
        del pair
        if s.device.type == "cuda":
            torch.cuda.empty_cache()
        torch._dynamo.reset()
    env["load_average"] = {"start": load_before, "end": _loadavg()}
    # timed again at the end and the higher kept: on a shared machine one timing may fall in a busy spell
    end_peak = matmul_peak_tflops(s.device, s.dtype)
    env["matmul_peak_tflops_start_end"] = [peak, end_peak]
    if end_peak > peak:
        env["matmul_peak_tflops"] = end_peak
        for row in rows:
            row.mfu_ours, row.mfu_ref = row.tflops_ours / end_peak, row.tflops_ref / end_peak
    return rows, env


def _loadavg() -> list[float] | None:
    """The machine's 1/5/15-minute load: a busy, shared machine shows here (and in the noise)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None
