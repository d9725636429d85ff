"""timm's state-dict keys → vt_core's: a small table of regex renames per family."""

from __future__ import annotations

import re

import torch

# (pattern, replacement) applied in order with re.sub; keys no rule touches keep their name.
KEY_RULES: dict[str, list[tuple[str, str]]] = {
    "vit": [
        (r"^pos_embed$", "pos_embed.pos_embed"),
        (r"^blocks\.(\d+)\.", r"stages.0.blocks.\1."),
    ],
    "swin": [
        (r"^layers\.(\d+)\.", r"stages.\1."),
        (r"\.attn\.relative_position_bias_table$", ".attn.rel_pos.relative_position_bias_table"),
        (r"^head\.fc\.", "head."),
    ],
    "pvt_v2": [
        (r"\.attn\.sr\.", ".attn.reduce.sr."),
        (r"\.attn\.norm\.", ".attn.reduce.norm."),
    ],
}


def convert_state_dict(state: dict[str, torch.Tensor], family: str) -> dict[str, torch.Tensor]:
    """Rename a timm state dict to vt_core's keys with ``KEY_RULES[family]``."""
    rules = KEY_RULES[family]
    out = {}
    for key, value in state.items():
        new = key
        for pattern, repl in rules:
            new = re.sub(pattern, repl, new)
        out[new] = value
    return out
