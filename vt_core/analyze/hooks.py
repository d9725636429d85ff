"""Where the measures attach to a model: the mixers' attention probe (the ``TokenMixer`` contract)
and forward hooks on blocks. Nothing here changes what a model computes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import nn

from ..layers import Block
from ..layers.mixer import AttentionProbe, TokenMixer


def named_blocks(model: nn.Module) -> list[tuple[str, int, Block]]:
    """(name, stage, block) of every block in forward order: "stages.1.blocks.0", 1, …"""
    out = []
    for name, module in model.named_modules():
        if isinstance(module, Block):
            parts = name.split(".")
            stage = int(parts[parts.index("stages") + 1]) if "stages" in parts else 0
            out.append((name, stage, module))
    return out


@contextmanager
def attention_probe(model: nn.Module, probe: AttentionProbe) -> Iterator[dict[TokenMixer, str]]:
    """Attach ``probe`` to every token mixer of ``model`` (mixers without attention never call it);
    yields mixer → its block's name. Detached on exit, so the fused kernels run again."""
    names = {}
    for name, _, block in named_blocks(model):
        if isinstance(block.attn, TokenMixer):
            names[block.attn] = name
            block.attn.attention_probe = probe
    try:
        yield names
    finally:
        for mixer in names:
            del mixer.attention_probe  # back to the class default, None


@contextmanager
def block_outputs(model: nn.Module, store: dict[str, list[torch.Tensor]], enabled: bool = True) -> Iterator[None]:
    """Append every block's output, flattened per image (B, N·C) and moved to the CPU, to
    ``store[name]`` on each forward (``enabled=False``: nothing, a no-op context)."""
    def hook(name: str):
        def save(_module: nn.Module, _args: Any, out: torch.Tensor) -> None:
            store.setdefault(name, []).append(out.detach().flatten(1).float().cpu())
        return save

    blocks = named_blocks(model) if enabled else []
    handles = [block.register_forward_hook(hook(name)) for name, _, block in blocks]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def block_inputs(blocks: dict[str, Block], store: dict[str, tuple[torch.Tensor, tuple[int, int]]]) -> Iterator[None]:
    """Keep each of ``blocks``' input (x, feat_size), detached, in ``store[name]`` (the last forward's)."""
    def hook(name: str):
        def save(_module: nn.Module, args: tuple) -> None:
            x, feat_size = args
            store[name] = (x.detach(), tuple(feat_size))
        return save

    handles = [block.register_forward_pre_hook(hook(name)) for name, block in blocks.items()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
