"""Seeds: seed k is one independent replicate (train.seed and data.seed), or init × data seeds
crossed (the grid's SEEDS dict, --data-seeds); bad seed lists are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ablations.launch import main, write_index
from ablations.planning.grid import expand, load_grid
from tests.support.launch import write_grid


def test_a_seed_sets_init_and_data_seed(tmp_path: Path) -> None:
    runs = expand(load_grid(str(write_grid(tmp_path))), "cpu", seeds=(0, 3))
    assert [(r.cfg.train.seed, r.cfg.data.seed) for r in runs if r.variant == "abs"] == [(0, 0), (3, 3)]
    assert all(r.data_seed is None for r in runs)
    write_index(tmp_path, load_grid(str(write_grid(tmp_path))), "cpu", runs)
    assert json.loads((tmp_path / "grid.json").read_text())["data_seed_follows_seed"] is True  # the report says so


def test_grid_seeds_dict_crosses_init_and_data(tmp_path: Path) -> None:
    path = write_grid(tmp_path)
    path.write_text(path.read_text().replace("SEEDS = (0, 1)", 'SEEDS = {"init": (0, 1, 2), "data": (0, 1)}'))
    grid = load_grid(str(path))
    runs = [r for r in expand(grid, "cpu") if r.variant == "abs"]
    assert [(r.seed, r.data_seed) for r in runs] == [(i, d) for i in (0, 1, 2) for d in (0, 1)]
    assert [(r.cfg.train.seed, r.cfg.data.seed) for r in runs] == [(r.seed, r.data_seed) for r in runs]
    assert len({r.run_id for r in runs}) == 6
    write_index(tmp_path, grid, "cpu", runs)
    index = json.loads((tmp_path / "grid.json").read_text())
    assert sorted((e["seed"], e["data_seed"]) for e in index["runs"]) == [(i, d) for i in (0, 1, 2) for d in (0, 1)]
    assert index["data_seed_follows_seed"] is False


def test_data_seeds_flag_crosses(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["--grid", str(write_grid(tmp_path)), "--data-seeds", "0,1", "--dry-run", "--executor", "local",
                 "--runs-dir", str(tmp_path / "runs")])
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("abs ")) == ["0/0", "0/1", "1/0",
                                                                                              "1/1"]


@pytest.mark.parametrize("flag", ["--seeds", "--data-seeds"])
@pytest.mark.parametrize("value", [",,,", "", "a,b", "1,-2", str(2**63), "0,0", "1.5"])
def test_bad_seed_lists_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, flag: str, value: str) -> None:
    runs = tmp_path / "runs"
    code = main(["--grid", str(write_grid(tmp_path)), flag, value, "--dry-run", "--runs-dir", str(runs)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and flag in err, err
    assert not runs.exists()


@pytest.mark.parametrize("seeds", ["()", "(0, -1)", "('a',)", '{"init": (0,)}', "(True,)"])
def test_bad_grid_seeds_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, seeds: str) -> None:
    path = write_grid(tmp_path)
    path.write_text(path.read_text().replace("SEEDS = (0, 1)", f"SEEDS = {seeds}"))
    code = main(["--grid", str(path), "--dry-run", "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and "SEEDS" in err and len(err.strip().splitlines()) == 1, err
