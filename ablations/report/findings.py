"""One metric's results over a grid, the one object its table, its verdicts and its figures are
drawn from (before: the same six values passed side by side to each of them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .load import Aggregate


@dataclass(frozen=True)
class Findings:
    """``summary``: a row per variant from ``stats.summarize``; ``costs``: from ``stats.variant_costs``;
    ``paper``: the published number per variant (the grid's own metric only, else empty)."""

    agg: Aggregate
    metric: str
    baseline: str
    summary: pd.DataFrame
    costs: pd.DataFrame
    paper: dict[str, float] = field(default_factory=dict)
