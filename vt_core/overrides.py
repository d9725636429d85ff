"""Dotted overrides (``model.pos=rel``) for nested frozen dataclasses.

Values arrive as strings from the command line and grids, or as Python values from code. Each is
coerced to the type the dataclass field declares, so ``model.window_size=4`` and
``model.kv_ratios=[[8,4],[4,2],[2,1],[1]]`` mean the same typed and untyped.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from typing import Any, Mapping

import yaml


class ConfigError(ValueError):
    """A bad configuration value; the message is one line naming the key, the value and why."""


def parse_value(text: str) -> Any:
    """Parse an override's right-hand side: YAML scalars and flow lists (``[8,4]``, ``true``, ``1e-3``)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" as a string
            return float(value) if any(c in value for c in "eE.") and value[0] in "+-.0123456789" else value
        except ValueError:
            return value
    return value


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"model.pos=rel"`` → ``("model.pos", "rel")``."""
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {item!r} is not of the form key=value")
    return key.strip(), parse_value(text.strip())


def _is_tuple_type(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Coerce ``value`` to the annotated type ``tp`` or raise a ConfigError naming ``key``."""
    tp, optional = _strip_optional(tp)
    if isinstance(value, str) and tp is not str:
        value = parse_value(value)  # "[[8,4],[2,1]]", "true", "1e-3" from a command line
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: null is not allowed")
    if _is_tuple_type(tp):
        (inner, *rest) = typing.get_args(tp) or (Any,)
        # A scalar is broadcast later (per-stage fields); here it becomes a 1-tuple.
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(coerce(v, inner, key) for v in items)
    if tp is Any or typing.get_origin(tp) is typing.Union:
        return tuple(value) if isinstance(value, list) else value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "on", "off", "yes", "no"):
            return value.lower() in ("true", "on", "yes")
        raise ConfigError(f"{key}: {value!r} is not a boolean (true/false)")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key}: {value!r} is not an integer")
        try:
            as_float = float(value)
        except ValueError:
            raise ConfigError(f"{key}: {value!r} is not an integer") from None
        if not as_float.is_integer():
            raise ConfigError(f"{key}: {value!r} is not an integer")
        return int(as_float)
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: {value!r} is not a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: {value!r} is not a number") from None
    if tp is str:
        if isinstance(value, (list, dict, tuple)):
            raise ConfigError(f"{key}: {value!r} is not a string")
        return "none" if value is None else str(value)
    return value


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> dict[str, Any]:
    """Once per class: get_type_hints evaluates every annotation string, and a grid of thousands of
    variants applies overrides thousands of times (callers only read the dict)."""
    return typing.get_type_hints(cls)


def with_overrides(root: Any, overrides: Mapping[str, Any], prefix: str = "") -> Any:
    """Return a copy of the frozen dataclass ``root`` with dotted keys replaced.

    Every override is applied before the dataclasses re-validate, so coupled fields (window size
    with resolution) can change together. Unknown keys raise a ConfigError with a suggestion.
    """
    nested: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    names = [f.name for f in dataclasses.fields(root)]
    hints = _field_types(type(root))
    for key, value in overrides.items():
        head, _, tail = key.partition(".")
        full = f"{prefix}{head}"
        if head not in names:
            close = difflib.get_close_matches(head, names, n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (known: {', '.join(names)})"
            raise ConfigError(f"unknown key '{prefix}{key}'{hint}")
        sub = getattr(root, head)
        if tail:
            if not dataclasses.is_dataclass(sub):
                raise ConfigError(f"unknown key '{prefix}{key}': '{full}' has no sub-keys")
            nested.setdefault(head, {})[tail] = value
        elif dataclasses.is_dataclass(sub):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{full}: expected a mapping of its fields, got {value!r}")
            nested.setdefault(head, {}).update(value)
        else:
            direct[head] = coerce(value, hints[head], full)
    for head, sub_overrides in nested.items():
        direct[head] = with_overrides(getattr(root, head), sub_overrides, prefix=f"{prefix}{head}.")
    return dataclasses.replace(root, **direct) if direct else root


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a plain mapping (e.g. a loaded ``config.yaml``)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: expected a mapping, got {data!r}")
    return with_overrides(cls(), data, prefix=prefix)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, YAML-friendly dict (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(cfg)
