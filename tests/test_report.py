"""The report: aggregation, statistics (scipy.stats as the reference), tables, figures, report files."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ablations import report as R
from tests.support.report_runs import (
    EPOCHS,
    POS,
    REPO,
    SEEDS,
    TOP1,
    VARIANTS,
    build_runs,
    done_top1,
    metrics_of,
    result_of,
    run_id_of,
)
from vt_core.run_folder import RunLock

# top1 per variant and seed (None: the run failed, no result.json); see build_runs for the states


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    build_runs(root)
    return root


@pytest.fixture(scope="module")
def lock(runs_dir):
    lk = RunLock(runs_dir / "toy" / run_id_of("ghost", 0))
    assert lk.acquire()
    yield lk
    lk.release()


@pytest.fixture(scope="module")
def agg(runs_dir, lock) -> R.Aggregate:
    return R.aggregate("toy", runs_dir)


@pytest.fixture(scope="module")
def summary(agg) -> pd.DataFrame:
    return R.summarize(agg.runs, "top1", "base", agg.variants)


@pytest.fixture(scope="module")
def report(runs_dir, lock, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    path = R.write_report("toy", runs_dir=runs_dir, out_dir=out)
    assert path == out / "report.md"
    return out


# ---------------------------------------------------------------------------------------- aggregation
def test_one_row_per_variant_and_seed_with_status(agg):
    runs = agg.runs
    assert agg.profile == "cpu" and "cifar-base-0" not in set(runs["run_id"])  # the other profile is left out
    assert any("profile 'cifar'" in e for e in agg.excluded)
    status = {(r.variant, r.seed): r.status for r in runs.itertuples()}
    assert status[("worse", 2)] == "corrupt"
    assert status[("single", 1)] == "failed" and status[("single", 2)] == "diverged"
    assert status[("partial", 2)] == "pending"
    assert status[("ghost", 0)] == "running" and status[("ghost", 1)] == "pending"
    assert status[("twin", 0)] == "done"  # the shared run counts for both variants
    assert len(runs) == sum(len(TOP1[v]) or 3 for v in VARIANTS) + 1  # and partial's pending seed 2
    # never as numbers: every metric and measured cost is NaN when the run is not done
    not_done = runs[runs["status"] != "done"]
    for col in ("top1", "top5", "loss", "best_top1", "train_img_per_s", "peak_mem_mb", "top1@32"):
        assert not_done[col].isna().all(), col
    diverged = runs[(runs["variant"] == "single") & (runs["seed"] == 2)].iloc[0]
    assert diverged["note"] == "diverged at epoch 2 step 17" and diverged["params"] == 6.0e6
    assert "CUDA out of memory" in runs[(runs["variant"] == "single") & (runs["seed"] == 1)].iloc[0]["note"]
    # axes: the override where set, the preset's value where not
    assert runs.loc[runs["variant"] == "better", "model.pool"].eq("mean").all()
    assert runs.loc[runs["variant"] == "base", "model.pool"].eq("cls").all()
    assert list(runs.loc[runs["variant"] == "noise", "model.pos"]) == ["abs+rel"] * 3
    done = runs[runs["status"] == "done"]
    for r in done.itertuples():
        assert r.top1 == TOP1[r.variant if r.variant != "twin" else "base"][r.seed]
    assert done.loc[done["variant"] == "base", "top1@48"].tolist() == [x - 16 * 0.3 for x in TOP1["base"].values()]


def test_corrupt_result_reported_by_path(agg):
    corrupt = [p for p in agg.problems if "result.json" in p]
    assert len(corrupt) == 1
    assert f"{run_id_of('worse', 2)}/result.json" in corrupt[0] and "not valid JSON" in corrupt[0]


def test_curves_long_frame(agg):
    c = agg.curves
    assert {"variant", "seed", "epoch", "val_top1", "train_loss"} <= set(c.columns)
    base0 = c[(c["variant"] == "base") & (c["seed"] == 0)]
    assert base0["epoch"].tolist() == list(range(1, EPOCHS + 1))  # step rows and the cut line skipped
    assert base0["val_top1"].iloc[-1] == pytest.approx(70.0)
    assert len(c[c["variant"] == "twin"]) == len(c[c["variant"] == "base"])


def test_profile_selection_and_bad_profile(runs_dir, lock):
    agg = R.aggregate("toy", runs_dir, profile="cifar")
    assert set(agg.runs["variant"]) == {"base"} and agg.runs["top1"].tolist() == [90.0, 91.0, 92.0]
    with pytest.raises(R.ReportError, match="no runs of profile 'imagenet'"):
        R.aggregate("toy", runs_dir, profile="imagenet")


# ---------------------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("variant", ["base", "better", "noise", "worse", "partial"])
def test_mean_std_ci_match_scipy(summary, variant):
    x = np.array(list(done_top1(variant).values()))
    s = summary.loc[variant]
    assert s["n"] == len(x)
    assert s["mean"] == pytest.approx(np.mean(x))
    assert s["std"] == pytest.approx(np.std(x, ddof=1))
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((lo, hi))


@pytest.mark.parametrize("variant", ["better", "noise"])
def test_paired_test_when_seeds_match(summary, variant):
    v = np.array([TOP1[variant][s] for s in SEEDS])
    b = np.array([TOP1["base"][s] for s in SEEDS])
    ref = sps.ttest_rel(v, b)
    ci = ref.confidence_interval(0.95)
    s = summary.loc[variant]
    assert s["test"] == "paired"
    assert s["diff"] == pytest.approx((v - b).mean())
    assert s["p_value"] == pytest.approx(ref.pvalue)
    assert s["t"] == pytest.approx(ref.statistic) and s["df"] == 2
    assert (s["diff_low"], s["diff_high"]) == pytest.approx((ci.low, ci.high))


@pytest.mark.parametrize("variant", ["worse", "partial"])
def test_welch_when_seeds_differ(summary, variant):
    v = np.array(list(done_top1(variant).values()))
    b = np.array(list(TOP1["base"].values()))
    ref = sps.ttest_ind(v, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    s = summary.loc[variant]
    assert s["test"] == "Welch"
    assert s["diff"] == pytest.approx(v.mean() - b.mean())
    assert s["p_value"] == pytest.approx(ref.pvalue)
    assert s["df"] == pytest.approx(ref.df)
    assert (s["diff_low"], s["diff_high"]) == pytest.approx((ci.low, ci.high))


def test_verdicts(summary):
    v = summary["verdict"].to_dict()
    assert v["base"] == "baseline"
    assert v["better"] == "better" and summary.loc["better", "p_value"] < 0.05
    assert v["worse"] == "worse" and summary.loc["worse", "p_value"] < 0.05
    assert v["noise"] == "no detectable difference" and summary.loc["noise", "p_value"] >= 0.05
    assert v["partial"] == "no detectable difference"
    assert v["single"] == "too few seeds"
    assert v["twin"] == R.Verdict.SAME_RUNS and R.verdict_text(summary.loc["twin"], "top1", "base") == \
        "same runs as base"
    assert v["ghost"] == "no finished runs"


def test_single_seed_has_no_interval_not_zeros(summary):
    s = summary.loc["single"]
    assert s["n"] == 1 and s["mean"] == 73.0
    for k in ("std", "ci_low", "ci_high", "diff_low", "diff_high", "p_value"):
        assert math.isnan(s[k]), k
    assert s["diff"] == pytest.approx(73.0 - np.mean(list(TOP1["base"].values())))
    assert (s["n_done"], s["n_failed"], s["n_diverged"]) == (1, 1, 1)


def test_loss_direction_flips_the_verdict(agg):
    loss = R.summarize(agg.runs, "loss", "base", agg.variants)
    assert R.higher_is_better("top1") and not R.higher_is_better("loss") and not R.higher_is_better("train_loss")
    assert loss.loc["better", "diff"] < 0 and loss.loc["better", "verdict"] == "better"
    assert loss.loc["worse", "verdict"] == "worse"


def test_compare_edge_cases():
    same = pd.Series([1.0, 2.0, 3.0], index=[0, 1, 2])
    r = R.compare(same + 1.0, same)  # identical differences: no variance, no test, no zeros
    assert r["test"] == "paired" and r["diff"] == 1.0 and math.isnan(r["diff_low"])
    assert r["verdict"] == "no test: no variance over seeds"
    assert R.compare(pd.Series(dtype=float), same)["verdict"] == "no finished runs"
    assert R.compare(same, pd.Series(dtype=float))["verdict"] == "no baseline runs to compare with"
    assert R.t_interval([5.0])[0] == 5.0 and all(math.isnan(x) for x in R.t_interval([5.0])[1:])


def test_verdict_line_reads_p_below_a_thousandth():
    """A p-value under 0.001 is 'p < 0.001' in the verdict line; others are 'p = 0.xyz'."""
    noise = [0.5, -0.3, 0.2, -0.4, 0.1, 0.0]
    rows = []
    for s in range(6):
        base = 70.0 + 0.5 * s
        for v, x in (("a", base), ("b", base + 10.0 + 0.1 * (s % 2)), ("c", base + noise[s])):
            rows.append({"variant": v, "seed": s, "run_id": f"{v}{s}", "status": "done", "top1": x})
    summary = R.summarize(pd.DataFrame(rows), "top1", "a", ["a", "b", "c"])
    assert summary.loc["b", "p_value"] < 0.001 <= summary.loc["c", "p_value"]
    lines = dict(zip("abc", R.verdict_lines(summary, "top1", "a"), strict=True))
    assert "paired t-test p < 0.001 → **better**" in lines["b"] and "p = <" not in lines["b"]
    assert f"paired t-test p = {summary.loc['c', 'p_value']:.3f} → " in lines["c"]


def test_pareto_front():
    cost = np.array([1.0, 2.0, 3.0, 2.5, np.nan])
    acc = np.array([70.0, 75.0, 74.0, 76.0, 99.0])
    assert R.pareto_front(cost, acc).tolist() == [True, True, False, True, False]
    speed = np.array([100.0, 50.0, 100.0])
    assert R.pareto_front(speed, np.array([1.0, 2.0, 0.5]), cost_lower_better=False).tolist() == [True, True, False]


# ---------------------------------------------------------------------------------------- files
def test_table_files(report, summary):
    csv = pd.read_csv(report / "table.csv")
    assert list(csv["variant"]) == VARIANTS
    row = csv.set_index("variant").loc["better"]
    assert row["mean"] == pytest.approx(summary.loc["better", "mean"])
    assert row["p_value"] == pytest.approx(summary.loc["better", "p_value"])
    assert row["verdict"] == "better" and bool(row["best"]) and row["paper"] == 75.0
    assert row["params_m"] == pytest.approx(5.5) and row["gmacs"] == pytest.approx(0.33)
    assert row["train_img_per_s"] == pytest.approx(np.median([1000 / 0.33 + s for s in SEEDS]))
    md = (report / "table.md").read_text()
    best = f"{np.mean(list(TOP1['better'].values())):.2f}"
    assert f"**{best}** ± " in md and "Params (M)" in md and "GMACs" in md
    assert "Train img/s" not in md and "p (test)" not in md  # in the details table and table.csv
    assert "none: one seed" in md and "71.3" in md  # the paper's number
    assert "Train img/s" in (report / "report.md").read_text() and "train_img_per_s" in csv.columns
    tex = (report / "table.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"\textbf{" + best + r"} $\pm$" in tex and "abs+rel" in tex
    assert tex.count(r"\\") == len(VARIANTS) + 1
    summ = pd.read_csv(report / "summary.csv")
    assert {"top1", "top5", "loss", "top1@48"} <= set(summ["metric"])
    runs = pd.read_csv(report / "runs.csv")
    assert len(runs) == 26 and "corrupt" in set(runs["status"])
    assert len(pd.read_csv(report / "curves.csv")) > 0


def test_figures_written(report):
    for stem in ("bars", "curves", "cost", "resolution"):
        for ext in ("png", "pdf"):
            p = report / f"{stem}.{ext}"
            assert p.is_file() and p.stat().st_size > 5000, p
    assert (report / "bars.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (report / "bars.pdf").read_bytes()[:5] == b"%PDF-"


def test_percent_axes_stop_at_100(tmp_path):
    """Near the ceiling the mean's interval is cut at 100 % (the values a mean can take); ±1 std bands
    computed past 100 % stay as computed; the y axes stop at 100."""
    from ablations.report import figures as F

    top1 = {"base": {0: 100.0, 1: 97.0, 2: 100.0}, "better": {0: 99.9, 1: 98.5, 2: 100.0}}
    gdir = tmp_path / "ceil"
    gdir.mkdir()
    entries = [{"variant": v, "seed": s, "run_id": run_id_of(v, s), "profile": "cpu",
                "overrides": {"preset": "vit_cpu", "model.pos": POS[v], "train.seed": s}} for v in top1 for s in SEEDS]
    (gdir / "grid.json").write_text(json.dumps({"grid": "ceil", "baseline": "base", "metric": "top1",
                                                "axes": ["model.pos"], "variants": list(top1), "runs": entries}))
    for v, per_seed in top1.items():
        for s, x in per_seed.items():
            (gdir / run_id_of(v, s)).mkdir()
            (gdir / run_id_of(v, s) / "result.json").write_text(json.dumps(result_of(v, s, x)))
            (gdir / run_id_of(v, s) / "metrics.jsonl").write_text(metrics_of(x))
    agg = R.aggregate("ceil", tmp_path)
    summary = R.summarize(agg.runs, "top1", "base", agg.variants)
    costs = R.variant_costs(agg.runs, agg.variants)
    last = agg.curves[agg.curves["epoch"] == EPOCHS].groupby("variant")["val_top1"]
    at32 = agg.runs.groupby("variant")["top1@32"]
    # the t-interval is cut at 100; the ±1 std bands go past it
    assert summary["ci_high"].max() == 100 and (last.mean() + last.std()).max() > 100
    assert (at32.mean() + at32.std()).max() > 100
    pal = F.palette(agg.variants, "base")
    found = R.Findings(agg, "top1", "base", summary, costs)
    figs = {"bars": F.bars_figure(found, pal),
            "curves": F.curves_figure(agg, agg.variants, "base", pal),
            "cost": F.cost_figure(found, pal),
            "resolution": F.resolution_figure(agg, agg.variants, "top1", "base", pal)}
    highest = {"bars": summary["mean"].max(), "curves": last.mean().max(), "cost": summary["mean"].max(),
               "resolution": at32.mean().max()}
    for name, fig in figs.items():
        axes = [ax for ax in fig.axes if "loss" not in ax.get_ylabel().lower()]  # the curves' loss panel is free
        assert axes, name
        for ax in axes:
            lo, hi = ax.get_ylim()
            assert 0 <= lo and highest[name] <= hi <= 100, (name, lo, hi)


GPU = "NVIDIA H100 80GB HBM3"


@pytest.mark.parametrize("devices, header, axis", [
    (["cpu (2 cores)"], "Peak RSS (MiB)", "Peak RSS (MiB)"),
    ([GPU], "Peak mem. (MiB)", "Peak memory (MiB)"),
    (["cpu (AMD EPYC 7B13, 2 cores)", GPU], "Peak mem. / RSS (MiB)", "Peak GPU memory / CPU RSS (MiB)"),
])
def test_peak_memory_says_what_was_measured(agg, summary, devices, header, axis):
    """On the CPU peak_mem_mb is the process's peak RSS, on a GPU the CUDA memory: the labels follow env.device."""
    from ablations.report import figures as F

    runs = agg.runs.assign(device=[devices[i % len(devices)] for i in range(len(agg.runs))])
    mixed = dataclasses.replace(agg, runs=runs)
    costs = R.variant_costs(runs, agg.variants)
    found = R.Findings(mixed, "top1", "base", summary, costs)
    table = R.build_table(found)
    assert table.details.header[-1] == header and "peak_mem_mb" in table.numeric.columns
    fig = F.cost_figure(found, F.palette(agg.variants, "base"))
    assert fig.axes[-1].get_xlabel() == axis


def test_report_says_peak_rss_on_the_cpu(report):
    md = (report / "report.md").read_text()
    assert "Peak RSS (MiB)" in md and "Peak mem." not in md
    assert "peak resident set size" in md and "CUDA memory" not in md


def test_report_md_and_html(report):
    md = (report / "report.md").read_text()
    assert "A toy grid with known numbers." in md
    assert "![bars](bars.png)" in md and "![curves](curves.png)" in md
    assert "**better**" in md and "**worse**" in md and "paired t-test" in md and "Welch t-test" in md
    assert "python ablations/report.py --grid toy" in md and "f00dfeed" in md
    assert f"{run_id_of('worse', 2)}/result.json" in md  # the corrupt run, by path
    assert "profile 'cifar'" in md  # the excluded setting is said
    page = (report / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "<table>" in page and "<strong>" in page and 'src="bars.png"' not in page


def test_html_table_fits_the_page(report):
    """The table scrolls sideways inside the page instead of widening it; verdicts and run counts wrap."""
    page = (report / "report.html").read_text()
    style = page.split("<style>")[1].split("</style>")[0]
    css = {sel.strip(): body for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", style)}
    assert "overflow-x:auto" in css[".table-wrap"] and "max-width:100%" in css[".table-wrap"]
    assert re.search(r'<div class="table-wrap">\s*<table>.*</table>\s*</div>', page, re.S)
    assert "white-space:normal" in css["td.wrap"] and "white-space:nowrap" in css["td"]
    main = page.split("</table>")[0]  # the main table (the other metrics' tables follow it)
    header = [c.split() for c, _ in re.findall(r'<th class="([^"]+)">([^<]*)</th>', main)]
    names = re.findall(r'<th class="[^"]+">([^<]*)</th>', main)
    row = re.search(r"<tr><td[^>]*>better</td>.*?</tr>", main).group(0)
    cells = [c.split() for c in re.findall(r'<td class="([^"]+)">', row)]
    assert cells == header  # every cell of a column is classed like its header
    wraps = {n for n, c in zip(names, cells, strict=True) if "wrap" in c}
    assert {"Verdict", "Runs", "pos"} <= wraps and not wraps & {"Variant", "p (test)", "95% CI (t)", "GMACs"}


# ---------------------------------------------------------------------------------------- CLI
def test_cli_errors_one_line_exit_2(tmp_path, capsys):
    assert R.main(["--grid", "nope", "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "grid.json" in err[0] and err[0].startswith("error:")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "grid.json").write_text("{\"grid\": ")
    assert R.main(["--grid", "bad", "--runs-dir", str(tmp_path)]) == 2
    assert "cannot be read as JSON" in capsys.readouterr().err


def test_cli_unknown_metric(runs_dir, lock, tmp_path, capsys):
    assert R.main(["--grid", "toy", "--runs-dir", str(runs_dir), "--out", str(tmp_path), "--metric", "top7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--metric: 'top7'" in err[-1] and "top5" in err[-1]


@pytest.mark.slow  # a fresh interpreter imports torch (through vt_core): seconds on a busy machine
def test_cli_as_script(tmp_path):
    proc = subprocess.run([sys.executable, "ablations/report.py", "--grid", "nope", "--runs-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "grid.json" in proc.stderr


def test_cli_writes_report(runs_dir, lock, tmp_path, capsys):
    out = tmp_path / "rep"
    assert R.main(["--grid", "toy", "--runs-dir", str(runs_dir), "--out", str(out), "--metric", "loss"]) == 0
    io = capsys.readouterr()
    assert io.out.strip() == f"report: {out / 'report.md'}"
    assert "not valid JSON" in io.err  # the corrupt run is said, not fatal
    md = (out / "report.md").read_text()
    assert "lower is better" in md and "--metric loss" in md
    assert "Paper" not in (out / "table.md").read_text()  # the paper's numbers are top-1


def test_no_finished_runs_still_reports(tmp_path):
    gdir = tmp_path / "empty"
    gdir.mkdir()
    (gdir / "grid.json").write_text(json.dumps({
        "grid": "empty", "description": "", "baseline": "a", "metric": "top1", "axes": ["model.pos"], "paper": {},
        "variants": ["a", "b"], "runs": [{"variant": v, "seed": 0, "run_id": f"{v}0", "profile": "cpu",
                                          "overrides": {"model.pos": v, "train.seed": 0}} for v in ("a", "b")]}))
    out = R.write_report("empty", runs_dir=tmp_path, out_dir=tmp_path / "rep")
    md = out.read_text()
    assert "2 pending" in md and "No figures" in md
    assert not list((tmp_path / "rep").glob("*.png"))


def test_superseded_and_stale_entries(tmp_path):
    """An edited variant leaves its old run id in grid.json; a removed variant leaves its runs: neither counts."""
    gdir = tmp_path / "edit"
    gdir.mkdir()
    entries = [{"variant": v, "seed": 0, "run_id": rid, "profile": "cpu",
                "overrides": {"model.pos": pos, "train.seed": 0}}
               for v, rid, pos in (("a", "a-old", "abs"), ("a", "a-new", "abs"), ("gone", "g0", "rel"))]
    (gdir / "grid.json").write_text(json.dumps({"grid": "edit", "baseline": "a", "metric": "top1",
                                                "axes": ["model.pos"], "variants": ["a"], "runs": entries}))
    for rid in ("a-old", "a-new", "g0"):
        (gdir / rid).mkdir()
    (gdir / "a-new" / "result.json").write_text(json.dumps({"status": "done", "top1": 20.0}))
    (gdir / "g0" / "result.json").write_text(json.dumps({"status": "done", "top1": 30.0}))
    agg = R.aggregate("edit", tmp_path)
    assert agg.runs[["variant", "run_id", "top1"]].values.tolist() == [["a", "a-new", 20.0]]
    assert any("superseded by a-new" in e for e in agg.excluded)
    assert any("'gone'" in e for e in agg.excluded)
    # a path: its stem
    out = R.write_report(str(tmp_path / "grids" / "edit.py"), runs_dir=tmp_path, out_dir=tmp_path / "rep")
    assert "superseded" in out.read_text()


# ---------------------------------------------------------------------------------------- figures worth looking at
def _cost_fig(agg, runs):
    from ablations.report import figures as F

    mixed = dataclasses.replace(agg, runs=runs)
    summary = R.summarize(runs, "top1", "base", agg.variants)
    costs = R.variant_costs(runs, agg.variants)
    return F.cost_figure(R.Findings(mixed, "top1", "base", summary, costs), F.palette(agg.variants, "base")), costs


def _has_front(ax) -> bool:
    """Black-edged points: the front's members."""
    return any(ln.get_markeredgecolor() == "black" for ln in ax.get_lines() if ln.get_marker() == "o")


def test_pareto_front_only_where_costs_differ_beyond_their_noise(agg):
    """Throughput within ±1 std of each other (and within 2 %) and identical GMACs: no front, said in
    the axis label; the toy's GMACs (0.25–0.40, exact) do differ: a front there."""
    runs = agg.runs.copy()
    done = runs["status"] == "done"
    runs.loc[done, "train_img_per_s"] = 1000.0 + 30.0 * runs.loc[done, "seed"].astype(float)  # noise alike
    runs.loc[done, "peak_mem_mb"] = 900.0 + runs.loc[done, "seed"].astype(float)
    fig, _ = _cost_fig(agg, runs)
    gmacs, speed, memory = fig.axes[:3]
    assert _has_front(gmacs) and "no Pareto front" not in gmacs.get_xlabel()
    for ax in (speed, memory):
        assert not _has_front(ax) and "(costs within noise: no Pareto front)" in ax.get_xlabel()
    runs["gmacs"] = 0.3
    fig, _ = _cost_fig(agg, runs)
    assert not _has_front(fig.axes[0]) and "(costs identical: no Pareto front)" in fig.axes[0].get_xlabel()
    assert R.pareto_front(np.array([100.0, 103.0]), np.array([70.0, 71.0]),
                          cost_tolerance=np.full((2, 2), 5.0)).tolist() == [False, True]


def test_identical_costs_drawn_side_by_side_at_their_value(agg):
    """Variants with the same GMACs and close accuracy: one x value, markers side by side (none hidden)."""
    runs = agg.runs.copy()
    runs["gmacs"] = 0.3
    noise = runs["variant"] == "noise"
    runs.loc[noise, "top1"] = runs.loc[noise, "seed"].map(TOP1["base"])  # the same accuracy as base, too
    fig, _ = _cost_fig(agg, runs)
    fig.canvas.draw()
    ax = fig.axes[0]
    markers = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) == 1]
    assert {float(ln.get_xdata()[0]) for ln in markers} == {0.3}
    pixels = [tuple(np.round(ln.get_transform().transform((ln.get_xdata()[0], ln.get_ydata()[0])), 1))
              for ln in markers]
    assert len(set(pixels)) == len(pixels)  # no marker drawn on another


def test_cost_axes_hold_their_whiskers(agg):
    runs = agg.runs.copy()
    done = runs["status"] == "done"
    runs.loc[done, "train_img_per_s"] = 1000.0 + 400.0 * runs.loc[done, "seed"].astype(float) ** 2
    fig, costs = _cost_fig(agg, runs)
    spread = runs[done].groupby("variant")["train_img_per_s"].std()
    lo, hi = fig.axes[1].get_xlim()
    plotted = [v for v in agg.variants if np.isfinite(costs.loc[v, "train_img_per_s"]) and v in spread.index
               and np.isfinite(spread[v])]
    for v in plotted:
        x = costs.loc[v, "train_img_per_s"]
        assert lo <= x - spread[v] and x + spread[v] <= hi, v


def test_chance_lines_and_loss_band(agg, summary):
    from ablations.report import figures as F
    from ablations.report.figures.style import chance_level

    assert chance_level(agg, "top1") == 25.0 and chance_level(agg, "top5") is None  # 5 of 4 classes: 100 %
    assert chance_level(agg, "loss") is None
    cifar = dataclasses.replace(agg, setting={**agg.setting, "data.name": "cifar10"})
    assert chance_level(cifar, "top1") is None  # a dataset: no theorem says what chance is
    pal = F.palette(agg.variants, "base")
    curves = agg.curves.copy()
    curves.loc[curves["seed"] == 0, "train_loss"] = 0.01  # seeds far apart near 0: the ±1 std band dips below
    found = R.Findings(agg, "top1", "base", summary, R.variant_costs(agg.runs, agg.variants))
    figs = [F.bars_figure(found, pal),
            F.curves_figure(dataclasses.replace(agg, curves=curves), agg.variants, "base", pal),
            F.cost_figure(found, pal)]
    for fig in figs:
        accuracy = [ax for ax in fig.axes if "accuracy" in ax.get_ylabel().lower() or ax.get_ylabel() == ""]
        assert accuracy
        for ax in accuracy:
            flat = [ln for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1 and ln.get_ydata()[0] == 25.0]
            assert flat, ax.get_ylabel()
    loss = [ax for ax in figs[1].axes if ax.get_ylabel() == "Training loss"][0]
    assert loss.get_ylim()[0] == 0.0


def test_costs_the_table_prints_alike_are_drawn_at_one_value(agg):
    """GMACs of 0.30000–0.30007 all read 0.300 in the table: one value in the figure (no zoomed axis
    spreading them apart, no front between them)."""
    runs = agg.runs.copy()
    runs["gmacs"] = 0.3 + 1e-5 * runs["variant"].map({v: i for i, v in enumerate(agg.variants)}).astype(float)
    fig, costs = _cost_fig(agg, runs)
    assert {f"{x:.3f}" for x in costs["gmacs"].dropna()} == {"0.300"}
    ax = fig.axes[0]
    markers = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata()) == 1]
    assert len({float(ln.get_xdata()[0]) for ln in markers}) == 1
    assert not _has_front(ax) and "(costs identical: no Pareto front)" in ax.get_xlabel()
