"""The probes' provable contrasts, on trained models: the shipped grids' own ``cpu``
configurations, launched as the main command launches them (local executor, two runs at a time),
over two seeds each.

- arrangement (grid ``relpos_vs_abs``): a ViT without position encoding is at chance; ``abs`` and
  ``rel`` are far above;
- cross_window (grid ``shift_on_off``): the window model without shift is at chance on every seed;
  with shift it leaves chance far behind on at least one. The shifted model's escape from the loss
  plateau is an optimisation event that comes after 2,000-3,300 steps on most seeds and not within
  the profile's 5,120 on some (seed 1 stayed at 27 % in one CI run), so "every seed" would test luck;
  a shift that is not applied keeps every seed at chance and still fails here.

"At chance" is a theorem for these models (see ``vt_core/data/probes.py``): their validation
accuracy is a draw around 25 % whose spread comes from the finite validation set only, so the band
is a binomial bound (4.5 standard deviations), not a tuned number. These tests are what breaks when
a component stops doing what the papers say: a position encoding silently dropped, a shift that is
not applied.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vt_core.run_folder import load_config

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SEEDS = "0,1"


def _launch(grid: str, variants: list[str], tmp: Path) -> dict[tuple[str, int], dict]:
    runs = tmp / "runs"
    cmd = [sys.executable, "ablations/launch.py", "--grid", grid, "--executor", "local", "--seeds", SEEDS,
           "--only", *variants, "--runs-dir", str(runs), "--no-report"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    index = json.loads((runs / grid / "grid.json").read_text())
    results = {}
    for r in index["runs"]:
        folder = runs / grid / r["run_id"]
        results[r["variant"], r["seed"]] = {**json.loads((folder / "result.json").read_text()),
                                            "val_size": load_config(folder / "config.yaml").data.val_size}
    return results


@pytest.fixture(scope="module")
def arrangement(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    return _launch("relpos_vs_abs", ["none", "abs", "rel"], tmp_path_factory.mktemp("arrangement"))


@pytest.fixture(scope="module")
def cross_window(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    return _launch("shift_on_off", ["shifted", "no_shift"], tmp_path_factory.mktemp("cross_window"))


def _chance_band(val_size: int, k: int = 4) -> float:
    return 100 * 4.5 * math.sqrt((1 / k) * (1 - 1 / k) / val_size)


def _check(results: dict[tuple[str, int], dict], at_chance: list[str], far_above: list[str],
           every_seed: bool = True) -> None:
    seeds = sorted({s for _, s in results})
    assert len(seeds) == 2 and len(results) == 2 * (len(at_chance) + len(far_above)), sorted(results)
    band = _chance_band(next(iter(results.values()))["val_size"])
    table = {key: round(r["top1"], 1) for key, r in sorted(results.items())}
    for (variant, seed), r in results.items():
        assert r["status"] == "done", (variant, seed, r["status"])
        if variant in at_chance:
            assert abs(r["top1"] - 25.0) < band, f"{variant} seed {seed} is not at chance (25 ± {band:.1f}): {table}"
        elif every_seed:
            assert r["top1"] > 25.0 + 40.0, f"{variant} seed {seed} is not far above chance (25 %): {table}"
    for variant in far_above:
        best = max(r["top1"] for (v, _), r in results.items() if v == variant)
        assert best > 25.0 + 40.0, f"{variant} is far above chance (25 %) on no seed: {table}"


def test_arrangement_needs_position(arrangement: dict) -> None:
    _check(arrangement, at_chance=["none"], far_above=["abs", "rel"])


def test_cross_window_needs_shift(cross_window: dict) -> None:
    _check(cross_window, at_chance=["no_shift"], far_above=["shifted"], every_seed=False)
