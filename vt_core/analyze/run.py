"""``analyze_run``: every measure on a run folder's final weights, written to ``analysis.json``
(atomically; skipped when the file is up to date for this run, these settings and this baseline)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

from ..overrides import ConfigError
from ..run_folder import RESULT, atomic_write_text
from .attention_distance import AttentionDistance, window_bound_px
from .cka import centred_gram, cka_matrix
from .cross_window import cross_window_dependence
from .erf import erf_maps, erf_radii
from .hooks import attention_probe, block_outputs, named_blocks
from .load import final_model, run_config, validation_images
from .settings import AnalysisSettings
from .translation import default_shifts, translation_sensitivity

ANALYSIS = "analysis.json"
VERSION = 1  # bump when a measure's definition changes: every analysis.json is then redone


def analysis_key(run_dir: Path, settings: AnalysisSettings, baseline: Path | None) -> str:
    """What the figures depend on: the run's (and the baseline's) result.json, the settings, VERSION."""
    parts = [str(VERSION), json.dumps(settings.keyed(), sort_keys=True), (run_dir / RESULT).read_text()]
    if baseline is not None:
        parts.append((baseline / RESULT).read_text())
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def read_analysis(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / ANALYSIS).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_up_to_date(run_dir: Path, settings: AnalysisSettings, baseline: Path | None = None) -> bool:
    held = read_analysis(run_dir)
    return held is not None and held.get("key") == analysis_key(run_dir, settings, baseline)


def analyze_run(run_dir: str | Path, settings: AnalysisSettings | None = None,
                baseline: str | Path | None = None, *, force: bool = False) -> dict[str, Any]:
    """Measure the run in ``run_dir`` (CKA against ``baseline``'s run, the same images) and write
    ``run_dir/analysis.json``; returns its dict (the file's, untouched, when already up to date).
    Raises ConfigError, before anything is written, for a folder that holds no finished run."""
    settings = settings if settings is not None else AnalysisSettings()
    run_dir, base_dir = Path(run_dir), Path(baseline) if baseline is not None else None
    cfg, _ = run_config(run_dir)
    if base_dir is not None:
        run_config(base_dir, "--baseline")
    key = analysis_key(run_dir, settings, base_dir)
    held = read_analysis(run_dir)
    if not force and held is not None and held.get("key") == key:
        return held
    device = _device(settings.device)
    model = final_model(run_dir, cfg, device)
    images, labels, indices = validation_images(cfg, settings.images, settings.seed)
    out: dict[str, Any] = {"version": VERSION, "key": key, "run_id": cfg.run_id(), "settings": settings.keyed(),
                           "images": {"split": "val", "n": len(indices), "indices": indices}}
    seconds: dict[str, float] = {}
    tick = time.perf_counter()
    base, distances, grams = _forward_pass(model, cfg, images, settings, features=base_dir is not None)
    seconds["forward"] = time.perf_counter() - tick
    layout = _layout(model, cfg)
    out["attention_distance"] = _annotate(distances, layout, model)
    out.update(_measures(model, cfg, images, labels, base, settings, layout, seconds))
    out["cka"] = None
    if base_dir is not None:
        tick = time.perf_counter()
        out["cka"] = _cka(base_dir, grams, images, settings, device)
        seconds["cka"] = time.perf_counter() - tick
    out["seconds"] = seconds
    atomic_write_text(run_dir / ANALYSIS, json.dumps(out, indent=1) + "\n")
    return out


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device: {name!r} is not a device (cpu, cuda, cuda:1, auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device: {name}: no CUDA device here; use --device cpu")
    return device


def _batches(images: torch.Tensor, size: int):
    for i in range(0, len(images), size):
        yield images[i:i + size]


def _logits(model: torch.nn.Module, images: torch.Tensor, settings: AnalysisSettings) -> torch.Tensor:
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(x.to(device)).float().cpu() for x in _batches(images, settings.batch_size)])


def _forward_pass(model, cfg, images, settings, *, features: bool) -> tuple[torch.Tensor, dict, dict]:
    """One pass over the images: logits, attention distances, and (``features``: for CKA) every
    block's centred Gram matrix."""
    probe = AttentionDistance((cfg.model.img_size, cfg.model.img_size))
    kept: dict[str, list[torch.Tensor]] = {}
    with attention_probe(model, probe) as names, block_outputs(model, kept, enabled=features):
        probe.names = names
        base = _logits(model, images, settings)
    return base, probe.result(), _grams(kept)


def _grams(kept: dict[str, list[torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {name: centred_gram(torch.cat(parts)) for name, parts in kept.items()}


def _layout(model: torch.nn.Module, cfg) -> dict[str, dict[str, Any]]:
    return {name: {"stage": stage, "depth": depth, "mixer": cfg.model.mixer[stage]}
            for depth, (name, stage, _) in enumerate(named_blocks(model))}


def _annotate(distances: dict[str, dict], layout: dict[str, dict], model: torch.nn.Module) -> dict[str, dict]:
    """Stage, depth, mixer kind; for window attention the window and its geometric bound."""
    blocks = {name: block for name, _, block in named_blocks(model)}
    out = {}
    for name, row in distances.items():
        row = {**layout[name], **row}
        m = getattr(blocks[name].attn, "window_size", None)
        if row["mixer"] == "window" and m is not None:
            row.update(window=m, bound_px=window_bound_px(m, row["token_px"]))
        out[name] = row
    return out


def _measures(model, cfg, images, labels, base, settings, layout, seconds) -> dict[str, Any]:
    """Translation sensitivity, cross-window dependence, ERF (the last two on ``grad_images``)."""
    out: dict[str, Any] = {}
    device = next(model.parameters()).device
    tick = time.perf_counter()
    stride = cfg.model.stem_stride
    out["translation"] = translation_sensitivity(lambda x: _logits(model, x, settings), images, labels, base,
                                                 settings.shifts or default_shifts(stride), stride)
    seconds["translation"] = time.perf_counter() - tick
    grad_images = images[:settings.grad_images].to(device)
    tick = time.perf_counter()
    cross = cross_window_dependence(model, grad_images, tokens=settings.tokens, seed=settings.seed)
    out["cross_window"] = {name: {**layout[name], **row} for name, row in cross.items()}
    seconds["cross_window"] = time.perf_counter() - tick
    tick = time.perf_counter()
    out["erf"] = _erf(model, grad_images, settings)
    seconds["erf"] = time.perf_counter() - tick
    return out


def _erf(model, images: torch.Tensor, settings: AnalysisSettings) -> dict[str, dict[str, Any]]:
    """ERF radii of every feature level (stages; blocks of an isotropic model)."""
    maps = erf_maps(lambda x: model.forward_intermediates(x, intermediates_only=True, output_fmt="NCHW"), images)
    out = {}
    for info, mass in zip(model.feature_info, maps):
        size = images.shape[-1] // info["reduction"]
        out[info["module"]] = {"stride_px": info["reduction"],
                               "radius_px": erf_radii(mass.cpu(), (size, size), settings.erf_shares)}
    return out


def _cka(base_dir: Path, grams: dict[str, torch.Tensor], images: torch.Tensor, settings: AnalysisSettings,
         device: torch.device) -> dict[str, Any]:
    """Linear CKA of every block with every block of the baseline run, on the same images."""
    cfg_b, _ = run_config(base_dir, "--baseline")
    images_b, _, _ = validation_images(cfg_b, settings.images, settings.seed)
    if images_b.shape != images.shape or not torch.equal(images_b, images):
        raise ConfigError(f"--baseline: {base_dir} sees other validation images (its data or model.img_size "
                          "differ); CKA compares features of the same images: give a run of the same data")
    model_b = final_model(base_dir, cfg_b, device)
    features: dict[str, list[torch.Tensor]] = {}
    with block_outputs(model_b, features):
        _logits(model_b, images, settings)
    grams_b = _grams(features)
    matrix = cka_matrix(grams, grams_b)
    cols = list(grams_b)
    diagonal = {name: matrix[i][cols.index(name)] for i, name in enumerate(grams) if name in grams_b}
    return {"baseline": str(base_dir), "baseline_run_id": cfg_b.run_id(), "rows": list(grams), "cols": cols,
            "matrix": matrix, "same_block": diagonal}
