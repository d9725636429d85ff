"""Speed side by side: every preset against its twin, in one process, on the device at hand.

    python -m vt_core.bench                                                   # ViT-B/16, Swin-T, PVT-v2-b2, Shunted-S
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

The parts: ``settings`` (what one invocation times), ``pairs`` (the two models of a row),
``inputs`` (their batches), ``timing`` (steps, timed blocks, peak memory, the matmul peak),
``rows`` (a row and its output formats), ``runner`` (the whole run) and ``cli`` (the command line).
"""

from __future__ import annotations

from .cli import main, parse_settings
from .inputs import probe_batches, synthetic_batches
from .pairs import REFERENCE_LABEL, SHUNTED, TIMM_FAMILIES, TIMM_TWINS, Pair, build_pair, check_presets
from .pairs import _build_timm as _build_timm  # tests check timm's fused-attention switch through it
from .rows import COLUMNS, TEXT_COLUMNS, Row, format_table, markdown, text_table, write_outputs
from .runner import environment, run
from .settings import DATA, DEFAULT_PRESETS, MODES, TIMM_FUSED_DEFAULT, Settings
from .timing import Side, matmul_peak_tflops, measure_pair, peak_memory_mb, time_block

__all__ = [
    "COLUMNS", "DATA", "DEFAULT_PRESETS", "MODES", "REFERENCE_LABEL", "SHUNTED", "TEXT_COLUMNS", "TIMM_FAMILIES",
    "TIMM_FUSED_DEFAULT", "TIMM_TWINS", "Pair", "Row", "Settings", "Side", "build_pair", "check_presets",
    "environment", "format_table", "main", "markdown", "matmul_peak_tflops", "measure_pair", "parse_settings",
    "peak_memory_mb", "probe_batches", "run", "synthetic_batches", "text_table", "time_block", "write_outputs",
]
