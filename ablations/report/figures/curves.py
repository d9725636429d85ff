"""Learning curves: validation top-1 accuracy and training loss per epoch, the mean over seeds with
a ±1 std band (cut at 100 % and at a loss of 0), one line per configuration, the probe's chance
level dotted."""

from __future__ import annotations

import math
from typing import Any

from ..load import Aggregate
from .style import cap_percent, chance_level, chance_line, line_data, merged_variants, new_figure

PANELS = {"val_top1": "Validation top-1 accuracy (%)", "train_loss": "Training loss"}


def curves_figure(agg: Aggregate, variants: list[str], baseline: str, pal: dict[str, Any]) -> Any:
    import seaborn as sns

    c = agg.curves
    c = c[(c["status"] == "done")] if len(c) else c
    reps, label = merged_variants(agg.runs, variants, baseline)
    c, order, lpal = line_data(c, reps, label, pal)
    panels = [k for k in PANELS if k in c.columns and c[k].notna().any()]
    fig = new_figure(6.8, 2.55)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    few = c["epoch"].nunique() <= 12
    extra: list[Any] = []  # legend handles besides the variants' (the chance level)
    for ax, key in zip(axes, panels, strict=True):
        sns.lineplot(data=c, x="epoch", y=key, hue="label", hue_order=order, palette=lpal, errorbar="sd",
                     err_kws={"alpha": 0.18, "linewidth": 0}, marker="o" if few else None, markersize=3.2,
                     markeredgewidth=0, ax=ax, legend=ax is axes[0], estimator="mean")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(PANELS[key])
        chance = chance_line(ax, chance_level(agg, key))
        if chance is not None:
            extra.append(chance)
        cap_percent(ax, key)  # the ±1 std band stops at 100 % and at a loss of 0
        ax.grid(True, axis="both", color="0.92", lw=0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        sns.despine(ax=ax)
    if panels and axes[0].get_legend() is not None:
        _figure_legend(fig, axes[0], extra)
    return fig


def _figure_legend(fig: Any, ax: Any, extra: list[Any]) -> None:
    """The first panel's legend moved above both panels, in rows of at most seven."""
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = handles + extra, labels + [h.get_label() for h in extra]
    ax.get_legend().remove()
    ncol = len(labels) if len(labels) <= 7 else math.ceil(len(labels) / math.ceil(len(labels) / 7))
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=ncol,
               frameon=False, handlelength=1.6, columnspacing=1.2)
    rows = math.ceil(len(labels) / ncol)
    fig.subplots_adjust(top=0.86 - 0.06 * (rows - 1), wspace=0.28)
