"""Mechanism measures of a trained run (attention distance, cross-window dependence, translation
sensitivity, effective receptive field, CKA against a baseline), written to ``RUN/analysis.json``.

    python -m vt_core.analyze RUN_FOLDER [--images N] [--baseline RUN_FOLDER] [--device cpu]

Nothing here imports torch until a measure runs (``analyze_run`` is imported on first use).
"""

from __future__ import annotations

from typing import Any

from .settings import AnalysisSettings

__all__ = ["AnalysisSettings", "analyze_run"]


def __getattr__(name: str) -> Any:
    if name == "analyze_run":
        from .run import analyze_run

        return analyze_run
    raise AttributeError(f"module 'vt_core.analyze' has no attribute {name!r}")
