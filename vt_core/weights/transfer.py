"""Pretrained weights into any variant: a checkpoint's tensors mapped onto a model that may differ
from the checkpoint's architecture in what an ablation changes.

Every tensor of the model is ``copied`` (same name and shape), ``resized`` (a relative position
bias table for another window or grid, as timm resizes them: ``resize_rel_pos_bias_table``; an
absolute embedding for another token grid: ``resample_abs_pos_embed``) or ``new`` (a position part
the checkpoint lacks, or a classifier for another number of classes: the model's own
initialisation is kept); a checkpoint tensor the model has no use for is ``dropped`` (a position
part the variant switched off, the classifier of other classes). Anything else — another width
or depth, a tensor the model has and the checkpoint lacks outside the position parts and the
head — is refused with a ``TransferError`` naming the first tensor that does not fit, before any
weight is changed. Buffers the model rebuilds itself (window masks, relative position indices)
are not transferred.

Checkpoints: a ``vt_core`` state dict (a model's, or a run's ``checkpoint.pt``), or a timm state
dict of a ViT, Swin or PVT-v2 (``vt_core.weights.timm.KEY_RULES`` renames its keys), as a
``.pth``/``.pt``/``.bin`` or ``.safetensors`` file or a mapping in memory.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch
from torch import nn

from ..overrides import ConfigError
from .timm import convert_state_dict

ACTIONS = ("copied", "resized", "new", "dropped")
_REBUILT = re.compile(r"(relative_position_index|attn_mask|window_index|window_inverse)$")
_POSITION = re.compile(r"^(pos_embed\.|cls_token$)|\.rel_pos\.")
_HEAD = re.compile(r"^head\.")
_RELATIVE_TABLE = "relative_position_bias_table"


class TransferError(ConfigError):
    """A checkpoint that cannot go into the model: one line naming the tensor."""


@dataclass(frozen=True)
class Move:
    name: str  # the model's tensor (the checkpoint's, for a dropped one)
    action: str  # copied | resized | new | dropped
    source: tuple[int, ...] | None  # the checkpoint's shape
    target: tuple[int, ...] | None  # the model's shape


@dataclass(frozen=True)
class TransferReport:
    checkpoint: str  # where the weights came from
    format: str  # "vt_core" or "timm <family>"
    moves: tuple[Move, ...]

    def summary(self) -> dict[str, int]:
        return {a: sum(m.action == a for m in self.moves) for a in ACTIONS}

    def line(self) -> str:
        """One log line: the counts and what was resized, new and dropped."""
        counts = ", ".join(f"{n} {a}" for a, n in self.summary().items() if n)
        detail = [f"{m.name} {m.action}" + (f" {list(m.source)}→{list(m.target)}" if m.action == "resized" else "")
                  for m in self.moves if m.action != "copied"]
        shown = "; ".join(detail[:6]) + (f"; … {len(detail) - 6} more" if len(detail) > 6 else "")
        return f"weights from {self.checkpoint} ({self.format}): {counts}" + (f" ({shown})" if shown else "")

    def to_json(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "format": self.format, "summary": self.summary(),
                "tensors": [asdict(m) for m in self.moves]}


# ------------------------------------------------------------------------------------- formats
def unwrap(state: Mapping[str, Any]) -> dict[str, Any]:
    """The tensors of a checkpoint: a run's checkpoint.pt keeps them under "model", other trainers
    under "state_dict" or "model_ema"; DDP prefixes them with "module."."""
    for key in ("model", "state_dict"):
        inner = state.get(key)
        if isinstance(inner, Mapping) and inner and all(isinstance(k, str) for k in inner):
            state = inner
            break
    return {k.removeprefix("module."): v for k, v in state.items() if not isinstance(v, Mapping)}


def checkpoint_format(keys: set[str]) -> str:
    """'vt_core', 'vit', 'swin' or 'pvt_v2' from a state dict's key names; TransferError otherwise."""
    if any(k.startswith("stages.") and ".blocks." in k for k in keys) and "patch_embed.proj.weight" in keys \
            or any(k.startswith("patch_embed.conv.") for k in keys):
        return "pvt_v2" if any(".attn.sr." in k for k in keys) else "vt_core"
    if any(k.startswith("layers.") and ".blocks." in k for k in keys):
        return "swin"
    if any(k.startswith("blocks.") for k in keys) and "patch_embed.proj.weight" in keys:
        return "vit"
    sample = ", ".join(sorted(keys)[:3])
    raise TransferError(f"not a checkpoint vt_core knows (a vt_core model, or timm's ViT, Swin or PVT-v2); "
                        f"its first keys: {sample}")


def to_vt_core(state: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The checkpoint's tensors under vt_core's names, and its format ("vt_core" / "timm swin" …)."""
    tensors = unwrap(state)
    family = checkpoint_format(set(tensors))
    if family == "vt_core":
        return tensors, "vt_core"
    return convert_state_dict(tensors, family), f"timm {family}"


# ------------------------------------------------------------------------------------- the plan
def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def plan(source: Mapping[str, Any], model: nn.Module) -> list[Move]:
    """What each tensor becomes; ``source`` maps vt_core names to tensors (or anything with
    ``.shape``: planning reads no values). Raises TransferError at the first misfit."""
    target = {k: _shape(v) for k, v in model.state_dict().items() if not _REBUILT.search(k)}
    src = {k: _shape(v) for k, v in source.items() if not _REBUILT.search(k)}
    moves = []
    for name, shape in target.items():
        have = src.get(name)
        if have == shape:
            moves.append(Move(name, "copied", have, shape))
        elif have is not None and name.endswith(_RELATIVE_TABLE) and have[1:] == shape[1:]:
            moves.append(Move(name, "resized", have, shape))  # another window (or grid): same heads
        elif have is not None and name == "pos_embed.pos_embed" and have[0] == 1 and have[2:] == shape[2:]:
            moves.append(Move(name, "resized", have, shape))  # another token grid: same width
        elif _HEAD.match(name) and (have is None or have[1:] == shape[1:] or len(shape) == 1):
            moves.append(Move(name, "new", have, shape))  # another number of classes, or no head there
        elif have is None and _POSITION.search(name):
            moves.append(Move(name, "new", None, shape))
        elif have is None:
            raise TransferError(f"{name} {list(shape)} is not in the checkpoint (another depth or architecture?)")
        else:
            raise TransferError(f"{name}: the checkpoint's {list(have)} does not fit the model's {list(shape)} "
                                f"(another width or architecture?)")
    for name, shape in src.items():
        if name in target:
            continue
        if _POSITION.search(name) or _HEAD.match(name):
            moves.append(Move(name, "dropped", shape, None))
        else:
            raise TransferError(f"{name} {list(shape)} of the checkpoint is not in the model "
                                f"(another depth or architecture?)")
    return moves


def _resized(name: str, value: torch.Tensor, model: nn.Module, shape: tuple[int, ...]) -> torch.Tensor:
    from timm.layers import resample_abs_pos_embed, resize_rel_pos_bias_table

    if name.endswith(_RELATIVE_TABLE):
        grid = model.get_submodule(name.rsplit(".", 1)[0]).grid  # the table's token grid (a window's or the map's)
        return resize_rel_pos_bias_table(value.float(), new_window_size=grid, new_bias_shape=shape).to(value.dtype)
    pos = model.get_submodule("pos_embed")
    return resample_abs_pos_embed(value.float(), new_size=list(pos.grid),
                                  num_prefix_tokens=pos.num_prefix_tokens).to(value.dtype)


def transfer(state: Mapping[str, Any], model: nn.Module, *, checkpoint: str = "memory") -> TransferReport:
    """Load a checkpoint's tensors into ``model`` as the plan says (nothing changes if it refuses)."""
    source, fmt = to_vt_core(state)
    moves = plan(source, model)
    own = model.state_dict()
    new_state = {}
    for m in moves:
        if m.action == "copied":
            new_state[m.name] = source[m.name]
        elif m.action == "resized":
            new_state[m.name] = _resized(m.name, source[m.name], model, m.target)
    for name, value in new_state.items():
        own[name].copy_(value.to(own[name].dtype))
    return TransferReport(checkpoint, fmt, tuple(moves))


def adapt_for(model: nn.Module, state: Mapping[str, Any], *, checkpoint: str = "memory") -> dict[str, torch.Tensor]:
    """``state`` as a complete state dict for ``model`` (what timm's ``pretrained_filter_fn`` returns):
    transferred tensors, the model's own for new ones."""
    source, _ = to_vt_core(state)
    moves = plan(source, model)
    out = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for m in moves:
        if m.action == "copied":
            out[m.name] = source[m.name]
        elif m.action == "resized":
            out[m.name] = _resized(m.name, source[m.name], model, m.target)
    return out


__all__ = ["ACTIONS", "Move", "TransferError", "TransferReport", "adapt_for", "checkpoint_format", "plan",
           "to_vt_core", "transfer", "unwrap"]
