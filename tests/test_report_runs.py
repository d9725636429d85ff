"""What the report says about how runs were made, from real run folders written here: two seeds
(init × data), provenance (commits, dirty trees), estimated against measured device-hours,
pretrained transfers, evaluation-only grids, several metrics, and bad input on the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ablations import report as R
from ablations.report.variance import decompose

GPU = "NVIDIA H100 80GB HBM3"


def _result(top1: float, *, epochs: int = 3, commit: str = "c0ffee1", dirty: bool | None = False,
            device: str = "cpu (2 cores)", wall: float = 360.0, world: int = 1, torch: str = "2.5.0") -> dict:
    env = {"git_commit": commit, "torch": torch, "timm": "1.0.11", "python": "3.11.9", "device": device}
    if dirty is not None:
        env["git_dirty"] = dirty
    return {"status": "done", "epochs": epochs, "top1": top1, "top5": min(100.0, top1 + 15), "loss": 3 - top1 / 40,
            "params": 5e6, "gmacs": 0.3, "train_img_per_s": 900.0, "peak_mem_mb": 400.0, "wall_time_s": wall,
            "world_size": world, "env": env}


def _grid(root: Path, name: str, runs: list[dict], variants: list[str], *, baseline: str | None = None,
          metric: str = "top1", **index: object) -> Path:
    """runs/<name>/ from run specs: variant, seed, [data_seed], result (None: no folder), [estimate],
    [transfer], [diff]: the grid.json entries and every run folder's files."""
    gdir = root / name
    gdir.mkdir(parents=True)
    entries = []
    for r in runs:
        rid = f"{r['variant']}-{r['seed']}-{r.get('data_seed', 'x')}"
        ov = {"preset": "vit_cpu", "model.pos": r.get("pos", r["variant"]), "train.seed": r["seed"]}
        e = {"variant": r["variant"], "seed": r["seed"], "run_id": rid, "profile": "cpu", "overrides": ov}
        if "data_seed" in r:
            e["data_seed"] = r["data_seed"]
            ov["data.seed"] = r["data_seed"]
        if "estimate" in r:
            e["estimate"] = r["estimate"]
        if "transfer" in r:  # a run started from weights: the launcher records train.init_from in its overrides
            ov["train.init_from"] = r["transfer"]["checkpoint"]
        entries.append(e)
        if r.get("result") is None:
            continue
        (gdir / rid).mkdir()
        (gdir / rid / "result.json").write_text(json.dumps(r["result"]))
        if "transfer" in r:
            (gdir / rid / "transfer.json").write_text(json.dumps(r["transfer"]))
        if r.get("diff"):
            (gdir / rid / "code.diff").write_text("--- a/vt_core/model.py\n+++ b/vt_core/model.py\n")
    (gdir / "grid.json").write_text(json.dumps({
        "grid": name, "description": f"{name} grid", "baseline": baseline or variants[0], "metric": metric,
        "axes": ["model.pos"], "variants": variants, "runs": entries, **index}))
    return gdir


def _write(root: Path, name: str, **kw) -> tuple[str, Path]:
    out = root / f"rep-{name}"
    path = R.write_report(name, runs_dir=root, out_dir=out, **kw)
    return path.read_text(), out


# ------------------------------------------------------------------------------------ two seeds
INIT, DATA = (0, 1, 2), (0, 1)
Y_ABS = np.array([[70.0, 71.5], [72.0, 72.8], [69.0, 70.9]])  # init seeds × data seeds
Y_REL = Y_ABS + np.array([[1.0, 1.4], [0.6, 1.1], [1.3, 0.8]])


def _two_seed_runs() -> list[dict]:
    runs = []
    for v, y in (("abs", Y_ABS), ("rel", Y_REL)):
        for i in INIT:
            for j in DATA:
                runs.append({"variant": v, "seed": i, "data_seed": j, "result": _result(float(y[i, j]))})
    runs.append({"variant": "none", "seed": 0, "data_seed": 0, "result": _result(60.0)})
    runs.append({"variant": "none", "seed": 1, "data_seed": 1, "result": None})  # pending
    return runs


def test_init_and_data_seeds_pair_and_decompose(tmp_path):
    _grid(tmp_path, "seeds", _two_seed_runs(), ["abs", "rel", "none"])
    agg = R.aggregate("seeds", tmp_path)
    assert agg.runs["data_seed"].notna().sum() == 14 and len(agg.runs) == 14  # (variant, seed, data seed) once each
    s = R.summarize(agg.runs, "top1", "abs", agg.variants)
    ref = sps.ttest_rel(Y_REL.ravel(), Y_ABS.ravel())  # both in (init, data) order
    assert s.loc["rel", "test"] == "paired" and s.loc["rel", "p_value"] == pytest.approx(ref.pvalue)
    est = decompose(Y_ABS)
    assert s.loc["abs", "var_init"] == pytest.approx(max(0.0, est["var_init"]))
    assert s.loc["abs", "var_data"] == pytest.approx(max(0.0, est["var_data"]))
    assert (s.loc["abs", "n_init"], s.loc["abs", "n_data"]) == (3, 2)
    md, out = _write(tmp_path, "seeds")
    assert "## Sources of randomness" in md and "independently" in md and "Searle, Casella & McCulloch" in md
    line = next(ln for ln in md.splitlines() if ln.startswith("- `abs` (3 × 2)"))
    assert f"init σ = {math.sqrt(max(0.0, est['var_init'])):.2f} pp" in line
    assert "`none`: no complete init × data table" in md
    assert pd.read_csv(out / "runs.csv")["data_seed"].notna().sum() == 14  # the pending run has its seeds too


def test_only_init_seed_varied_is_said(tmp_path):
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s + (v == "b"))} for v in "ab" for s in range(3)]
    _grid(tmp_path, "init", runs, ["a", "b"])
    md, out = _write(tmp_path, "init")
    assert "Only the initialisation seed varies (`train.seed`: 0, 1, 2)" in md
    assert "data_seed" not in pd.read_csv(out / "runs.csv").columns  # no column where the grid does not vary it


def test_seeds_that_set_both_sources_are_said(tmp_path):
    """The launcher's default: seed k sets train.seed and data.seed, recorded as data_seed_follows_seed."""
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s + (v == "b"))} for v in "ab" for s in range(3)]
    _grid(tmp_path, "both", runs, ["a", "b"], data_seed_follows_seed=True)
    md, _ = _write(tmp_path, "both")
    assert "(`train.seed` = `data.seed`: 0, 1, 2)" in md and "both sources together" in md
    assert "Only the initialisation seed varies" not in md


# ------------------------------------------------------------------------------------ provenance
def test_same_code_says_so_in_one_line(tmp_path):
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s)} for v in "ab" for s in range(2)]
    _grid(tmp_path, "same", runs, ["a", "b"])
    md, _ = _write(tmp_path, "same")
    assert "All 4 runs with a result ran the same code: commit `c0ffee1`, a clean tree" in md
    assert "did not all run the same code" not in md


def test_different_commits_and_dirty_trees_are_flagged(tmp_path):
    runs = [{"variant": "a", "seed": 0, "result": _result(70.0)},
            {"variant": "a", "seed": 1, "result": _result(71.0, commit="beef002")},
            {"variant": "b", "seed": 0, "result": _result(72.0, dirty=True), "diff": True},
            {"variant": "b", "seed": 1, "result": _result(73.0, dirty=None, torch="2.6.0")}]  # an older run
    _grid(tmp_path, "prov", runs, ["a", "b"])
    md, out = _write(tmp_path, "prov")
    assert "**The runs did not all run the same code** (different commits, dirty trees, different package" in md
    assert "- commit `c0ffee1`, clean: `a` seed 0" in md
    assert "- commit `beef002`, clean: `a` seed 1" in md
    assert "- commit `c0ffee1`, dirty (uncommitted changes; `code.diff` in 1 of the 1 run folders): `b` seed 0" in md
    assert "- commit `c0ffee1`, tree not recorded: `b` seed 1" in md
    assert "torch 2.6.0: `b` seed 1" in md
    runs_csv = pd.read_csv(out / "runs.csv")
    assert set(runs_csv["commit"]) == {"c0ffee1", "beef002"} and runs_csv["git_dirty"].tolist()[2] is True


# ------------------------------------------------------------------------------------ cost
def test_estimated_against_measured_device_hours(tmp_path):
    runs = [{"variant": "a", "seed": 0, "result": _result(70.0, wall=1800.0, world=2), "estimate":
             {"device_hours": 0.4, "source": "calibration"}},  # a CPU run with 2 processes: one device
            {"variant": "a", "seed": 1, "result": _result(71.0, wall=3600.0, device=GPU, world=4), "estimate":
             {"device_hours": 3.0, "source": "finished runs"}},
            {"variant": "b", "seed": 0, "result": None, "estimate": {"device_hours": 1.0, "source": "gmacs table"}},
            {"variant": "b", "seed": 1, "result": _result(72.0, wall=720.0), "estimate":
             {"device_hours": 0.25, "source": "gmacs table"}}]
    _grid(tmp_path, "cost", runs, ["a", "b"])
    agg = R.aggregate("cost", tmp_path)
    from ablations.report.budget import device_hours

    b = device_hours(agg.runs, agg.variants)
    assert b.loc["a", "measured_h"] == pytest.approx(0.5 + 4.0) and b.loc["a", "estimated_h"] == pytest.approx(3.4)
    assert b.loc["b", "runs"] == "1/2" and b.loc["b", "estimated_h"] == pytest.approx(0.25)
    assert b.loc["total", "measured_h"] == pytest.approx(4.7) and b.loc["total", "ratio"] == pytest.approx(4.7 / 3.65)
    assert b.loc["b", "sources"] == "gmacs table ×2"
    md, _ = _write(tmp_path, "cost")
    assert "## Cost: estimated and measured" in md and "a CPU run counts one device" in md
    assert "| total | 3/4 | 3.65 | 4.7 | 1.29 |" in md


def test_no_estimates_no_cost_section(tmp_path):
    _grid(tmp_path, "noest", [{"variant": "a", "seed": s, "result": _result(70.0 + s)} for s in range(2)], ["a"])
    md, _ = _write(tmp_path, "noest")
    assert "estimated and measured" not in md and "device-h" not in md


# ------------------------------------------------------------------------------------ pretrained
def _transfer(rel_shape: list[int], drop: bool) -> dict:
    tensors = [{"name": f"layers.{i}.blocks.{j}.attn.qkv.weight", "action": "copied", "source": [96, 32],
                "target": [96, 32]} for i in range(2) for j in range(2)]
    tensors += [{"name": f"layers.{i}.blocks.{j}.attn.relative_position_bias_table",
                 "action": "dropped" if drop else "resized", "source": [169, 3], "target": None if drop else rel_shape}
                for i in range(2) for j in range(2)]
    tensors += [{"name": "head.weight", "action": "new", "source": None, "target": [4, 32]}]
    counts = {a: sum(t["action"] == a for t in tensors) for a in ("copied", "resized", "new", "dropped")}
    return {"checkpoint": "timm:swin_tiny_patch4_window7_224.ms_in1k", "format": "timm swin", "summary": counts,
            "tensors": tensors}


def test_transfer_column_and_tensors(tmp_path):
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s + (v == "wide")), "transfer": t}
            for v, t in (("as_trained", _transfer([169, 3], False)), ("wide", _transfer([729, 3], False)),
                         ("no_rel", _transfer([], True))) for s in range(2)]
    _grid(tmp_path, "ft", runs, ["as_trained", "wide", "no_rel"])
    md, out = _write(tmp_path, "ft")
    table = pd.read_csv(out / "table.csv").set_index("variant")
    assert table.loc["wide", "transfer"] == "copied 4 · resized 4 · new 1"
    assert table.loc["no_rel", "transfer"] == "copied 4 · new 1 · dropped 4"
    assert "Transferred" in md and "Transferred" not in (out / "table.md").read_text()  # in the details
    assert ("- `wide` from `timm:swin_tiny_patch4_window7_224.ms_in1k` (timm swin): resized: "
            "`layers.*.blocks.*.attn.relative_position_bias_table` ×4 [169, 3]→[729, 3]; new: `head.weight`") in md
    assert "- `no_rel` from" in md and "dropped: `layers.*.blocks.*.attn.relative_position_bias_table` ×4" in md


# ------------------------------------------------------------------------------------ evaluation only
def test_evaluation_only_one_seed(tmp_path):
    runs = [{"variant": v, "seed": 0, "result": _result(x, epochs=0)} for v, x in (("as_trained", 81.2),
                                                                                   ("no_shift", 79.9))]
    _grid(tmp_path, "eval1", runs, ["as_trained", "no_shift"])
    md, out = _write(tmp_path, "eval1")
    assert "evaluates without training" in md and "no learning curves" in md
    assert not (out / "curves.png").exists() and (out / "bars.png").exists()
    assert "**too few seeds: 2 more needed for a test**" in md


def test_evaluation_only_several_seeds(tmp_path):
    runs = [{"variant": v, "seed": s, "result": _result(x + 0.3 * s + 0.1 * s * (v == "wide"), epochs=0)}
            for v, x in (("as_trained", 81.2), ("wide", 80.1)) for s in range(4)]
    _grid(tmp_path, "eval4", runs, ["as_trained", "wide"])
    md, out = _write(tmp_path, "eval4")
    s = pd.read_csv(out / "table.csv").set_index("variant").loc["wide"]
    b = np.array([81.2 + 0.3 * k for k in range(4)])
    v = np.array([80.1 + 0.4 * k for k in range(4)])
    assert s["p_value"] == pytest.approx(sps.ttest_rel(v, b).pvalue) and s["verdict"] == "worse"
    assert "evaluates without training" in md and not (out / "curves.png").exists()


# ------------------------------------------------------------------------------------ metrics and CLI
@pytest.fixture()
def small(tmp_path) -> Path:
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s + 2 * (v == "b") + 0.1 * s * (v == "b"))}
            for v in "ab" for s in range(3)]
    _grid(tmp_path, "small", runs, ["a", "b"])
    return tmp_path


def test_several_metrics_one_table_each(small, capsys):
    out = small / "rep"
    argv = ["--grid", "small", "--runs-dir", str(small), "--out", str(out), "--metric", "top1,top5,val_loss",
            "--correction", "bh", "--interval", "bootstrap", "--min-effect", "0.3"]
    assert R.main(argv) == 0
    md = (out / "report.md").read_text()
    for stem, metric in (("table_top5", "top5"), ("table_loss", "loss")):
        t = pd.read_csv(out / f"{stem}.csv")
        assert set(t["metric"]) == {metric} and set(t["correction"].dropna()) == {"bh"}
    main = (out / "table.md").read_text()
    assert "p adj. (Benjamini–Hochberg)" in main and "95% CI (BCa)" in main and "Seeds for Δ = 0.3" in md
    assert "(`loss`, lower is better)" in md and "Benjamini–Hochberg-adjusted" in md
    assert "--metric top1,top5,val_loss --correction bh --interval bootstrap --min-effect 0.3" in md  # as typed
    path = R.write_report("small", runs_dir=small, out_dir=small / "rep2", metric=["top5", "val_loss"],
                          correction="none")
    assert "--metric top5,loss --correction none" in path.read_text()  # from Python: the names resolved
    summary = pd.read_csv(out / "summary.csv")
    assert {"top1", "top5", "loss"} <= set(summary["metric"]) and "p_adj" in summary.columns
    capsys.readouterr()


@pytest.mark.parametrize("argv, words", [
    (["--correction", "bonferroni"], "--correction: 'bonferroni' is not one of holm, bh, none"),
    (["--interval", "normal"], "--interval: 'normal' is not one of t, bootstrap"),
    (["--min-effect", "much"], "--min-effect: 'much' is not a number"),
    (["--min-effect", "-0.3"], "--min-effect: -0.3 must be a positive number"),
    (["--min-effect", "nan"], "--min-effect: nan must be a positive number"),
    (["--min-effect", "1e400"], "--min-effect: inf must be a positive number (finite"),
    (["--metric", "top1,top7"], "--metric: 'top7' is in no done run"),
    (["--metric", "top1,,top5"], "--metric: 'top1,,top5' has an empty name"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_options_one_line_exit_2(small, capsys, argv, words):
    out = small / "rep-bad"
    code = _exit_code(["--grid", "small", "--runs-dir", str(small), "--out", str(out), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and words in err[0], err
    assert not out.exists()  # nothing written


def _exit_code(argv: list[str]) -> int:
    """The command line's exit code, whether argparse exits (usage) or main returns (bad input)."""
    try:
        return R.main(argv)
    except SystemExit as e:
        return int(e.code)


def test_missing_grid_flag_is_one_line(capsys):
    assert _exit_code([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--grid" in err[0]


def test_grid_json_without_runs_is_one_line(tmp_path, capsys):
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "grid.json").write_text(json.dumps({"grid": "none", "variants": ["a"], "runs": []}))
    assert R.main(["--grid", "none", "--runs-dir", str(tmp_path), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "grid.json: no runs in it" in err[0] and not (tmp_path / "rep").exists()


# ------------------------------------------------------------------------------------ what the table shows
def test_bold_only_where_the_corrected_test_decides(tmp_path):
    """The best mean from two seeds (no test) or an undecided difference is not bold; a decided one is."""
    runs = [{"variant": v, "seed": s, "result": _result(x + s)} for v, x, seeds in
            (("a", 70.0, 3), ("lucky", 90.0, 2), ("close", 70.3, 3)) for s in range(seeds)]
    _grid(tmp_path, "undecided", runs, ["a", "lucky", "close"])
    md, out = _write(tmp_path, "undecided")
    table = (out / "table.md").read_text()
    assert "**" not in table and "too few seeds: " in table
    assert not pd.read_csv(out / "table.csv")["best"].any()
    runs = [{"variant": v, "seed": s, "result": _result(x + s + 0.1 * s * (v == "b"))}
            for v, x in (("a", 70.0), ("b", 72.0)) for s in range(3)]
    _grid(tmp_path, "decided", runs, ["a", "b"])
    md, out = _write(tmp_path, "decided")
    assert "**73.10** ± " in (out / "table.md").read_text()


def test_axis_column_that_repeats_the_variant_is_left_to_the_csv(small):
    out = small / "rep-axis"
    R.write_report("small", runs_dir=small, out_dir=out)
    header = (out / "table.md").read_text().splitlines()[0]
    assert header.startswith("| Variant | Runs |") and "pos" not in header.split("|")[2]
    assert list(pd.read_csv(out / "table.csv")["model.pos"]) == ["a", "b"]
    assert "Effect [95% CI]" in (out / "report.md").read_text()  # the details table


# ------------------------------------------------------------------------------------ writing the folder
def _report_in_child(small: Path, out: Path) -> None:
    import os
    import sys as _sys

    _sys.stderr = open(os.devnull, "w")  # noqa: SIM115 — the child's stderr: the corrupt-run lines are not the test
    os._exit(R.main(["--grid", "small", "--runs-dir", str(small), "--out", str(out), "--metric", "top1,top5,val_loss"]))


def test_concurrent_reports_on_one_folder_both_finish_complete(small):
    """Four reports at once on one --out, over an earlier report's stale tables: every one exits 0 and
    the folder holds one complete report (before: FileNotFoundError from the stale-table unlink)."""
    import multiprocessing

    out = small / "shared"
    out.mkdir()
    for i in range(3000):  # an earlier report's tables of other metrics: the removals take long enough to meet
        (out / f"table_old{i}.csv").write_text("x\n")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_report_in_child, args=(small, out)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    names = {p.name for p in out.iterdir()}
    assert not [n for n in names if n.startswith("table_old") or n.endswith(".tmp")]
    for stem in ("table", "table_top5", "table_loss"):
        assert {f"{stem}.csv", f"{stem}.md", f"{stem}.tex"} <= names
    assert {"report.md", "report.html", "runs.csv", "summary.csv", "bars.png", "bars.pdf"} <= names
    assert (out / "report.md").read_text().rstrip().endswith("s")  # whole: ends with "Written … in x.y s"


def test_full_disk_is_one_line_naming_the_file_and_the_disk(small, monkeypatch, capsys):
    """ENOSPC writing report.html: one line with the file, the filesystem and what to do, exit 1; the
    earlier report.md is not lost (every file is written whole or not at all)."""
    import errno
    import tempfile

    out = small / "full"
    assert R.main(["--grid", "small", "--runs-dir", str(small), "--out", str(out)]) == 0
    before = (out / "report.html").read_text()
    real = tempfile.mkstemp

    def full(*args, **kwargs):
        if str(kwargs.get("prefix", "")).startswith(".report.html."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", full)
    capsys.readouterr()
    assert R.main(["--grid", "small", "--runs-dir", str(small), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    assert f"{out / 'report.html'}: cannot write: No space left on device (ENOSPC) on the filesystem at" in err[0]
    assert "free space there and rerun the same command" in err[0]
    assert (out / "report.html").read_text() == before
    assert not list(out.glob(".*.tmp"))


# ------------------------------------------------------------------------------------ hostile files
@pytest.mark.parametrize("top1", [1e308, -1e308, float("inf"), 100.5, float("nan")])
def test_out_of_range_metric_is_a_corrupt_run_not_a_number(tmp_path, top1):
    """A result.json whose top1 no run can produce is reported as corrupt by path and left out of the
    statistics (before: averaged into '0.00 ±', p 1.000, 'no detectable difference')."""
    runs = [{"variant": v, "seed": s, "result": _result(70.0 + s + (v == "b"))} for v in "ab" for s in range(3)]
    runs.append({"variant": "b", "seed": 3, "result": _result(top1)})
    runs.append({"variant": "a", "seed": 3, "result": _result(73.0)})
    _grid(tmp_path, "huge", runs, ["a", "b"])
    agg = R.aggregate("huge", tmp_path)
    row = agg.runs[(agg.runs["variant"] == "b") & (agg.runs["seed"] == 3)].iloc[0]
    assert row["status"] == "corrupt" and math.isnan(row["top1"])
    said = "= NaN in a run that says it finished" if math.isnan(top1) else "is outside [0, 100]"
    assert any("b-3-x/result.json: top1 = " in p and f"{said}; skipped as corrupt" in p for p in agg.problems)
    s = R.summarize(agg.runs, "top1", "a", agg.variants).loc["b"]
    assert s["n"] == 3 and s["mean"] == pytest.approx(72.0)


def test_markdown_carries_no_html_from_a_crafted_grid_json(tmp_path):
    """Axis values and the description of a crafted grid.json reach report.md and table.md as text:
    rendered by a Markdown parser (Python-Markdown) they make no tag and no link. (Variant names and
    run ids cannot carry them: grid.json's reader refuses such names.)"""
    markdown = pytest.importorskip("markdown")
    names = ["a", "b", "c", "d"]
    values = ["<marquee>m", "v`<blink>`", "w\\`<iframe src=x>`", "<script>x"]
    runs = [{"variant": v, "pos": values[i], "seed": s, "result": _result(70.0 + s + i)}
            for i, v in enumerate(names) for s in range(3)]
    _grid(tmp_path, "hostile", runs, names, description="<script>alert(1)</script> [x](javascript:alert(1)) &lt;")
    md, out = _write(tmp_path, "hostile")
    for text in (md, (out / "table.md").read_text()):
        page = markdown.markdown(text, extensions=["tables"]).lower()
        for tag in ("<marquee", "<blink", "<iframe", "<script", 'href="javascript'):
            assert tag not in page, tag
    assert "&lt;script>alert(1)&lt;/script>" in md and "&amp;lt;" in md  # the description, as typed
    assert "<script" not in (out / "report.html").read_text().lower()


def test_out_that_is_a_file_is_bad_input(small, capsys):
    (small / "afile").write_text("mine\n")
    for out in (small / "afile", small / "afile" / "sub"):
        assert R.main(["--grid", "small", "--runs-dir", str(small), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(out) in err[0] and "a file stands where a folder should be" in err[0]
    assert (small / "afile").read_text() == "mine\n"
