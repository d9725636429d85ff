"""A runs folder with known numbers for the report tests: variants, seeds, failed and diverged runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vt_core.run_result import RunResult

REPO = Path(__file__).resolve().parents[2]


SEEDS = (0, 1, 2)


TOP1 = {
    "base": {0: 70.0, 1: 71.0, 2: 72.5},
    "better": {0: 74.0, 1: 75.5, 2: 76.0},  # paired, clearly better
    "noise": {0: 70.5, 1: 70.2, 2: 72.9},  # paired, no detectable difference
    "worse": {0: 60.0, 1: 61.0, 2: 99.0, 3: 62.0},  # seed 2's result.json is corrupt: Welch over seeds {0, 1, 3}
    "partial": {0: 71.5, 1: 72.0, 3: 70.8},  # seed 2 never ran (pending): the missing seed, Welch
    "single": {0: 73.0, 1: None, 2: 50.0},  # seed 1 failed, seed 2 diverged: one seed
    "twin": {},  # the same config (run ids) as base
    "ghost": {0: None, 1: None, 2: None},  # seed 0 running (lock held), others pending
}


VARIANTS = list(TOP1)


COST = {"base": (5.0e6, 0.30), "better": (5.5e6, 0.33), "noise": (5.0e6, 0.30), "worse": (4.0e6, 0.25),
        "partial": (5.2e6, 0.31), "single": (6.0e6, 0.40), "twin": (5.0e6, 0.30), "ghost": (5.0e6, 0.30)}


POS = {"base": "abs", "better": "rel", "noise": "abs+rel", "worse": "none", "partial": "rel", "single": "abs",
       "twin": "abs", "ghost": "rel"}


EPOCHS = 4


def run_id_of(variant: str, seed: int) -> str:
    return f"{'base' if variant == 'twin' else variant}-{seed:02d}abcdef"


def result_of(variant: str, seed: int, top1: float, status: str = "done") -> dict:
    """result.json's object, built as the trainer builds it (vt_core.run_result.RunResult)."""
    params, gmacs = COST[variant]
    sizes = ({str(s): {"top1": top1 - abs(32 - s) * 0.3, "top5": 90.0, "loss": 1.0} for s in (24, 32, 48)}
             if variant in ("base", "better", "noise") else {})
    return RunResult(
        status=status, run_id=run_id_of(variant, seed), epochs=EPOCHS, top1=top1, top5=min(100.0, top1 + 20),
        loss=float("nan") if status == "diverged" else 3.0 - top1 / 40, train_loss=2.5 - top1 / 50,
        best_top1=min(100.0, top1 + 0.5), best_top5=min(100.0, top1 + 21), best_epoch=EPOCHS,
        diverged_at="epoch 2 step 17" if status == "diverged" else None, eval_sizes=sizes,
        params=params, macs=gmacs * 1e9, gmacs=gmacs, train_img_per_s=1000.0 / gmacs + seed,
        peak_mem_mb=300 + 100 * gmacs + seed, wall_time_s=12.0 + seed, world_size=1,
        env={"git_commit": "f00dfeed", "torch": "2.5.0", "device": "cpu (2 cores)"},
    ).to_json()


def metrics_of(top1: float, cut: bool = False) -> str:
    lines = []
    for e in range(1, EPOCHS + 1):
        # a step row
        lines.append({"epoch": e - 1, "step": e * 10 - 5, "train_loss": 2.0, "lr": 1e-3, "grad_norm": 1.0})
        lines.append({"epoch": e, "step": e * 10, "train_loss": 2.5 - e * 0.3, "train_top1": top1 * e / EPOCHS,
                      "val_loss": 2.0 - e * 0.2, "val_top1": top1 * (0.55 + 0.45 * e / EPOCHS), "val_top5": 90.0,
                      "lr": 1e-3, "grad_norm": 1.0, "img_per_s": 500.0})
    text = "".join(json.dumps(x) + "\n" for x in lines)
    return text + ('{"epoch": 5, "step": 50, "val_top1": 9' if cut else "")  # a line cut by a kill


def build_runs(root: Path) -> Path:
    """runs/toy/ with known numbers, every kind of state, and runs of another profile."""
    gdir = root / "toy"
    gdir.mkdir(parents=True)
    entries = []
    for v in VARIANTS:
        seeds = tuple(TOP1[v]) or SEEDS
        for s in seeds:
            overrides = {"preset": "vit_cpu", "data.name": "arrangement", "train.epochs": EPOCHS, "model.pos": POS[v],
                         "train.seed": s}
            if v == "better":
                overrides["model.pool"] = "mean"  # an axis the others leave at the preset's value
            entries.append({"variant": v, "seed": s, "run_id": run_id_of(v, s), "profile": "cpu",
                            "overrides": overrides})
        if v == "partial":
            entries.append({"variant": v, "seed": 2, "run_id": run_id_of(v, 2), "profile": "cpu",
                            "overrides": {**overrides, "train.seed": 2}})
    # another profile (different shared overrides): must not be mixed in
    for s in SEEDS:
        entries.append({"variant": "base", "seed": s, "run_id": f"cifar-base-{s}", "profile": "cifar",
                        "overrides": {"preset": "vit_cpu", "data.name": "cifar10", "model.pos": "abs",
                                      "train.seed": s}})
    index = {"grid": "toy", "description": "A toy grid with known numbers.", "baseline": "base", "metric": "top1",
             "axes": ["model.pos", "model.pool"], "paper": {"base": 71.3, "better": 75.0},
             "variants": VARIANTS, "runs": entries}
    (gdir / "grid.json").write_text(json.dumps(index, indent=1))
    for v, per_seed in TOP1.items():
        for s, top1 in per_seed.items():
            d = gdir / run_id_of(v, s)
            d.mkdir(exist_ok=True)
            if v == "worse" and s == 2:
                (d / "result.json").write_text(json.dumps(result_of(v, s, top1))[:57])  # truncated
                (d / "metrics.jsonl").write_text(metrics_of(top1))
            elif v == "single" and s == 1:
                (d / "error.txt").write_text("Traceback (most recent call last):\nRuntimeError: CUDA out of memory\n")
            elif v == "single" and s == 2:
                (d / "result.json").write_text(json.dumps(result_of(v, s, top1, "diverged")))
                (d / "metrics.jsonl").write_text(metrics_of(top1)[:200])
            elif v == "ghost":
                if s == 0:
                    (d / ".lock").write_text("")
                else:
                    d.rmdir()  # pending: no folder at all
            else:
                (d / "result.json").write_text(json.dumps(result_of(v, s, top1)))
                (d / "metrics.jsonl").write_text(metrics_of(top1, cut=(v == "base" and s == 0)))
    for s in SEEDS:  # the cifar runs, older than the cpu ones
        d = gdir / f"cifar-base-{s}"
        d.mkdir()
        (d / "result.json").write_text(json.dumps(result_of("base", s, 90.0 + s)))
        os.utime(d, (1_000_000, 1_000_000))
    return gdir


def done_top1(v: str) -> dict[int, float]:
    return {s: x for s, x in TOP1[v].items() if x is not None and not (v == "worse" and s == 2)
            and not (v == "single" and s == 2)}
