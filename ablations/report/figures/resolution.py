"""The metric against the evaluation resolution (``train.eval_sizes``), the training resolution
dotted."""

from __future__ import annotations

from typing import Any

from ..keys import metric_label
from ..load import Aggregate, preset_value
from .style import cap_percent, chance_level, chance_line, line_data, merged_variants, new_figure


def has_resolutions(agg: Aggregate) -> bool:
    return any("@" in c for c in agg.runs.columns)


def resolution_figure(agg: Aggregate, variants: list[str], metric: str, baseline: str, pal: dict[str, Any]) -> Any:
    import seaborn as sns

    runs = agg.runs[agg.runs["status"] == "done"]
    base_metric = metric if metric in ("top1", "top5", "loss") else "top1"
    cols = [c for c in runs.columns if c.startswith(base_metric + "@")]
    long = runs.melt(id_vars=["variant", "seed"], value_vars=cols, var_name="size", value_name="value").dropna()
    long["size"] = long["size"].str.split("@").str[1].astype(int)
    reps, label = merged_variants(agg.runs, variants, baseline)
    long, order, lpal = line_data(long, reps, label, pal)
    train_size = _training_size(agg)
    fig = new_figure(3.9, 2.7)
    ax = fig.add_subplot()
    sns.lineplot(data=long, x="size", y="value", hue="label", hue_order=order, palette=lpal, errorbar="sd",
                 err_kws={"alpha": 0.15, "linewidth": 0}, marker="o", markersize=4, markeredgewidth=0, ax=ax)
    if isinstance(train_size, (int, float)) and not isinstance(train_size, bool):
        ax.axvline(train_size, color="0.5", ls=":", lw=0.9, zorder=0)
        ax.annotate("training\nresolution", (train_size, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0),
                    textcoords="offset points", fontsize=6.5, color="0.4", va="bottom")
    ax.set_xticks(sorted(long["size"].unique()))
    ax.set_xlabel("Evaluation resolution (px)")
    ax.set_ylabel(metric_label(base_metric))
    chance = chance_line(ax, chance_level(agg, base_metric))
    cap_percent(ax, base_metric)
    ax.grid(True, axis="both", color="0.92", lw=0.5)
    handles, labels = ax.get_legend_handles_labels()
    if chance is not None:
        handles, labels = [*handles, chance], [*labels, chance.get_label()]
    ax.legend(handles, labels, title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    sns.despine(ax=ax)
    return fig


def _training_size(agg: Aggregate) -> Any:
    """The training resolution, where every reported run shares it (the setting's or the preset's)."""
    if "model.img_size" in agg.setting:
        return agg.setting["model.img_size"]
    if "model.img_size" not in agg.axes:
        return preset_value(agg.setting.get("preset"), "model.img_size")
    return None
