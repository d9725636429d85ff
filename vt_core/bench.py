"""Speed side by side: every preset against its twin, in one process, on the device at hand.

    python -m vt_core.bench                                                   # the issue's four presets
    python -m vt_core.bench --presets swin_tiny_patch4_window7_224 --batch-size 256 --compile
    python -m vt_core.bench --presets vit_tiny_patch16_224 --batch-size 2 --img-size 112 --repeats 1 --no-compile

A preset with a timm twin (``vit_*_patch16_224``, ``swin_*_patch4_window7_224``, ``pvt_v2_b*``) is timed
against ``timm.create_model(name, pretrained=False)`` with the timm weights copied into ours
(``from_timm``), so both compute the same function; ``shunted_*`` is timed against the plain Shunted
Transformer of ``vt_core.reference`` (explicit softmax attention, no fused kernel) with our weights copied
into it.

What one row measures: a training step (forward, cross-entropy, backward, AdamW step, fused where the
device has the kernel) or an inference forward (eval, no_grad), eager or under ``torch.compile``, with
bf16 autocast on CUDA and fp32 on the CPU by default. After warm-up, the two models alternate in
``--repeats`` timed blocks of ``--steps`` steps (the order flips every repeat, so drift on a shared
machine hits both); a row's img/s is the median block. CUDA blocks are timed with CUDA events, CPU
blocks with ``time.perf_counter``. Model FLOPs come from ``vt_core.measure`` (forward; a training
step counts 3 × forward), MFU is against a matmul timed here at startup in the same dtype.
See docs/benchmarks.md for every column.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .cli import OneLineParser
from .overrides import ConfigError
from .presets import PRESETS, get_preset
from .reference import copy_into_reference, reference_from_config

DEFAULT_PRESETS = ("vit_base_patch16_224", "swin_tiny_patch4_window7_224", "pvt_v2_b2", "shunted_s")
TIMM_FAMILIES = ("vit_", "swin_", "pvt_v2_")
TIMM_TWINS = tuple(n for n in PRESETS if n.startswith(TIMM_FAMILIES) and not n.endswith("_cpu"))
SHUNTED = tuple(n for n in PRESETS if n.startswith("shunted_") and not n.endswith("_cpu"))
MODES = ("train", "infer")
DATA = ("synthetic", "probe")
REFERENCE_LABEL = "reference (vt_core.reference.shunted)"
# timm 1.0 reads TIMM_FUSED_ATTN once, at import, and each attention module copies the setting when
# it is built; 2 also enables the "experimental" fused path of Swin's WindowAttention, the fastest
# setting the issue compares against. ``timm.layers.set_fused_attn`` is the documented switch for
# the same global: the bench sets it around building the timm model only and restores it.
TIMM_FUSED_DEFAULT = 2

@dataclass
class Settings:
    presets: tuple[str, ...]
    device: torch.device
    dtype: str  # "bf16" (autocast) or "fp32"
    batch: int
    img_size: int
    modes: tuple[str, ...]
    compile: tuple[bool, ...]  # (False,) or (False, True): eager rows, then compiled rows
    data: tuple[str, ...]
    warmup: int
    repeats: int
    steps: int
    timm_fused_attn: int
    out: Path
    threads: int | None = None  # torch.set_num_threads; None leaves torch's default


@dataclass
class Pair:
    """Our model and the one it is timed against, with the same weights."""

    name: str
    ours: nn.Module
    ref: nn.Module
    ref_label: str
    flops_per_img: int  # forward FLOPs (2 × MACs) at the benchmark's image size
    max_abs_diff: float = float("nan")


@dataclass
class Row:
    model: str
    reference: str
    mode: str
    compile: str
    data: str
    device: str
    dtype: str
    batch: int
    img_size: int
    img_s_ours: float
    img_s_ref: float
    ratio: float  # img_s_ours / img_s_ref
    ratio_paired: float  # median over repeats of the two adjacent blocks' ratio: robust to drift
    step_ms_ours: float
    step_ms_ref: float
    gflop_per_img: float
    tflops_ours: float
    tflops_ref: float
    mfu_ours: float
    mfu_ref: float
    mem_mb_ours: float | None
    mem_mb_ref: float | None
    max_abs_diff: float
    extra: dict[str, Any] = field(default_factory=dict)  # bench.json only: every block's seconds


COLUMNS = tuple(f.name for f in fields(Row) if f.name != "extra")
TEXT_COLUMNS = ("model", "reference", "mode", "compile", "data", "device", "dtype")


# ------------------------------------------------------------------------------------- models
def _family(name: str) -> str:
    return "shunted" if name in SHUNTED else next(f.rstrip("_") for f in TIMM_FAMILIES if name.startswith(f))


def _timm_kwargs(name: str, img_size: int) -> dict[str, Any]:
    # PVT-v2 has no input size (no position table): it runs at any size as built
    return {} if _family(name) == "pvt_v2" else {"img_size": img_size}


def _build_timm(name: str, img_size: int, *, fused_attn: int, device: torch.device | str) -> nn.Module:
    import timm
    from timm.layers import set_fused_attn, use_fused_attn

    before = 2 if use_fused_attn(experimental=True) else int(use_fused_attn())  # the process-wide setting
    set_fused_attn(fused_attn > 0, experimental=fused_attn > 1)
    try:
        with torch.device(device):
            return timm.create_model(name, pretrained=False, **_timm_kwargs(name, img_size))
    finally:
        set_fused_attn(before > 0, experimental=before > 1)


def check_presets(names: tuple[str, ...], img_size: int, fused_attn: int) -> None:
    """Refuse what cannot be benchmarked before anything is built for real (timm models on meta)."""
    from .timm_transfer import timm_config

    for name in names:
        if name not in TIMM_TWINS + SHUNTED:
            why = "unknown preset" if name not in PRESETS else "no timm twin or reference"
            raise ConfigError(f"--presets: {name!r}: {why}; choose from {', '.join(TIMM_TWINS + SHUNTED)} or 'all'")
        try:
            if name in SHUNTED:
                cfg = get_preset(name).replace(img_size=img_size)  # refuses maps too small for the ratios
                reference_from_config(cfg)
                continue
            cfg = timm_config(_build_timm(name, img_size, fused_attn=fused_attn, device="meta"))
            if cfg.img_size != img_size:  # PVT-v2: our config is rebuilt for the size, checking the KV ratios
                cfg.replace(img_size=img_size)
        except (ConfigError, ValueError) as e:
            raise ConfigError(f"--presets: {name} at --img-size {img_size}: {e}") from None


def build_pair(name: str, s: Settings) -> Pair:
    from . import create_model, from_timm
    from .measure import count_macs

    torch.manual_seed(0)
    if name in SHUNTED:
        ours = create_model(name, img_size=s.img_size)
        ref = reference_from_config(ours.cfg)
        copy_into_reference(ours, ref)
        label = REFERENCE_LABEL
    else:
        ref = _build_timm(name, s.img_size, fused_attn=s.timm_fused_attn, device="cpu")
        ours = from_timm(ref)
        if ours.cfg.img_size != s.img_size:
            ours.set_input_size(img_size=s.img_size)
        label = f"timm {name}"
    flops = count_macs(ours.cfg, batch=1)["flops"]
    pair = Pair(name=name, ours=ours.to(s.device), ref=ref.to(s.device), ref_label=label, flops_per_img=flops)
    pair.max_abs_diff = _max_abs_diff(pair, s)
    return pair


@torch.no_grad()
def _max_abs_diff(pair: Pair, s: Settings) -> float:
    """Logits of one image, eval mode, fp32: the two sides compute the same function."""
    x = torch.randn(1, 3, s.img_size, s.img_size, generator=torch.Generator().manual_seed(1)).to(s.device)
    pair.ours.eval(), pair.ref.eval()
    return (pair.ours(x).float() - pair.ref(x).float()).abs().max().item()


# ------------------------------------------------------------------------------------- inputs
def synthetic_batches(s: Settings, num_classes: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(s.batch, 3, s.img_size, s.img_size, generator=g).to(s.device)
    y = torch.randint(0, num_classes, (s.batch,), generator=g).to(s.device)
    while True:
        yield x, y


def probe_batches(s: Settings) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches exactly as training gets them: the in-memory probe through ``vt_core.train.Batches``
    (kept on the device, ``data.on_device``), epoch after epoch."""
    from .config import DataConfig, RunConfig, TrainConfig
    from .data import load_data
    from .distributed import DistEnv
    from .train import Batches

    data = DataConfig(name="arrangement", train_size=8 * s.batch, val_size=1, on_device=True)
    cfg = RunConfig(data=data, train=TrainConfig(batch_size=s.batch, device=s.device.type))
    batches = Batches(load_data(data, img_size=s.img_size, in_chans=3), cfg, DistEnv(), s.device)
    epoch = 0
    while True:
        yield from batches.train(epoch, 0)
        epoch += 1


# ------------------------------------------------------------------------------------- steps
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


# ------------------------------------------------------------------------------------- environment
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


def environment(s: Settings, peak_tflops: float) -> dict[str, Any]:
    from .environment import describe

    return {
        **describe(s.device),
        "dtype": s.dtype, "matmul_peak_tflops": peak_tflops, "timm_fused_attn": s.timm_fused_attn,
        "batch": s.batch, "img_size": s.img_size, "warmup": s.warmup, "repeats": s.repeats, "steps": s.steps,
        "command": "python -m vt_core.bench " + " ".join(sys.argv[1:]),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
    }


# ------------------------------------------------------------------------------------- output
def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if key.startswith("mfu"):
            return f"{100 * value:.1f}%"
        if key == "max_abs_diff":
            return f"{value:.1e}"
        if key.startswith("ratio"):
            return f"{value:.3f}"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def format_table(rows: list[Row]) -> list[list[str]]:
    return [[_fmt(getattr(r, c), c) for c in COLUMNS] for r in rows]


def text_table(rows: list[Row]) -> str:
    cells = [list(COLUMNS), *format_table(rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) if col in TEXT_COLUMNS else c.rjust(w) for col, c, w in zip(COLUMNS, row, widths))
                     for row in cells)


def markdown(rows: list[Row], env: dict[str, Any]) -> str:
    lines = [
        "# vt_core.bench", "",
        f"`{env['command']}`", "",
        f"- device: {env['device']}, {env['threads']} torch threads",
        f"- torch {env['torch']}, timm {env['timm']}, python {env['python']}",
        f"- dtype {env['dtype']}, batch {env['batch']}, {env['img_size']}², warm-up {env['warmup']}, "
        f"{env['repeats']} timed blocks of {env['steps']} step(s), median",
        f"- matmul peak {env['matmul_peak_tflops']:.3f} TFLOP/s (the higher of {env['matmul_peak_tflops_start_end'][0]:.3f} "
        f"at the start and {env['matmul_peak_tflops_start_end'][1]:.3f} at the end); "
        f"timm fused attention setting {env['timm_fused_attn']}",
        f"- load average (1/5/15 min) at start {env.get('load_average', {}).get('start')}, "
        f"at end {env.get('load_average', {}).get('end')}; OMP_WAIT_POLICY={env['omp_wait_policy'] or '(unset)'}",
        "", "| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" if c in TEXT_COLUMNS else "---:" for c in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in format_table(rows)]
    return "\n".join(lines) + "\n"


def write_outputs(rows: list[Row], env: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "bench.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in COLUMNS])
    (out / "bench.md").write_text(markdown(rows, env))
    (out / "bench.json").write_text(json.dumps({"env": env, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")


# ------------------------------------------------------------------------------------- CLI
def _list(value: str, choices: tuple[str, ...], flag: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in choices]
    if not items or bad:
        raise ConfigError(f"{flag}: {value!r}: expected a comma-separated list of {', '.join(choices)}")
    return items


def parse_settings(argv: list[str] | None) -> Settings:
    p = OneLineParser(prog="python -m vt_core.bench", description=__doc__.split("\n")[0])
    p.add_argument("--presets", default=",".join(DEFAULT_PRESETS),
                   help=f"comma-separated presets, or 'all' (default: {','.join(DEFAULT_PRESETS)})")
    p.add_argument("--batch-size", type=int, default=None, help="images per step (default: 256 on CUDA, 8 on the CPU)")
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--dtype", choices=("auto", "bf16", "fp32"), default="auto",
                   help="auto: bf16 autocast on CUDA, fp32 on the CPU")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="also time torch.compile'd models (default: on CUDA, off on the CPU)")
    p.add_argument("--modes", default="train,infer", help="comma-separated: train, infer")
    p.add_argument("--data", default="synthetic", help="comma-separated: synthetic (a fixed random batch), "
                   "probe (the in-memory probe through the training loop's batching)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per model first (default: 5 CUDA, 1 CPU)")
    p.add_argument("--repeats", type=int, default=None, help="timed blocks per model (default: 10 CUDA, 5 CPU)")
    p.add_argument("--steps", type=int, default=None, help="steps per timed block (default: 10 CUDA, 1 CPU)")
    p.add_argument("--timm-fused-attn", type=int, choices=(0, 1, 2), default=TIMM_FUSED_DEFAULT,
                   help="timm's fused attention for the timm models: 0 off, 1 tested modules, 2 also Swin (default)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's own choice)")
    p.add_argument("--out", default="reports/bench", help="folder for bench.csv, bench.md, bench.json")
    a = p.parse_args(argv)

    if a.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device: 'cuda' asked for but no CUDA device is visible")
    device = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")
    gpu = device.type == "cuda"
    presets = TIMM_TWINS + SHUNTED if a.presets.strip() == "all" else tuple(
        dict.fromkeys(n.strip() for n in a.presets.split(",") if n.strip()))
    if not presets:
        raise ConfigError("--presets: empty")
    s = Settings(
        presets=presets, device=device, dtype=("bf16" if gpu else "fp32") if a.dtype == "auto" else a.dtype,
        batch=a.batch_size if a.batch_size is not None else (256 if gpu else 8), img_size=a.img_size,
        modes=_list(a.modes, MODES, "--modes"), compile=(False, True) if (gpu if a.compile is None else a.compile) else (False,),
        data=_list(a.data, DATA, "--data"), warmup=a.warmup if a.warmup is not None else (5 if gpu else 1),
        repeats=a.repeats if a.repeats is not None else (10 if gpu else 5),
        steps=a.steps if a.steps is not None else (10 if gpu else 1), timm_fused_attn=a.timm_fused_attn, out=Path(a.out),
        threads=a.threads,
    )
    for flag, value, least in (("--batch-size", s.batch, 1), ("--img-size", s.img_size, 1), ("--warmup", s.warmup, 0),
                               ("--repeats", s.repeats, 1), ("--steps", s.steps, 1),
                               ("--threads", 1 if s.threads is None else s.threads, 1)):
        if value < least:
            raise ConfigError(f"{flag}: {value} must be ≥ {least}")
    check_presets(s.presets, s.img_size, s.timm_fused_attn)
    return s


def run(s: Settings, *, log: Callable[[str], None] = print) -> tuple[list[Row], dict[str, Any]]:
    if s.threads is not None:
        torch.set_num_threads(s.threads)
    load_before = _loadavg()
    peak = matmul_peak_tflops(s.device, s.dtype)
    env = environment(s, peak)
    log(f"device: {env['device']}, {env['threads']} torch threads | torch {env['torch']} | timm {env['timm']} | {s.dtype} | "
        f"matmul peak {peak:.3f} TFLOP/s | timm fused attention {s.timm_fused_attn}")
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


def main(argv: list[str] | None = None) -> int:
    try:
        s = parse_settings(argv)
    except ConfigError as e:
        print(f"python -m vt_core.bench: error: {e}", file=sys.stderr)
        return 2
    rows, env = run(s)
    print()
    print(text_table(rows))
    write_outputs(rows, env, s.out)
    print(f"\nwrote {s.out / 'bench.csv'}, {s.out / 'bench.md'}, {s.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
