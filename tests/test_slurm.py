"""The Slurm executor against a real single-node Slurm (slurm/local-cluster/start.sh; CI starts it).

Skipped, with the reason, where ``sbatch`` is not on PATH or the cluster does not answer."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.launch import launch, write_grid
from tests.support.slurm import CLUSTER, index, queue_empty, slurm_unavailable, wait_for

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


_reason = slurm_unavailable()
if _reason:
    pytestmark.append(pytest.mark.skip(reason=f"slurm: {_reason}"))


def test_preempted_job_resumes_from_checkpoint(tmp_path: Path) -> None:
    # long enough (~0.7 s an epoch here) that the signal sent after epoch 1 lands mid-run: 6 epochs of
    # 128 images ended before it on an idle machine, and a finished job rightly ignores it
    grid = write_grid(tmp_path, epochs=16)
    runs = tmp_path / "runs"
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", CLUSTER, "--only", "abs", "--seeds", "0",
                 "--set", "data.train_size=1024", "--no-report", runs=runs)
    assert out.returncode == 0, out.stderr
    (run,) = index(runs, "tiny")
    folder = runs / "tiny" / run["run_id"]
    job = next(iter(json.loads((runs / "tiny" / "slurm.json").read_text())[0]["tasks"]))
    wait_for(lambda: (folder / "metrics.jsonl").exists() and '"val_top1"' in (folder / "metrics.jsonl").read_text(),
             300, "the first epoch")
    subprocess.run(["scancel", "--signal=USR2", job], check=True)
    wait_for(lambda: (folder / "result.json").exists(), 600, "the requeued job to finish")
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "done" and result["epochs"] == 16
    epochs = [json.loads(x)["epoch"] for x in (folder / "metrics.jsonl").read_text().splitlines() if "val_top1" in x]
    assert epochs == list(range(1, 17))
    # Slurm truncates a requeued task's log files, so the evidence is the second attempt's own lines
    logs = "".join(p.read_text(errors="replace") for p in (runs / "tiny" / ".submitit").rglob("*_log.*"))
    assert "attempt 2 (requeued 1x)" in logs and "resumed from checkpoint.pt" in logs, logs[-2000:]


def test_failing_run_is_reported_while_others_finish(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "folder"
    for split in ("train", "val"):
        for c in ("a", "b"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(16):
                Image.new("RGB", (8, 8), (i * 10, 0, 0)).save(d / f"{i}.png")
    (root / "train" / "b" / "99.png").write_bytes(b"broken image")
    grid = write_grid(tmp_path, extra=f'add(name="broken", **{{"data.name": "imagefolder", "data.root": "{root}", '
                                      f'"data.workers": 0}})\n')
    runs = tmp_path / "runs"
    out = launch("--grid", str(grid), "--executor", "slurm", "--cluster", CLUSTER, "--seeds", "0", "--no-report",
                 runs=runs)
    assert out.returncode == 0, out.stderr
    wait_for(lambda: queue_empty(runs, "tiny") and sum(
        (runs / "tiny" / r["run_id"] / n).exists() for r in index(runs, "tiny") for n in ("result.json", "error.txt")
    ) == 3, 600, "all three runs to end")
    status = launch("--grid", str(grid), "--seeds", "0", "--status", runs=runs)
    rows = {ln.split()[0]: ln for ln in status.stdout.splitlines()[2:]}
    assert rows["abs"].split()[3] == "done" and rows["none"].split()[3] == "done", status.stdout
    assert rows["broken"].split()[3] == "failed", status.stdout
    (broken,) = [r for r in index(runs, "tiny") if r["variant"] == "broken"]
    error = (runs / "tiny" / broken["run_id"] / "error.txt").read_text()
    # one line naming the file (no traceback helps), and --status shows it
    assert "99.png" in error and error.strip().splitlines()[-1].strip() in rows["broken"]

