"""What an analysis measures on, as data (no torch here: the CLI's help path imports it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..overrides import ConfigError

_NOT_KEYED = ("batch_size", "device")


@dataclass(frozen=True)
class AnalysisSettings:
    """A fixed, seeded set of ``images`` validation images; the gradient measures (cross-window
    dependence, ERF) use its first ``grad_images``. ``shifts`` empty: derived from the stem stride
    (``translation.default_shifts``). ``device`` and ``batch_size`` change the cost, not the figures,
    so they are not part of the key that makes ``analysis.json`` up to date."""

    images: int = 64
    seed: int = 0
    grad_images: int = 8
    tokens: int = 8  # sampled output tokens per image and window block (cross-window dependence)
    shifts: tuple[int, ...] = ()
    erf_shares: tuple[float, ...] = (0.5, 0.9)
    batch_size: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("images", "grad_images", "tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"analysis {name}: {getattr(self, name)} must be at least 1")
        if any(k < 1 for k in self.shifts):
            raise ConfigError(f"analysis shifts: {list(self.shifts)} must be positive pixel counts")
        if any(not 0 < s <= 1 for s in self.erf_shares):
            raise ConfigError(f"analysis erf_shares: {list(self.erf_shares)} must lie in (0, 1]")

    def keyed(self) -> dict[str, Any]:
        """The fields the figures depend on (``analysis.json`` is redone when one changes)."""
        out = {k: v for k, v in asdict(self).items() if k not in _NOT_KEYED}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
