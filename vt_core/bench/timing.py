"""Timing a pair: each model's step (a training step or an inference forward), blocks of steps
timed alternately, one step's peak memory, and the matmul peak MFU is taken against.

After warm-up, the two models alternate in ``repeats`` timed blocks of ``steps`` steps (the order
flips every repeat, so drift on a shared machine hits both); a row's img/s is the median block.
CUDA blocks are timed with CUDA events, CPU blocks with ``time.perf_counter``."""

from __future__ import annotations

import statistics
import time
from contextlib import nullcontext
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .inputs import probe_batches, synthetic_batches
from .pairs import Pair
from .rows import Row
from .settings import Settings


class Side:
    """One model in one mode: its step function, input stream and resident bytes."""

    def __init__(self, model: nn.Module, *, mode: str, compiled: bool, s: Settings, batches: Iterator) -> None:
        self.model = model
        self.net = torch.compile(model, dynamic=False) if compiled else model
        self.mode = mode
        self.batches = batches
        bf16 = s.dtype == "bf16"
        self.autocast = (lambda: torch.autocast(s.device.type, dtype=torch.bfloat16)) if bf16 else nullcontext
        self.opt = _adamw(model, s.device) if mode == "train" else None
        model.train(mode == "train")

    def step(self) -> None:
        x, y = next(self.batches)
        if self.opt is None:
            with torch.no_grad(), self.autocast():
                self.net(x)
            return
        with self.autocast():
            loss = F.cross_entropy(self.net(x).float(), y)
        loss.backward()
        self.opt.step()
        # after the step, not before: gradients are freed between steps, so a step's peak memory
        # (measured from the memory allocated before it) includes them
        self.opt.zero_grad(set_to_none=True)

    def resident_bytes(self) -> int:
        """Weights, buffers and optimizer state: what stays allocated between this model's steps."""
        tensors = [*self.model.parameters(), *self.model.buffers()]
        if self.opt is not None:
            tensors += [t for st in self.opt.state.values() for t in st.values() if torch.is_tensor(t)]
        return sum(t.numel() * t.element_size() for t in tensors)


def _adamw(model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    """AdamW with the fused kernel where the device has one, else the multi-tensor one."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.AdamW(params, lr=1e-4, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(params, lr=1e-4, foreach=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_block(side: Side, steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` steps: CUDA events on a GPU, perf_counter on the CPU."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            side.step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    t = time.perf_counter()
    for _ in range(steps):
        side.step()
    return time.perf_counter() - t


def peak_memory_mb(side: Side, device: torch.device) -> float | None:
    """One step's CUDA peak above what was allocated before it, plus this model's own resident
    bytes: the peak it would have alone, though both models live in this process. None on the CPU."""
    if device.type != "cuda":
        return None
    _sync(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    side.step()
    _sync(device)
    return (torch.cuda.max_memory_allocated(device) - base + side.resident_bytes()) / 2**20


def measure_pair(pair: Pair, *, mode: str, compiled: bool, data: str, s: Settings, peak_tflops: float) -> Row:
    num_classes = pair.ours.cfg.num_classes
    sides = []
    for model in (pair.ours, pair.ref):
        batches = probe_batches(s) if data == "probe" else synthetic_batches(s, num_classes)
        sides.append(Side(model, mode=mode, compiled=compiled, s=s, batches=batches))
    for _ in range(s.warmup):  # compiles on the first step, settles allocators and caches
        for side in sides:
            side.step()
    _sync(s.device)
    mems = [peak_memory_mb(side, s.device) for side in sides]
    times: list[list[float]] = [[], []]
    for r in range(s.repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for i in order:
            times[i].append(time_block(sides[i], s.steps, s.device))
    step_s = [statistics.median(t) / s.steps for t in times]
    img_s = [s.batch / t for t in step_s]
    flops_step = pair.flops_per_img * (3 if mode == "train" else 1)  # backward ≈ 2 × forward
    tflops = [f * flops_step / 1e12 for f in img_s]
    return Row(
        model=pair.name, reference=pair.ref_label, mode=mode, compile="compiled" if compiled else "eager",
        data=data, device=s.device.type, dtype=s.dtype, batch=s.batch, img_size=s.img_size,
        img_s_ours=img_s[0], img_s_ref=img_s[1], ratio=img_s[0] / img_s[1],
        ratio_paired=statistics.median(ref / ours for ours, ref in zip(*times)),
        step_ms_ours=1e3 * step_s[0], step_ms_ref=1e3 * step_s[1], gflop_per_img=pair.flops_per_img / 1e9,
        tflops_ours=tflops[0], tflops_ref=tflops[1], mfu_ours=tflops[0] / peak_tflops, mfu_ref=tflops[1] / peak_tflops,
        mem_mb_ours=mems[0], mem_mb_ref=mems[1], max_abs_diff=pair.max_abs_diff,
        extra={"times_s_ours": times[0], "times_s_ref": times[1]},
    )


def matmul_peak_tflops(device: torch.device, dtype: str) -> float:
    """The best TFLOP/s of an n×n matmul in the benchmark's dtype: the peak MFU is taken against."""
    gpu = device.type == "cuda"
    # big enough to saturate the device, small enough to cost well under a second on a 2-core CPU
    n = 8192 if gpu else (2048 if torch.get_num_threads() > 4 else 1024)
    dt = torch.bfloat16 if dtype == "bf16" else torch.float32
    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)
    iters = 10 if gpu else 3
    best = 0.0
    for k in range(6 if gpu else 4):
        _sync(device)
        t = time.perf_counter()
        for _ in range(iters):
            a @ b
        _sync(device)
        dt_s = time.perf_counter() - t
        if k:  # the first round warms up
            best = max(best, 2 * n**3 * iters / dt_s / 1e12)
    return best
