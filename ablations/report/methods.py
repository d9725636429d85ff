"""How a table's statistics were computed, said once: the report's methods paragraph and the LaTeX
table's caption are composed from the same clauses, so the two cannot disagree on the interval, the
test, the correction or the seed floor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .few_seeds import MIN_SEEDS
from .keys import bounds, metric_label
from .stats import StatOptions
from .vocabulary import Correction


@dataclass(frozen=True)
class Methods:
    """The methods of one table: the options, the baseline and how many comparisons were tested."""

    options: StatOptions
    baseline: str
    family: int  # the comparisons with a p-value: the family the correction adjusts over

    @classmethod
    def of(cls, options: StatOptions, baseline: str, summary: pd.DataFrame) -> Methods:
        """The methods of the table of ``summary`` (its tested rows are the family)."""
        return cls(options, baseline, int(summary["p_value"].notna().sum()))

    @property
    def comparisons(self) -> str:
        return f"{self.family} comparison{'s' * (self.family != 1)}"

    @property
    def corrected(self) -> str:
        """What happens to the p-values, as a clause after 'p-values'."""
        c = self.options.correction
        if c is Correction.NONE:
            return "not corrected for multiple comparisons"
        return (f"adjusted over the family of the {self.comparisons} with `{self.baseline}` by {c.label} "
                f"({c.reference}), the verdict taken from the adjusted p")

    @property
    def test(self) -> str:
        return "a paired t-test when both have the same seeds and Welch's t-test otherwise"

    @property
    def floor(self) -> str:
        return f"below {MIN_SEEDS} seeds on either side there is no test, effect size or verdict"

    @property
    def bold(self) -> str:
        return ("the best mean, only where the corrected test decides it (a 'better' variant, or a baseline every "
                "other variant is 'worse' than)")

    def paragraph(self) -> str:
        """The report's paragraph under the table: every statistic of it."""
        o = self.options
        level = (f"α = {o.alpha:g}" if o.correction is Correction.NONE else
                 f"α/{max(self.family, 1)}, the level a lone real difference among the {self.comparisons} must reach")
        text = (f"Mean ± std over the seeds of the finished runs; 95 % intervals of the means and of Δ from "
                f"{o.interval.source}, each on its own (not simultaneous); an accuracy's interval is cut to [0, 100] "
                f"and a loss's to ≥ 0, the values a mean can take. Δ: difference to `{self.baseline}`, tested with "
                f"{self.test} (α = {o.alpha:g}, two-sided), p-values {self.corrected}. "
                f"{self.floor.capitalize()}: the row says how many more seeds would detect the "
                f"difference seen so far (or `--min-effect`). A difference whose own interval excludes 0 but which "
                f"the correction does not decide reads \"no detectable difference after …\". Bold: {self.bold}. "
                f"Details: effect size, Hedges' g (independent seeds) or d_z (paired), and P(beats), the probability "
                f"that the variant beats `{self.baseline}` on a random seed (McGraw & Wong 1992), each with its 95 % "
                f"interval (noncentral t) or not at all, an effect beyond ±10 as `> 10` with the raw Δ; detectable "
                f"Δ: the smallest difference the comparison detects with 80 % power at its seeds and observed "
                f"spread (Cohen 1988), at {level}.")
        if o.min_effect is not None:
            text += (f" Seeds for Δ = {o.min_effect:g}: the seeds per variant that would detect a difference of "
                     f"{o.min_effect:g} with 80 % power at the same level and spread.")
        return text

    def caption(self, name: str, metric: str, *, main: bool) -> str:
        """The LaTeX table's caption: its columns (the details are in table.csv and the report)."""
        low, high = bounds(metric)
        cut = (f" (cut to [{low:g}, {high:g}], the values it can take)" if math.isfinite(high)
               else f" (cut at {low:g})" if math.isfinite(low) else "")
        bold = f" Bold: {self.bold}." if main else ""
        return _latex_plain(
            f"{name}: {metric_label(metric)}, mean ± std over seeds with the 95% confidence interval "
            f"({self.options.interval.short}) of the mean{cut}; Δ: difference to `{self.baseline}` with its 95% CI, "
            f"tested with {self.test}, p-values {self.corrected}; {self.floor}.{bold}")


def _latex_plain(text: str) -> str:
    """Markdown's code marks dropped: a caption is plain text (the LaTeX writer escapes the rest)."""
    return text.replace("`", "")
