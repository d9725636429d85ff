"""Which code trained a run (commit, uncommitted changes as code.diff, versions), a folder trained
under other defaults told apart, a finished run never rewritten by a launch that waited on its
lock, and an empty --out refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

import vt_core.environment as environment
import vt_core.train.run as trainer
from tests.support.training import tiny_cfg
from vt_core.overrides import ConfigError


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"})


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout standing in for the suite's own (vt_core.environment reads REPO)."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "model.py").write_text("width = 96\n")
    _git(repo, "add", "model.py")
    _git(repo, "commit", "-qm", "first")
    monkeypatch.setattr(environment, "REPO", repo)
    return repo


def test_a_dirty_tree_writes_code_diff(tmp_path: Path, checkout: Path) -> None:
    clean = trainer.train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0"), tmp_path / "clean", progress=False)
    assert clean["env"]["git_dirty"] is False and len(clean["env"]["git_commit"]) == 40
    assert not (tmp_path / "clean" / "code.diff").exists()
    (checkout / "model.py").write_text("width = 128\n")
    dirty = trainer.train(tiny_cfg("train.epochs=1", "train.warmup_epochs=0", "train.seed=1"), tmp_path / "dirty",
                          progress=False)
    assert dirty["env"]["git_dirty"] is True
    diff = (tmp_path / "dirty" / "code.diff").read_text()
    assert "-width = 96" in diff and "+width = 128" in diff
    assert {"torch", "torchvision", "timm", "numpy", "python", "host", "device"} <= set(dirty["env"])


def test_a_folder_trained_under_other_defaults_is_refused(tmp_path: Path) -> None:
    from vt_core.resolve import resolve

    cfg = resolve(tiny_cfg("train.epochs=1", "train.warmup_epochs=0"))
    out = tmp_path / cfg.run_id()  # as the launcher names it
    trainer.train(cfg, out, progress=False)
    stored = yaml.safe_load((out / "config.yaml").read_text())
    stored["train"]["log_every"] = 49  # as if log_every's default had been 49 when the run was trained
    (out / "config.yaml").write_text(yaml.safe_dump(stored))
    with pytest.raises(ConfigError, match=r"trained under other defaults \(train.log_every: 49 then, 2 now\)"):
        trainer.train(cfg, out, progress=False)
    assert json.loads((out / "result.json").read_text())["fingerprint"] == cfg.fingerprint()


def test_a_result_written_while_waiting_for_the_lock_is_not_rewritten(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The interleaving of two launches: B finds no result, A finishes and releases the lock, B takes
    it. B must return A's result, not resume from the final checkpoint and rewrite result.json."""
    cfg = tiny_cfg("train.epochs=1", "train.warmup_epochs=0")
    out = tmp_path / "run"
    trainer.train(cfg, out, progress=False)
    before = (out / "result.json").stat().st_mtime_ns
    calls = []
    real = trainer.read_result

    def stale_first(folder):
        calls.append(folder)
        return None if len(calls) == 1 else real(folder)  # the first look comes before A's result

    monkeypatch.setattr(trainer, "read_result", stale_first)
    again = trainer.train(cfg, out, progress=False)
    assert len(calls) == 2 and (out / "result.json").stat().st_mtime_ns == before
    assert again["wall_time_s"] == json.loads((out / "result.json").read_text())["wall_time_s"]


def test_empty_out_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert trainer.main(["--out", "", "--set", "train.epochs=1"]) == 2
    assert "--out: empty" in capsys.readouterr().err and not list(tmp_path.iterdir())
