"""``python -m vt_core.bench``: its options, checked into ``Settings`` (a bad one is a one-line
error and exit code 2, before anything is built or written), then the run and its outputs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ..cli import OneLineParser
from ..overrides import ConfigError
from .pairs import SHUNTED, TIMM_TWINS, check_presets
from .rows import text_table, write_outputs
from .runner import run
from .settings import DATA, DEFAULT_PRESETS, MODES, TIMM_FUSED_DEFAULT, Settings


def _list(value: str, choices: tuple[str, ...], flag: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    bad = [v for v in items if v not in choices]
    if not items or bad:
        raise ConfigError(f"{flag}: {value!r}: expected a comma-separated list of {', '.join(choices)}")
    return items


def parse_settings(argv: list[str] | None) -> Settings:
    from . import __doc__ as bench_doc  # the package's docstring: its first line is --help's summary

    p = OneLineParser(prog="python -m vt_core.bench", description=bench_doc.split("\n")[0])
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
        modes=_list(a.modes, MODES, "--modes"),
        compile=(False, True) if (gpu if a.compile is None else a.compile) else (False,),
        data=_list(a.data, DATA, "--data"), warmup=a.warmup if a.warmup is not None else (5 if gpu else 1),
        repeats=a.repeats if a.repeats is not None else (10 if gpu else 5),
        steps=a.steps if a.steps is not None else (10 if gpu else 1), timm_fused_attn=a.timm_fused_attn,
        out=Path(a.out), threads=a.threads,
    )
    for flag, value, least in (("--batch-size", s.batch, 1), ("--img-size", s.img_size, 1), ("--warmup", s.warmup, 0),
                               ("--repeats", s.repeats, 1), ("--steps", s.steps, 1),
                               ("--threads", 1 if s.threads is None else s.threads, 1)):
        if value < least:
            raise ConfigError(f"{flag}: {value} must be ≥ {least}")
    check_presets(s.presets, s.img_size, s.timm_fused_attn)
    return s


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
