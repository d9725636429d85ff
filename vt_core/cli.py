"""What the suite's command lines share: argparse errors on one line, and ``--set`` overrides that
count every occurrence."""

from __future__ import annotations

import argparse
from typing import Any

from .exit_codes import BAD_INPUT


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit with ``BAD_INPUT`` (argparse's default
    prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(BAD_INPUT, f"{self.prog}: error: {message}\n")


def add_set_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--set K=V [K=V ...]``, repeatable: every occurrence counts (``action="extend"``)."""
    parser.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help=help)


def overrides_from(items: list[str]) -> dict[str, Any]:
    """``["model.pos=rel", "train.lr=1e-3"]`` → a dict; a key given twice with different values is
    refused (the same value twice is harmless)."""
    from .overrides import ConfigError, parse_assignment

    out: dict[str, Any] = {}
    for item in items:
        key, value = parse_assignment(item)
        if key in out and out[key] != value:
            raise ConfigError(f"--set: {key} is given twice, as {out[key]!r} and {value!r}; give it once")
        out[key] = value
    return out
