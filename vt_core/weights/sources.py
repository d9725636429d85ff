"""``train.init_from``: where a run's initial weights come from, read and checked.

    timm:swin_tiny_patch4_window7_224.ms_in1k   a timm pretrained tag, fetched by timm's hub code
    /path/to/weights.safetensors                 a file: timm's or vt_core's state dict (.pth .pt .bin .safetensors)
    runs/my_grid/0123456789ab                    another run's folder: its checkpoint.pt

``check`` plans the transfer into a model config from the checkpoint's shapes alone (a safetensors
header, a memory-mapped .pth, a timm architecture built on the meta device), so a grid whose
weights do not fit stops at planning; ``load`` reads the tensors for the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from ..config import ModelConfig
from ..overrides import ConfigError
from .transfer import TransferError, TransferReport, plan, to_vt_core, transfer

TIMM = "timm:"
FILE_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
CHECKPOINT = "checkpoint.pt"  # a run folder's (vt_core.run_folder.CHECKPOINT)


def describe(spec: str) -> str:
    return spec if spec.startswith(TIMM) else str(Path(spec).expanduser())


def _timm_name(spec: str) -> str:
    import timm

    name = spec[len(TIMM):]
    arch = name.partition(".")[0]
    if not name or not timm.is_model(arch):
        raise ConfigError(f"train.init_from: {spec!r}: {arch!r} is not a timm model (timm.list_models())")
    if name not in timm.list_pretrained(arch + "*"):
        tags = ", ".join(timm.list_pretrained(arch + ".*")[:8]) or "none"
        raise ConfigError(f"train.init_from: {spec!r} is not a timm pretrained tag (tags of {arch}: {tags})")
    return name


def _file(spec: str) -> Path:
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / CHECKPOINT
        if path.exists() and not path.is_file():
            raise ConfigError(f"train.init_from: {path} is not a regular file ({_kind(path)}); a run folder's "
                              f"{CHECKPOINT} is the file its trainer wrote")
        if not path.is_file():
            raise ConfigError(f"train.init_from: {path.parent} is a folder without {CHECKPOINT} (not a run folder)")
    elif not path.exists():
        raise ConfigError(f"train.init_from: {path} does not exist (a timm:<tag>, a weights file or a run folder)")
    elif not path.is_file():  # a FIFO would block the read at planning forever; a device is no weights file
        raise ConfigError(f"train.init_from: {path} is not a regular file ({_kind(path)}); give a weights file, "
                          "a run folder or timm:<tag>")
    elif path.suffix not in FILE_SUFFIXES:
        raise ConfigError(f"train.init_from: {path}: expected one of {', '.join(FILE_SUFFIXES)}, a run folder "
                          f"or timm:<tag>")
    return path


def _kind(path: Path) -> str:
    """What a path that is no regular file is, in a word."""
    import stat

    mode = path.stat().st_mode
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
    return next((word for test, word in kinds if test(mode)), "not a file")


def _read_file(path: Path, *, shapes_only: bool) -> Mapping[str, Any]:
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                if shapes_only:
                    return {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in f.keys()}
                return {k: f.get_tensor(k) for k in f.keys()}
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as e:  # a legacy (non-zip) torch file cannot be memory-mapped
            if "mmap" not in str(e):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any reader failure is the user's file: say which, in one line
        reason = " ".join(str(e).split())[:160]
        raise ConfigError(f"train.init_from: {path} cannot be read as weights ({type(e).__name__}: {reason})") from None
    if not isinstance(state, Mapping):
        raise ConfigError(f"train.init_from: {path} holds a {type(state).__name__}, not a state dict")
    return state


def _read_timm(name: str, *, shapes_only: bool) -> Mapping[str, Any]:
    import timm

    if shapes_only:
        with torch.device("meta"):
            return timm.create_model(name, pretrained=False).state_dict()
    try:
        return timm.create_model(name, pretrained=True).state_dict()
    except Exception as e:  # noqa: BLE001 - no network, no cache, a broken download: one line
        reason = " ".join(str(e).split())[:160]
        raise ConfigError(f"train.init_from: timm:{name}: timm could not load the weights ({type(e).__name__}: "
                          f"{reason}); without a network, give a local file instead") from None


def read(spec: str, *, shapes_only: bool = False) -> Mapping[str, Any]:
    """The checkpoint's tensors as stored (``shapes_only``: tensors on the meta device)."""
    if not spec:
        raise ConfigError("train.init_from: empty")
    if spec.startswith(TIMM):
        return _read_timm(_timm_name(spec), shapes_only=shapes_only)
    return _read_file(_file(spec), shapes_only=shapes_only)


def _meta_model(cfg: ModelConfig) -> torch.nn.Module:
    from ..model import VisionTransformer

    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        return VisionTransformer(cfg)


def check(spec: str, cfg: ModelConfig) -> TransferReport:
    """The transfer of ``spec`` into a model of ``cfg``, planned from shapes only; a ConfigError
    naming the spec and the first tensor that does not fit otherwise."""
    try:
        source, fmt = to_vt_core(read(spec, shapes_only=True))
        return TransferReport(describe(spec), fmt, tuple(plan(source, _meta_model(cfg))))
    except TransferError as e:
        raise TransferError(f"train.init_from: {describe(spec)}: {e}") from None


def load_into(spec: str, model: torch.nn.Module) -> TransferReport:
    """Copy the checkpoint's weights into ``model`` (the run's, freshly initialised)."""
    try:
        return transfer(read(spec), model, checkpoint=describe(spec))
    except TransferError as e:
        raise TransferError(f"train.init_from: {describe(spec)}: {e}") from None


__all__ = ["check", "describe", "load_into", "read"]
