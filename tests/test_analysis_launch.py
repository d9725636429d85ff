"""The launcher's analysis step and the report's Mechanisms section, on a real tiny grid."""

from __future__ import annotations

import json

import pytest

from ablations.analysis_step import after_run, enabled, record
from tests.support.launch import launch, write_grid

pytestmark = pytest.mark.slow


def test_default_is_on_for_cpu_profiles_only():
    assert enabled("cpu", None) and enabled("cpu_small", None)
    assert not enabled("imagenet", None) and not enabled("cifar", None)
    assert enabled("imagenet", True) and not enabled("cpu", False)


def _analyses(gdir):
    index = json.loads((gdir / "grid.json").read_text())
    return index, {e["run_id"]: json.loads((gdir / e["run_id"] / "analysis.json").read_text())
                   for e in index["runs"] if (gdir / e["run_id"] / "analysis.json").exists()}


def test_a_launch_analyses_its_runs_and_the_report_shows_them(tmp_path):
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    done = launch("--grid", str(grid), "--jobs", "2", runs=runs)
    assert done.returncode == 0, done.stderr
    assert "analysis: 4 written" in done.stdout
    index, analyses = _analyses(runs / "tiny")
    assert index["analyze"] is True and len(analyses) == 4
    by = {(e["variant"], e["seed"]): analyses[e["run_id"]] for e in index["runs"]}
    for seed in (0, 1):
        assert by[("abs", seed)]["cka"] is None  # the baseline itself
        cka = by[("none", seed)]["cka"]
        assert cka["baseline_run_id"] == next(e["run_id"] for e in index["runs"] if e["variant"] == "abs"
                                              and e["seed"] == seed)
        # no position, global attention, mean pooling: blind to patch-aligned cyclic shifts
        aligned = [r for r in by[("none", seed)]["translation"]["shifts"] if r["patch_aligned"]]
        assert aligned and all(r["agreement"] == 1.0 and r["kl"] < 1e-9 for r in aligned)
    report = (tmp_path / "reports" / "tiny" / "report.md").read_text()
    assert "## Mechanisms" in report and "CKA vs baseline" in report
    for stem in ("mech_attention", "mech_shift", "mech_cka"):
        assert (tmp_path / "reports" / "tiny" / f"{stem}.png").exists()
    assert report.index("## Mechanisms") > report.index("## Figures")
    stamps = {rid: (runs / "tiny" / rid / "analysis.json").stat().st_mtime_ns for rid in analyses}
    again = launch("--grid", str(grid), runs=runs)
    assert again.returncode == 0 and "analysis: 4 up to date" in again.stdout, again.stdout
    assert stamps == {rid: (runs / "tiny" / rid / "analysis.json").stat().st_mtime_ns for rid in analyses}


def test_no_analyze_is_recorded_and_skips_the_step(tmp_path):
    grid, runs = write_grid(tmp_path), tmp_path / "runs"
    done = launch("--grid", str(grid), "--no-analyze", "--seeds", "0", runs=runs)
    assert done.returncode == 0, done.stderr
    index, analyses = _analyses(runs / "tiny")
    assert index["analyze"] is False and not analyses and "analysis:" not in done.stdout
    assert "## Mechanisms" not in (tmp_path / "reports" / "tiny" / "report.md").read_text()
    # a Slurm task's step: nothing while grid.json says no; the baseline's task then does its seed's runs too
    gdir = runs / "tiny"
    base = next(e["run_id"] for e in index["runs"] if e["variant"] == "abs")
    other = next(e["run_id"] for e in index["runs"] if e["variant"] == "none")
    after_run(gdir / base)
    assert not (gdir / base / "analysis.json").exists()
    record(gdir, True)
    after_run(gdir / base)
    assert json.loads((gdir / base / "analysis.json").read_text())["cka"] is None
    assert json.loads((gdir / other / "analysis.json").read_text())["cka"]["baseline_run_id"] == base
