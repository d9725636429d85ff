"""Where a variant's spread over seeds comes from, when a grid varies the weight-initialisation seed
(``train.seed``) and the data-order / augmentation seed (``data.seed``) independently.

The runs of one variant form an a × b table (a init seeds × b data seeds, one run per cell). Under
the two-way crossed random-effects model without replication

    y_ij = μ + α_i + β_j + ε_ij,   α ~ N(0, σ²_init), β ~ N(0, σ²_data), ε ~ N(0, σ²_resid)

the ANOVA (method-of-moments) estimators are (Searle, Casella & McCulloch, Variance Components,
Wiley 1992, ch. 4 on balanced data: the two-way crossed classification without interaction)

    σ²_init = (MS_init − MS_resid) / b,   σ²_data = (MS_data − MS_resid) / a,   σ²_resid = MS_resid

with MS_init = b Σ_i (ȳ_i· − ȳ)² / (a − 1), MS_data = a Σ_j (ȳ_·j − ȳ)² / (b − 1) and MS_resid the
residual mean square over (a − 1)(b − 1) degrees of freedom. With one run per cell the interaction
of the two seeds cannot be told from noise: it is in σ²_resid. A negative estimate (a mean square
below the residual one, which sampling allows) is reported as 0, as is usual.

A table with missing cells (failed runs) is cut to the init seeds that have every data seed.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from .keys import seed_key

NO_DECOMPOSITION: dict[str, Any] = {"n_init": 0, "n_data": 0, "var_init": math.nan, "var_data": math.nan,
                                    "var_resid": math.nan, "dropped_init": "", "truncated": ""}


def two_way_table(values: Mapping[tuple[Any, Any], float]) -> tuple[np.ndarray, list[Any], list[Any], list[Any]]:
    """(table, init seeds, data seeds, init seeds dropped for a missing cell) from values by (init, data)."""
    inits = sorted({k[0] for k in values}, key=seed_key)
    datas = sorted({k[1] for k in values}, key=seed_key)
    kept = [i for i in inits if all((i, j) in values for j in datas)]
    dropped = [i for i in inits if i not in kept]
    table = np.array([[values[(i, j)] for j in datas] for i in kept], dtype=float).reshape(len(kept), len(datas))
    return table, kept, datas, dropped


def decompose(table: np.ndarray) -> dict[str, float]:
    """The ANOVA estimates of σ²_init (rows), σ²_data (columns) and σ²_resid of a complete table."""
    y = np.asarray(table, dtype=float)
    a, b = y.shape
    if a < 2 or b < 2:
        return {"var_init": math.nan, "var_data": math.nan, "var_resid": math.nan}
    grand, rows, cols = y.mean(), y.mean(axis=1), y.mean(axis=0)
    ms_init = b * float(((rows - grand) ** 2).sum()) / (a - 1)
    ms_data = a * float(((cols - grand) ** 2).sum()) / (b - 1)
    resid = y - rows[:, None] - cols[None, :] + grand
    ms_resid = float((resid**2).sum()) / ((a - 1) * (b - 1))
    return {"var_init": (ms_init - ms_resid) / b, "var_data": (ms_data - ms_resid) / a, "var_resid": ms_resid}


def seed_sources(values: Mapping[tuple[Any, Any], float]) -> dict[str, Any]:
    """The decomposition of one variant's values by (init seed, data seed), negative parts set to 0
    (``truncated`` names them)."""
    if not values:
        return dict(NO_DECOMPOSITION)
    table, kept, datas, dropped = two_way_table(values)
    est = decompose(table) if table.size else {"var_init": math.nan, "var_data": math.nan, "var_resid": math.nan}
    negative = [k for k in ("var_init", "var_data") if est[k] < 0]
    for k in negative:
        est[k] = 0.0
    return {"n_init": len(kept), "n_data": len(datas), **est, "dropped_init": ",".join(map(str, dropped)),
            "truncated": ",".join(k.removeprefix("var_") for k in negative)}
