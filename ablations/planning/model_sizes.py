"""Params and MACs per distinct model, cached in ``<runs>/.model_sizes.json``.

Counting them means building the model (torch, seconds); a grid planned once is then planned again,
``--dry-run`` and all, without a build and without importing torch. A model in the cache was built
before, so the plan's buildability check skips it too. Figures that are not finite non-negative
numbers are ignored with a warning and counted again, never trusted.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

SIZES_FILE = ".model_sizes.json"


def _valid(entry: Any) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), (int, float)) and not isinstance(entry.get(k), bool)
        and math.isfinite(entry[k]) and entry[k] >= 0 for k in ("params", "macs"))


class SizeCache:
    """Model key (``ablations.planning.cost.model_key``) → ``{"params": …, "macs": …}``."""

    def __init__(self, runs_dir: Path) -> None:
        self.path = runs_dir / SIZES_FILE
        self.entries: dict[str, dict[str, float]] = {}
        self.new = 0
        raw = self._read()
        bad = [k for k, v in raw.items() if not _valid(v)]
        if bad:
            print(f"warning: {self.path}: {len(bad)} invalid entr{'y' if len(bad) == 1 else 'ies'} "
                  f"(e.g. {bad[0]!r}) ignored; those models are counted again", file=sys.stderr)
        self.entries = {k: {"params": float(v["params"]), "macs": float(v["macs"])} for k, v in raw.items()
                        if k not in bad}

    def _read(self) -> dict[str, Any]:
        if not self.path.is_file():  # none yet; a FIFO or folder there is not read (a FIFO would block)
            if self.path.exists():
                print(f"warning: {self.path}: not a regular file; ignored (model sizes are counted again)",
                      file=sys.stderr)
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as e:
            print(f"warning: {self.path}: unreadable ({type(e).__name__}); model sizes are counted again",
                  file=sys.stderr)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, float] | None:
        return self.entries.get(key)

    def put(self, key: str, sizes: dict[str, float]) -> None:
        if self.entries.get(key) != sizes:
            self.entries[key] = sizes
            self.new += 1

    def save(self) -> None:
        """Write the cache when something was counted (the runs folder exists then)."""
        if self.new:
            from vt_core.run_folder import atomic_write_text

            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
            self.new = 0
