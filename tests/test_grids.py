"""Shipped grids: a snapshot of every expansion (a change shows as a diff), and every grid point builds,
trains a step and gives every parameter a gradient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ablations.planning.grid import available_grids, check_buildable, expand, load_grid
from vt_core.model import VisionTransformer

SNAPSHOTS = Path(__file__).parent / "snapshots" / "grids"
SHIPPED = available_grids()


def _snapshot(name: str) -> dict:
    grid = load_grid(name)
    out = {"baseline": grid.baseline, "metric": grid.metric, "seeds": list(grid.seeds), "paper": grid.paper,
           "profiles": {}}
    for profile in grid.profiles:
        prof = dict(grid.profiles[profile])
        in_profile = load_grid(name, profile).variants
        variants = [{"variant": v.name, "overrides": {**grid.base, **prof, **v.overrides}} for v in in_profile]
        entry: dict = {"variants": variants}
        if profile == "cpu":  # the other profiles resolve against datasets on disk: their overrides are the snapshot
            entry["runs"] = [{"variant": r.variant, "seed": r.seed, "run_id": r.run_id} for r in expand(grid, "cpu")]
        out["profiles"][profile] = entry
    return json.loads(json.dumps(out, default=list))


def test_required_grids_are_shipped() -> None:
    assert {"relpos_vs_abs", "shift_on_off", "window_size", "kv_ratios", "ds_ffn", "swin_table4"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_expansion_matches_snapshot(name: str, request: pytest.FixtureRequest) -> None:
    path = SNAPSHOTS / f"{name}.json"
    snap = _snapshot(name)
    if request.config.getoption("--update-snapshots") or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
        if not request.config.getoption("--update-snapshots"):
            pytest.fail(f"{path} did not exist; written now: review and commit it")
    assert snap == json.loads(path.read_text()), \
        f"grid {name} changed: rerun with --update-snapshots and review the diff"


def _cpu_points() -> list[tuple[str, str]]:
    return [(g, v.name) for g in SHIPPED for v in load_grid(g).variants]


@pytest.mark.parametrize("grid_name,variant", _cpu_points())
def test_grid_point_trains_a_step(grid_name: str, variant: str) -> None:
    grid = load_grid(grid_name)
    (run,) = [r for r in expand(grid, "cpu", seeds=(0,)) if r.variant == variant]
    torch.manual_seed(0)
    model = VisionTransformer(run.cfg.model)
    x = torch.randn(2, 3, run.cfg.model.img_size, run.cfg.model.img_size)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), f"{grid_name}/{variant}: {name} has no gradient"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_profile_builds_on_meta(name: str) -> None:
    """Paper-scale profiles are planned away from their data: num_classes given, models built on meta."""
    for profile in load_grid(name).profiles:
        if profile == "cpu":
            continue
        grid = load_grid(name, profile)
        prof = grid.profiles[profile]
        from ablations.planning.grid import GridError

        try:
            runs = expand(grid, profile, seeds=(0,))
        except GridError as e:  # the dataset is not on this machine: the error names the path
            assert str(prof.get("data.root", "")) in str(e), e
            continue
        check_buildable(runs)
