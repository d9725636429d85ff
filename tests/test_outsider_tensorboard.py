"""TensorBoard links stay inside ``runs/<grid>/tensorboard/``: a planted grid.json entry that would
name another place is refused in one line (nothing written), a symlinked ``tensorboard/`` or
variant folder is never followed, and only links the launcher made are ever removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ablations.executors.tensorboard import link_tensorboard
from ablations.planning.grid_index import read_index
from tests.support.launch import launch, snapshot, write_grid
from vt_core.overrides import ConfigError

RID, OTHER = "ab" * 6, "cd" * 6


def _grid(gdir: Path, entries: list[dict], trained_before: bool = True) -> None:
    """grid.json with ``entries``; ``trained_before``: their runs' events in their own tb/ (linked)."""
    gdir.mkdir(parents=True, exist_ok=True)
    for e in entries:
        if trained_before and isinstance(e.get("run_id"), str) and "/" not in e["run_id"]:
            (gdir / e["run_id"] / "tb").mkdir(parents=True, exist_ok=True)
    (gdir / "grid.json").write_text(json.dumps({"grid": "g", "runs": entries}))


def _tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (links not followed) with what it is or points to."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            out[str(p.relative_to(folder))] = os.readlink(p) if p.is_symlink() else "dir" if p.is_dir() else "file"
    return out


def _shared(tmp_path: Path) -> Path:
    """A folder of other people's: another grid's link, a link to /etc, an empty folder, a file."""
    shared = tmp_path / "shared"
    (shared / "abs").mkdir(parents=True)
    (shared / "abs" / "seed0").symlink_to(f"../../other_grid/{OTHER}/tb")
    (shared / "etc").symlink_to("/etc")
    (shared / "empty").mkdir()
    (shared / "notes.txt").write_text("mine")
    return shared


@pytest.mark.parametrize("trained_before", [True, False], ids=["links", "events folders"])
@pytest.mark.parametrize("linked", ["tensorboard", "tensorboard/abs"])
def test_symlinked_folders_are_not_followed(tmp_path: Path, linked: str, trained_before: bool, capsys) -> None:
    gdir = tmp_path / "runs" / "g"
    _grid(gdir, [{"variant": "abs", "seed": 0, "run_id": RID}, {"variant": "abs", "seed": 1, "run_id": "ef" * 6}],
          trained_before)
    shared = _shared(tmp_path)
    before = _tree(shared)
    (gdir / linked).parent.mkdir(parents=True, exist_ok=True)
    (gdir / linked).symlink_to(shared)
    link_tensorboard(gdir)
    assert _tree(shared) == before
    assert "symlink" in capsys.readouterr().err
    assert not (gdir / RID / "tb.path").exists()  # its events stay in its own folder


def test_only_the_launchers_links_are_removed(tmp_path: Path) -> None:
    gdir = tmp_path / "runs" / "g"
    _grid(gdir, [{"variant": "abs", "seed": 0, "run_id": RID}])
    tb = gdir / "tensorboard"
    (tb / "rel").mkdir(parents=True)
    (tb / "rel" / "seed0").symlink_to(f"../../../other_grid/{OTHER}/tb")  # another grid's
    (tb / "etc").symlink_to("/etc")  # someone's own
    (tb / "empty").mkdir()  # someone's own folder
    (tb / "gone").mkdir()
    (tb / "gone" / "seed3").symlink_to(f"../../{OTHER}/tb")  # ours, named by no entry now
    assert link_tensorboard(gdir) == 1
    assert _tree(tb) == {"abs": "dir", "abs/seed0": f"../../{RID}/tb", "rel": "dir",
                         "rel/seed0": f"../../../other_grid/{OTHER}/tb", "etc": "/etc", "empty": "dir"}


@pytest.mark.parametrize(("entry", "key"), [
    ({"variant": "../../../victim", "seed": 0, "run_id": RID}, ".variant"),
    ({"variant": "abs", "seed": "1/../../../../x", "run_id": RID}, ".seed"),
    ({"variant": "abs", "seed": 0, "data_seed": "2/../../y", "run_id": RID}, ".data_seed"),
    ({"variant": "abs", "seed": 0, "run_id": "../../../z"}, ".run_id"),
], ids=["variant", "seed", "data_seed", "run_id"])
def test_entries_naming_other_places_are_refused(tmp_path: Path, entry: dict, key: str) -> None:
    """grid.json's one reader refuses the entry in one line; the links write nothing meanwhile."""
    gdir = tmp_path / "runs" / "g"
    _grid(gdir, [{"variant": "abs", "seed": 0, "run_id": OTHER}, entry])
    before = _tree(tmp_path)
    with pytest.raises(ConfigError) as e:
        read_index(gdir / "grid.json")
    msg = str(e.value)
    assert "\n" not in msg and str(gdir / "grid.json") in msg and f"runs[1]{key}" in msg, msg
    assert link_tensorboard(gdir) == 0
    assert _tree(tmp_path) == before


def test_an_old_override_seed_names_no_path(tmp_path: Path) -> None:
    """``overrides["data.seed"]`` (older grid.json files) that is no whole number names nothing."""
    gdir = tmp_path / "runs" / "g"
    _grid(gdir, [{"variant": "abs", "seed": 0, "overrides": {"data.seed": "../../../q"}, "run_id": RID}])
    outside = {k: v for k, v in _tree(tmp_path).items() if not k.startswith("runs/g/tensorboard")}
    assert link_tensorboard(gdir) == 1
    assert {k: v for k, v in _tree(tmp_path).items() if not k.startswith("runs/g/tensorboard")} == outside
    assert os.readlink(gdir / "tensorboard" / "abs" / "seed0") == f"../../{RID}/tb"


def test_launch_refuses_a_planted_grid_json(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    planted = {"grid": "tiny", "runs": [{"variant": "../../../victim", "seed": 0, "run_id": RID, "profile": "cpu"}]}
    (runs / "tiny").mkdir(parents=True)
    (runs / "tiny" / "grid.json").write_text(json.dumps(planted))
    grid = write_grid(tmp_path)
    before = snapshot(tmp_path)
    done = launch("--grid", str(grid), "--profile", "cpu", "--no-report", "--executor", "local", runs=runs)
    err = done.stderr.strip()
    assert done.returncode == 2 and len(err.splitlines()) == 1 and "../../../victim" in err, err
    assert snapshot(tmp_path) == before and json.loads((runs / "tiny" / "grid.json").read_text()) == planted


def _runs(logdir: Path) -> list[str]:
    """The runs TensorBoard lists for ``--logdir logdir`` (its own multiplexer: what the UI shows)."""
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    mux = EventMultiplexer().AddRunsFromDirectory(str(logdir))
    mux.Reload()
    return sorted(mux.Runs())


@pytest.mark.slow
def test_each_run_appears_once_with_its_readable_name(tmp_path: Path) -> None:
    """A real launch (2 variants x 2 seeds), then TensorBoard's reader on runs/ and on
    runs/<grid>/tensorboard/: each run once, under its readable name, with its scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    done = launch("--grid", str(write_grid(tmp_path)), "--profile", "cpu", "--no-report", runs=runs)
    assert done.returncode == 0, done.stderr[-2000:]
    names = ["abs/seed0", "abs/seed1", "none/seed0", "none/seed1"]
    assert _runs(runs / "tiny" / "tensorboard") == names
    assert _runs(runs) == [f"tiny/tensorboard/{n}" for n in names]
    entries = json.loads((runs / "tiny" / "grid.json").read_text())["runs"]
    for e in entries:
        run = runs / "tiny" / e["run_id"]
        assert not (run / "tb").exists() and (run / "tb.path").read_text().strip() == \
            f"../tensorboard/{e['variant']}/seed{e['seed']}"
    acc = EventAccumulator(str(runs / "tiny" / "tensorboard" / "abs" / "seed0"))
    acc.Reload()
    assert "val/top1" in acc.Tags()["scalars"]
    # a second launch (nothing to train) keeps every name where it is
    again = launch("--grid", str(write_grid(tmp_path)), "--profile", "cpu", "--no-report", runs=runs)
    assert again.returncode == 0 and _runs(runs) == [f"tiny/tensorboard/{n}" for n in names]


def test_tb_path_outside_the_grids_tensorboard_folder_is_refused(tmp_path: Path) -> None:
    from vt_core.run_folder import tb_folder

    run = tmp_path / "g" / RID
    run.mkdir(parents=True)
    assert tb_folder(run) == run / "tb"
    for planted in ("../../../etc", "/etc", "../tensorboard/../../x"):
        (run / "tb.path").write_text(planted)
        with pytest.raises(ConfigError) as e:
            tb_folder(run)
        assert "\n" not in str(e.value) and str(run / "tb.path") in str(e.value)
    (run / "tb.path").write_text("../tensorboard/abs/seed0\n")
    assert tb_folder(run) == tmp_path / "g" / "tensorboard" / "abs" / "seed0"


def test_names_once_given_are_kept(tmp_path: Path) -> None:
    """A run's events folder never moves: a later entry that would take its name gets its run id."""
    gdir = tmp_path / "runs" / "g"
    first = {"variant": "abs", "seed": 0, "run_id": RID}
    _grid(gdir, [first], trained_before=False)
    assert link_tensorboard(gdir) == 1
    assert (gdir / RID / "tb.path").read_text().strip() == "../tensorboard/abs/seed0"
    assert (gdir / "tensorboard" / "abs" / "seed0").is_dir()
    _grid(gdir, [first, {"variant": "abs", "seed": 0, "run_id": OTHER}], trained_before=False)
    assert link_tensorboard(gdir) == 2
    assert (gdir / RID / "tb.path").read_text().strip() == "../tensorboard/abs/seed0"
    assert (gdir / OTHER / "tb.path").read_text().strip() == f"../tensorboard/abs/seed0_{OTHER}"
