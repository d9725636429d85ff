"""The report's words are typed: choices and verdicts are enums with their labels, checked once
(``StatOptions``), and the methods paragraph and the LaTeX caption are composed from the same
clauses, so they name the same interval, test, correction and seed floor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ablations.report import Correction, Interval, ReportError, StatOptions, Verdict
from ablations.report.few_seeds import MIN_SEEDS
from ablations.report.methods import Methods

REPORT = Path(__file__).resolve().parents[1] / "ablations" / "report"


@pytest.mark.parametrize("interval", list(Interval))
@pytest.mark.parametrize("correction", list(Correction))
def test_paragraph_and_caption_say_the_same_methods(interval: Interval, correction: Correction) -> None:
    m = Methods(StatOptions(correction=correction.value, interval=interval.value), "base", 3)
    paragraph, caption = m.paragraph(), m.caption("grid", "top1", main=True)
    assert interval.source in paragraph and f"({interval.short})" in caption
    for text in (paragraph, caption):
        assert "paired t-test" in text and "Welch" in text and f"{MIN_SEEDS} seeds" in text
        if correction is Correction.NONE:
            assert "not corrected for multiple comparisons" in text
        else:
            assert f"by {correction.label} ({correction.reference})" in text
    assert "`" not in caption  # plain text in LaTeX


def test_options_become_members_and_a_bad_one_is_one_line() -> None:
    o = StatOptions(correction="bh", interval="bootstrap")
    assert o.correction is Correction.BH and o.interval is Interval.BOOTSTRAP
    assert Correction.applied("holm") is Correction.HOLM  # a summary row's cell, as read back from summary.csv too
    assert Correction.applied("") is Correction.applied(float("nan")) is Correction.applied("none") is None
    with pytest.raises(ReportError, match=r"^--interval: 'normal' is not one of t, bootstrap$"):
        StatOptions(interval="normal")
    with pytest.raises(ReportError, match=r"^--correction: 'bonferroni' is not one of holm, bh, none$"):
        StatOptions(correction="bonferroni")


def test_verdict_members_read_as_their_values() -> None:
    assert Verdict.SAME_RUNS == "same runs" and f"{Verdict.BETTER}" == "better"
    assert Verdict.BASELINE.is_baseline_runs and Verdict.SAME_RUNS.is_baseline_runs
    assert Verdict.WORSE.decided and not Verdict.NO_DIFFERENCE.decided


def test_no_report_module_decides_on_display_text_or_rederives_a_label() -> None:
    """The labels live in vocabulary.py: nothing else turns 'bootstrap' into 'BCa' or reads a verdict's prose."""
    offenders = []
    for path in REPORT.rglob("*.py"):
        if path.name in ("vocabulary.py", "resample.py"):  # the labels; scipy's method name
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\"BCa\"|startswith\(\"same runs|== \"bootstrap\"|== \"holm\"|NAMES\[", line):
                offenders.append(f"{path.relative_to(REPORT)}:{n}: {line.strip()}")
    assert not offenders, offenders
