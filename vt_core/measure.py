"""Parameters, MACs and FLOPs of a model, counted by ``torch.utils.flop_counter.FlopCounterMode``.

What is counted: every matrix product and convolution the forward pass executes (linear layers,
convolutions, and the two attention products QKᵀ and AV, whichever SDPA kernel or fallback runs
them). Not counted: norms, activations, softmax, additions (biases, relative position bias,
masks, residuals), pooling, interpolation. This is the convention of fvcore and of the papers'
tables (Swin, ViT, PVT-v2, Shunted), whose "FLOPs" are in fact multiply-accumulates.

Units: ``macs`` are multiply-accumulates, what the papers call "FLOPs"; ``flops`` = 2 × ``macs``
(one multiply and one add each), the unit of hardware peaks and of MFU. ``FlopCounterMode``
itself reports 2 × MACs, so ``macs`` = its total / 2.

The count runs one forward pass (batch 1, no grad, eval mode): a config is built and run on the
meta device (shapes only: no memory, no initialisation, the same counts as on the CPU, which is the
fallback), a given model on its own device. The global RNG is left untouched. On the CPU,
``F.scaled_dot_product_attention`` dispatches to
``aten._scaled_dot_product_flash_attention_for_cpu`` (with or without a mask), which torch's
counter has no formula for and would count as 0; ``register_sdpa_cpu_flops`` registers torch's own
SDPA formula for it (forward and backward), once.

    python -m vt_core.measure --preset swin_tiny_patch4_window7_224 [--set pos=abs ...] [--img-size 384] [--json]
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from typing import Any, Iterable, Mapping

import torch
from torch import nn
from torch.utils import flop_counter as _fc

from .cli import OneLineParser
from .config import ModelConfig, RunConfig
from .model import VisionTransformer
from .overrides import ConfigError, parse_assignment
from .presets import get_preset, list_presets

__all__ = ["count_forward", "count_macs", "count_params", "main", "measure", "register_sdpa_cpu_flops"]

_aten = torch.ops.aten

# ----------------------------------------------------------------------------- the SDPA CPU formula


def _as_bhsd(shape: Iterable[int]) -> tuple[int, int, int, int]:
    """(…, h, s, d) with any number of leading dims (SDPA accepts them) → (b, h, s, d)."""
    shape = tuple(shape)
    if len(shape) < 4:
        shape = (1,) * (4 - len(shape)) + shape
    return (math.prod(shape[:-3]), *shape[-3:])


def _sdpa_cpu_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return _fc.sdpa_flop_count(_as_bhsd(query_shape), _as_bhsd(key_shape), _as_bhsd(value_shape))


def _sdpa_cpu_backward_flop(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None,
                            **kwargs) -> int:
    return _fc.sdpa_backward_flop_count(
        _as_bhsd(grad_out_shape), _as_bhsd(query_shape), _as_bhsd(key_shape), _as_bhsd(value_shape)
    )


def register_sdpa_cpu_flops() -> None:
    """Give ``FlopCounterMode`` torch's SDPA formula for the CPU flash kernel (forward and backward).

    Idempotent, and a no-op for any op torch already has a formula for (a later torch may add one).
    Must run before a ``FlopCounterMode`` is created: the counter copies the registry on init.
    """
    formulas = {
        "_scaled_dot_product_flash_attention_for_cpu": _sdpa_cpu_flop,
        "_scaled_dot_product_flash_attention_for_cpu_backward": _sdpa_cpu_backward_flop,
    }
    for name, formula in formulas.items():
        op = getattr(_aten, name, None)
        if op is not None and op not in _fc.flop_registry:
            _fc.register_flop_formula(op)(formula)


register_sdpa_cpu_flops()

# ----------------------------------------------------------------------------- counting

_ATTENTION_OPS = ("scaled_dot_product", "flash_attention", "efficient_attention", "bmm", "baddbmm", "flex_attention")


def _op_kind(op: Any) -> str:
    """Group aten ops: 'attention' (QKᵀ and AV: SDPA kernels or the bmm of SDPA's math fallback),
    'conv', 'linear' (mm/addmm), else the op's name."""
    name = str(op).removeprefix("aten.")
    if "backward" in name:
        return "backward"
    if any(k in name for k in _ATTENTION_OPS):
        return "attention"
    if "conv" in name:
        return "conv"
    if name in ("mm", "addmm", "_scaled_mm"):
        return "linear"
    return name


def count_forward(module: nn.Module, *inputs: Any, **kwargs: Any) -> dict[str, Any]:
    """Count one call ``module(*inputs, **kwargs)`` (eval mode, no grad).

    Returns ``macs``, ``gmacs``, ``flops`` (= 2 × macs), ``gflops``, ``by_op`` (MACs per kind of op:
    ``linear``, ``conv``, ``attention``) and ``by_module`` (MACs under every submodule that ran,
    by its dotted name relative to ``module``; ``""`` is the module itself). Each count covers the
    whole call, i.e. the batch the inputs carry.
    """
    register_sdpa_cpu_flops()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), _fc.FlopCounterMode(display=False) as counter:
            module(*inputs, **kwargs)
    finally:
        module.train(was_training)
    counts = counter.get_flop_counts()
    by_op: dict[str, int] = defaultdict(int)
    for op, flops in counts.get("Global", {}).items():
        by_op[_op_kind(op)] += flops // 2
    by_module: dict[str, int] = {}
    for name, ops in counts.items():
        if name == "Global":
            continue
        _, _, rel = name.partition(".")  # the tracker prefixes every name with the root's class name
        by_module[rel] = sum(ops.values()) // 2
    macs = counter.get_total_flops() // 2  # the counter reports 2 × MACs
    return {
        "macs": macs, "gmacs": macs / 1e9, "flops": 2 * macs, "gflops": 2 * macs / 1e9,
        "by_op": dict(by_op), "by_module": dict(sorted(by_module.items())),
    }


def count_params(model: nn.Module, *, exclude_head: bool = False) -> int:
    """Number of parameters (each shared tensor once; buffers such as BatchNorm statistics and
    index tables are not parameters). ``exclude_head`` leaves out ``model.head`` (the classifier)."""
    n = sum(p.numel() for p in model.parameters())
    if exclude_head:
        head = getattr(model, "head", None)
        n -= sum(p.numel() for p in head.parameters()) if isinstance(head, nn.Module) else 0
    return n


def _build(cfg: ModelConfig, device: str = "meta") -> nn.Module:
    with torch.random.fork_rng(devices=[]), torch.device(device):  # init draws from the RNG: leave the caller's alone
        return VisionTransformer(cfg)


def _build_and_count(cfg: ModelConfig, batch: int = 1) -> tuple[nn.Module, dict[str, Any]]:
    """Build ``cfg`` on the meta device (no memory, no initialisation) and count there; on the CPU
    if some layer cannot run on meta. Both give the same counts (tests check it)."""
    try:
        model = _build(cfg, "meta")
        return model, count_macs(model, batch=batch)
    except (NotImplementedError, RuntimeError):
        model = _build(cfg, "cpu")
        return model, count_macs(model, batch=batch)


def _parts(by_module: Mapping[str, int], num_stages: int) -> tuple[dict[str, int], list[dict[str, int]]]:
    """MACs of a VisionTransformer by part (stem, mixer, ffn, downsample, head) and per stage."""
    parts = {"stem": 0, "mixer": 0, "ffn": 0, "downsample": 0, "head": 0}
    stages = [{"mixer": 0, "ffn": 0, "downsample": 0} for _ in range(num_stages)]
    for name, macs in by_module.items():
        bits = name.split(".")
        if name in ("patch_embed", "head"):
            parts["stem" if name == "patch_embed" else "head"] += macs
        elif len(bits) == 3 and bits[0] == "stages" and bits[2] == "downsample":
            parts["downsample"] += macs
            stages[int(bits[1])]["downsample"] += macs
        elif len(bits) == 5 and bits[0] == "stages" and bits[4] in ("attn", "mlp"):
            kind = "mixer" if bits[4] == "attn" else "ffn"
            parts[kind] += macs
            stages[int(bits[1])][kind] += macs
    return parts, stages


def count_macs(model_or_cfg: "nn.Module | ModelConfig | str", img_size: int | None = None,
               batch: int = 1) -> dict[str, Any]:
    """MACs and FLOPs of one forward pass on a ``batch`` of ``img_size``² images.

    ``macs`` are multiply-accumulates (the papers' "FLOPs"); ``flops`` = 2 × ``macs``. Both are for
    the whole batch (they scale linearly with it). A config or preset name is built at ``img_size``
    (windows clamped to the maps as the config rules say) and counted on the meta device (no
    memory, no initialisation; the CPU if a layer cannot run there). A model runs as built, at
    ``img_size`` (default: its config's), on its own device. Besides the totals: ``by_op`` (linear /
    conv / attention MACs, attention being the QKᵀ and AV products), ``by_module`` (MACs under every
    submodule, e.g. ``stages.0.blocks.1.attn``), and for a ``VisionTransformer`` ``by_part`` (stem,
    mixer, ffn, downsample, head) and ``by_stage`` (mixer, ffn, downsample), plus ``batch`` and
    ``img_size``.
    """
    if isinstance(model_or_cfg, str):
        model_or_cfg = get_preset(model_or_cfg)
    if isinstance(model_or_cfg, ModelConfig):
        cfg = model_or_cfg if img_size is None else model_or_cfg.replace(img_size=img_size)
        return _build_and_count(cfg, batch)[1]
    model = model_or_cfg
    cfg = getattr(model, "cfg", None)
    if img_size is None:
        if cfg is None:
            raise ValueError("count_macs: img_size is needed for a model without a .cfg")
        img_size = cfg.img_size
    if batch < 1:
        raise ValueError(f"count_macs: batch {batch} must be ≥ 1")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    in_chans = cfg.in_chans if cfg is not None else 3
    x = torch.zeros(batch, in_chans, img_size, img_size, device=device, dtype=dtype)  # values do not matter
    out = count_forward(model, x)
    out["batch"], out["img_size"] = batch, img_size
    if isinstance(model, VisionTransformer):
        out["by_part"], out["by_stage"] = _parts(out["by_module"], len(model.stages))
    return out


def _model_config(cfg_or_name: "str | ModelConfig | RunConfig | Mapping[str, Any]") -> ModelConfig:
    if isinstance(cfg_or_name, str):
        return get_preset(cfg_or_name)
    if isinstance(cfg_or_name, RunConfig):
        return cfg_or_name.model
    if isinstance(cfg_or_name, ModelConfig):
        return cfg_or_name
    if isinstance(cfg_or_name, Mapping):
        from .config import model_config_from

        return model_config_from(cfg_or_name)
    raise TypeError(f"measure: expected a preset name, ModelConfig or RunConfig, got {type(cfg_or_name).__name__}")


def _overrides(overrides: "Mapping[str, Any] | Iterable[str] | None") -> dict[str, Any]:
    """``{"model.pos": "rel"}``, ``{"pos": "rel"}`` or ``["model.pos=rel", "window_size=4"]`` → field overrides."""
    if not overrides:
        return {}
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_assignment(s) for s in overrides)
    out = {}
    for key, value in items:
        head = key.partition(".")[0]
        if head in ("data", "train"):
            raise ConfigError(f"unknown key '{key}': measure counts the model; give model.* keys (or bare field names)")
        out[key.removeprefix("model.")] = value
    return out


def measure(
    cfg_or_name: "str | ModelConfig | RunConfig",
    img_size: int | None = None,
    overrides: "Mapping[str, Any] | Iterable[str] | None" = None,
) -> dict[str, Any]:
    """Cost of a model per image: ``params``, ``params_without_head``, ``macs``/``gmacs`` (what papers
    call FLOPs), ``flops``/``gflops`` (= 2 × MACs), their breakdowns (``by_part``, ``by_stage``,
    ``by_op``, in MACs), the token grid of every stage and the config's notes (windows clamped or
    padded). Bad names, keys or values raise ``ConfigError``."""
    cfg = _model_config(cfg_or_name)
    extra = _overrides(overrides)
    if img_size is not None:
        extra["img_size"] = img_size
    if extra:
        cfg = cfg.replace(**extra)
    model, counted = _build_and_count(cfg)
    return {
        "name": cfg.name,
        "img_size": cfg.img_size,
        "params": count_params(model),
        "params_without_head": count_params(model, exclude_head=True),
        "mparams": count_params(model) / 1e6,
        "macs": counted["macs"],
        "gmacs": counted["gmacs"],
        "flops": counted["flops"],
        "gflops": counted["gflops"],
        "by_part": counted["by_part"],
        "by_stage": counted["by_stage"],
        "by_op": counted["by_op"],
        "stage_grids": [list(g) for g in cfg.stage_grids()],
        "notes": cfg.notes(),
        "counter": f"torch {torch.__version__.split('+')[0]} FlopCounterMode, batch 1, MACs = FLOPs / 2",
    }


# ----------------------------------------------------------------------------- CLI


def _g(n: float) -> str:
    return f"{n / 1e9:.3f} G"


def _report(m: Mapping[str, Any]) -> str:
    lines = [
        f"{m['name']} at {m['img_size']}×{m['img_size']}",
        f"  params       {m['params']:>16,}  {m['params'] / 1e6:9.2f} M  "
        f"({m['params_without_head'] / 1e6:.2f} M without the head)",
        f"  MACs         {m['macs']:>16,}  {m['gmacs']:9.3f} G  (what papers call FLOPs)",
        f"  FLOPs        {m['flops']:>16,}  {m['gflops']:9.3f} G  (= 2 × MACs)",
        "  MACs by part " + "  ".join(f"{k} {_g(v)}" for k, v in m["by_part"].items()),
        "  MACs by op   " + "  ".join(f"{k} {_g(v)}" for k, v in m["by_op"].items()),
    ]
    for i, (grid, st) in enumerate(zip(m["stage_grids"], m["by_stage"])):
        lines.append(f"  stage {i} {grid[0]}×{grid[1]} tokens: " + "  ".join(f"{k} {_g(v)}" for k, v in st.items()))
    lines += [f"  note: {n}" for n in m["notes"]]
    return "\n".join(lines)


def _table(rows: list[Mapping[str, Any]]) -> str:
    head = ("preset", "img", "params (M)", "no head (M)", "GMACs", "GFLOPs")
    body = [
        (r["name"], str(r["img_size"]), f"{r['mparams']:.2f}", f"{r['params_without_head'] / 1e6:.2f}",
         f"{r['gmacs']:.3f}", f"{r['gflops']:.3f}")
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    def fmt(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([fmt(head), *(fmt(b) for b in body)])


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(
        prog="python -m vt_core.measure",
        description="Parameters, MACs and FLOPs (= 2 × MACs) of a preset with overrides, counted by torch's "
                    "FlopCounterMode.",
    )
    p.add_argument("--preset", nargs="+", required=True, metavar="NAME",
                   help=f"preset name(s), or 'all'; known: {', '.join(list_presets())}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="model override, e.g. model.pos=rel or window_size=4 (repeatable)")
    p.add_argument("--img-size", type=int, default=None, help="input size (default: the preset's)")
    p.add_argument("--json", action="store_true", help="print JSON (an object; a list for several presets)")
    args = p.parse_args(argv)
    names = list_presets() if args.preset == ["all"] else args.preset
    try:
        rows = [measure(name, img_size=args.img_size, overrides=args.set) for name in names]
    except ConfigError as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1, ensure_ascii=False))
    else:
        print(_report(rows[0]) if len(rows) == 1 else _table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
