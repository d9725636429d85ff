"""The report's words as types: the interval methods, the multiple-comparison corrections and the
verdicts are enums that carry their own labels. A label is written here once; code compares
members, never display text; the command line, ``StatOptions`` and the statistics read the same
choices (``parse``), so a bad one is refused once, in one line.

Each enum is a ``StrEnum`` whose value is what the command line and the CSV files say
(``--interval bootstrap``, a ``verdict`` column of ``better``), so a member equals and prints as it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from .selection import ReportError

E = TypeVar("E", bound=StrEnum)


def parse(kind: type[E], value: str | E, option: str) -> E:
    """``value`` as a member of ``kind``; a ReportError naming ``option`` and the choices otherwise."""
    try:
        return kind(value)
    except ValueError:
        raise ReportError(f"{option}: {value!r} is not one of {', '.join(kind)}") from None


class Interval(StrEnum):
    """How a 95 % interval (of a mean, of a difference) is computed."""

    T = "t"
    BOOTSTRAP = "bootstrap"

    @property
    def short(self) -> str:
        """In a column header and table.csv's ``interval``: ``95% CI (BCa)``."""
        return "BCa" if self is Interval.BOOTSTRAP else "t"

    @property
    def label(self) -> str:
        """In prose and captions: 'the 95 % BCa bootstrap interval'."""
        return "BCa bootstrap interval" if self is Interval.BOOTSTRAP else "t-interval"

    @property
    def source(self) -> str:
        """In the methods paragraph: what the intervals come from."""
        if self is Interval.BOOTSTRAP:
            return "the BCa bootstrap (Efron 1987; 9,999 resamples, seeds resampled in pairs where paired)"
        return "the t-distribution"


class Correction(StrEnum):
    """How the p-values of a table's comparisons are adjusted together (``multiplicity.py``)."""

    HOLM = "holm"
    BH = "bh"
    NONE = "none"

    @property
    def label(self) -> str:
        return {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "none"}[self.value]

    @property
    def reference(self) -> str:
        return {"holm": "Holm 1979", "bh": "Benjamini & Hochberg 1995", "none": ""}[self.value]

    @staticmethod
    def applied(value: object) -> Correction | None:
        """A summary row's ``correction`` as the correction its p-value went through: None where the row
        was not tested (an empty cell, or NaN once read back) or nothing was corrected."""
        if not isinstance(value, str) or value in ("", Correction.NONE):
            return None
        return Correction(value)


class Verdict(StrEnum):
    """What a variant's row says about it against the baseline."""

    BASELINE = "baseline"
    SAME_RUNS = "same runs"  # the same configuration as the baseline, so the same run folders
    BETTER = "better"
    WORSE = "worse"
    NO_DIFFERENCE = "no detectable difference"
    TOO_FEW = "too few seeds"  # below few_seeds.MIN_SEEDS on either side: no test
    NO_RUNS = "no finished runs"
    NO_BASELINE_RUNS = "no baseline runs to compare with"
    NO_VARIANCE = "no test: no variance over seeds"

    @property
    def is_baseline_runs(self) -> bool:
        """The baseline's own runs (the baseline, or a variant that is the same configuration)."""
        return self in (Verdict.BASELINE, Verdict.SAME_RUNS)

    @property
    def decided(self) -> bool:
        """A test decided it (after the correction)."""
        return self in (Verdict.BETTER, Verdict.WORSE)
