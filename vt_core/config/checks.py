"""Checks every config section shares: a value among its choices, finite numbers, seeds in range."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..overrides import ConfigError

SEED_LIMIT = 2**32  # seeds enter generator seeds multiplied by ~10⁶: keep them within int64


def choice(name: str, value: str, choices: Any) -> None:
    """A ``model.<name>`` value among ``choices``."""
    choice_key(f"model.{name}", value, choices)


def choice_key(key: str, value: str, choices: Any) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, choices))}")


def check_finite(cfg: Any, prefix: str) -> None:
    """Every float (and tuple of floats) of a config is a finite number: no nan, inf or overflow."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{prefix}{f.name}: {value!r} is not a finite number")


def check_seed(key: str, seed: int) -> None:
    if not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"{key}: {seed} must lie in [0, 2^32)")
