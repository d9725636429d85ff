"""Cost: the device-hours the launcher estimated for each run (grid.json's ``estimate``) against
those the runs took (``result.json``'s ``wall_time_s`` × ``world_size``; a CPU run counts one
device, whatever its processes), per variant and in total. Shown only where estimates exist."""

from __future__ import annotations

import math

import pandas as pd

BUDGET_COLUMNS = ("runs", "estimated_h", "measured_h", "ratio", "sources")


def device_hours(runs: pd.DataFrame, variants: list[str]) -> pd.DataFrame | None:
    """Per variant (and a 'total' row): runs with an estimate, estimated and measured device-hours
    over the runs that have both, measured / estimated, and the estimates' sources. None where no
    run carries an estimate. A run two variants share (the same config) counts once in the total."""
    if "est_device_hours" not in runs.columns or not runs["est_device_hours"].notna().any():
        return None
    measured = runs["device_hours"] if "device_hours" in runs.columns else pd.Series(math.nan, index=runs.index)
    both = runs.assign(measured=measured)[runs["est_device_hours"].notna() & measured.notna()]
    rows = []
    for v in variants:
        mine = runs[runs["variant"] == v]
        b = both[both["variant"] == v]
        rows.append(_row(v, int(mine["est_device_hours"].notna().sum()), b, _sources(mine)))
    distinct = both.drop_duplicates("run_id")
    rows.append(_row("total", int(runs.drop_duplicates("run_id")["est_device_hours"].notna().sum()), distinct,
                     _sources(runs)))
    return pd.DataFrame(rows, columns=["variant", *BUDGET_COLUMNS]).set_index("variant")


def _row(name: str, n_estimated: int, both: pd.DataFrame, sources: str) -> dict[str, object]:
    est, got = float(both["est_device_hours"].sum()), float(both["measured"].sum())
    return {"variant": name, "runs": f"{len(both)}/{n_estimated}", "estimated_h": est if len(both) else math.nan,
            "measured_h": got if len(both) else math.nan, "ratio": got / est if len(both) and est > 0 else math.nan,
            "sources": sources}


def _sources(runs: pd.DataFrame) -> str:
    """The estimates' sources with their counts: 'calibration ×3, gmacs table ×1'."""
    if "est_source" not in runs.columns:
        return ""
    counts = runs.loc[runs["est_device_hours"].notna(), "est_source"].fillna("unknown").value_counts(sort=False)
    return ", ".join(f"{s} ×{n}" for s, n in counts.items())
