"""``python -m vt_core.bench.trainer``: ``vt_core.train`` against timm's own ``train.py``, end to end.

Both trainers train the same ``vt_`` model on the same folder of real PNG files (10 classes of
28-px grayscale digits, ``vt_core.data.digits``) with the same recipe flags, each as a child
process of this one, in alternating order, ``--repeats`` times; the table gives each run's wall
time (process start to exit: imports, folder scan, training, evaluation), training img/s and final
top-1, then the ratios ours / timm of the median wall times and of the median img/s.

timm's script is not part of the project: it is looked up in ``$VT_TIMM_TRAIN``, then in a
``shared/reference/timm_train.py`` beside or above the checkout; it runs with ``import vt_core``
first, so ``--model vt_<preset>`` exists. See docs/benchmarks.md ("The trainer against timm's").

    python -m vt_core.bench.trainer                         # 8,000 / 2,000 images, 3 epochs, 3 repeats
    python -m vt_core.bench.trainer --small --repeats 3     # 2,000 / 500 images
    python -m vt_core.bench.trainer --no-cache              # ours with data.cache_mb=0 (decodes every pass)
    python -m vt_core.bench.trainer --device cuda --bf16 --compile --workers 8 --batch-size 256
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cli import OneLineParser
from ..overrides import ConfigError

ROOT = Path(__file__).resolve().parents[2]
_RATE = re.compile(r"Train: (\d+) \[\s*(\d+)/(\d+) .*?\(\s*[\d.]+s,\s*([\d.]+)/s\)")


def find_reference() -> Path | None:
    """timm's ``train.py``: ``$VT_TIMM_TRAIN``, else ``shared/reference/timm_train.py`` in, beside or
    above the checkout (a worktree sits one level deeper than the main checkout); None if absent."""
    env = os.environ.get("VT_TIMM_TRAIN")
    if env:
        return Path(env) if Path(env).is_file() else None
    for base in (ROOT, ROOT.parent, ROOT.parent.parent):
        path = base / "shared" / "reference" / "timm_train.py"
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class Recipe:
    """The flags both trainers get. timm's defaults that differ from ours are set explicitly
    (label smoothing 0, the warm-up LR), augmentation is off on both."""

    preset: str = "vit_cpu"
    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    min_lr: float = 1e-5
    warmup_epochs: int = 0
    warmup_lr: float = 1e-6
    sched_on: str = "epoch"  # timm's train.py default; "update" = its --sched-on-updates
    workers: int = 2
    device: str = "cpu"
    bf16: bool = False
    compile: bool = False
    cache: bool = True  # ours keeps decoded images (data.cache_mb); False: data.cache_mb=0, decoding every pass


@dataclass
class Outcome:
    """One trainer's run: wall seconds, training img/s (median over epochs after the first), and
    per epoch the train loss, val loss and val top-1."""

    who: str
    seed: int
    wall_s: float
    img_per_s: float
    train_loss: list[float]
    val_loss: list[float]
    val_top1: list[float]

    @property
    def top1(self) -> float:
        return self.val_top1[-1]


def ours_sets(r: Recipe, folder: Path, seed: int) -> list[str]:
    """The recipe as ``vt_core.train --set`` overrides."""
    return ["data.name=imagefolder", f"data.root={folder}", f"train.epochs={r.epochs}",
            f"train.batch_size={r.batch_size}", "train.opt=adamw", f"train.lr={r.lr}",
            f"train.weight_decay={r.weight_decay}", "train.sched=cosine", f"train.min_lr={r.min_lr}",
            f"train.warmup_epochs={r.warmup_epochs}", f"train.warmup_lr={r.warmup_lr}", f"train.sched_on={r.sched_on}",
            "train.label_smoothing=0", f"data.workers={r.workers}", f"train.seed={seed}", f"train.device={r.device}",
            f"train.amp={'bf16' if r.bf16 else 'fp32'}", f"train.compile={str(r.compile).lower()}",
            *([] if r.cache else ["data.cache_mb=0"])]


def ours_command(r: Recipe, folder: Path, out: Path, seed: int) -> list[str]:
    return [sys.executable, "-m", "vt_core.train", "--out", str(out), "--preset", r.preset, "--no-progress",
            "--set", *ours_sets(r, folder, seed)]


def timm_command(r: Recipe, folder: Path, out: Path, seed: int, reference: Path, num_classes: int) -> list[str]:
    args = ["train.py", "--data-dir", str(folder), "--model", f"vt_{r.preset}", "--num-classes", str(num_classes),
            "-b", str(r.batch_size), "--epochs", str(r.epochs), "--opt", "adamw", "--lr", str(r.lr),
            "--weight-decay", str(r.weight_decay), "--sched", "cosine", "--min-lr", str(r.min_lr),
            "--warmup-epochs", str(r.warmup_epochs), "--warmup-lr", str(r.warmup_lr), "--smoothing", "0",
            "--no-aug", "--workers", str(r.workers), "--seed", str(seed), "--device", r.device,
            "--output", str(out.parent), "--experiment", out.name, "--log-interval", "1000000",
            "--checkpoint-hist", "1"]
    if r.sched_on == "update":
        args.append("--sched-on-updates")
    if r.bf16:
        args += ["--amp", "--amp-dtype", "bfloat16"]
    if r.compile:
        args.append("--torchcompile")
    if r.device.startswith("cuda"):
        args.append("--pin-mem")
    code = f"import vt_core, runpy, sys; sys.argv = {args!r}; runpy.run_path({str(reference)!r}, run_name='__main__')"
    return [sys.executable, "-c", code]


def _run(cmd: list[str], log: Path, env: dict[str, str]) -> float:
    tick = time.perf_counter()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT).returncode
    wall = time.perf_counter() - tick
    if rc != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise TrainerFailed(f"{cmd[2] if cmd[1] == '-m' else 'timm train.py'} exited {rc}: {tail[0]} (log {log})")
    return wall


class TrainerFailed(RuntimeError):
    """One trainer's run ended with an error: its last line and its log, which is kept."""


def run_ours(r: Recipe, folder: Path, work: Path, seed: int, env: dict[str, str]) -> Outcome:
    out = work / f"ours-s{seed}-{time.time_ns()}"
    wall = _run(ours_command(r, folder, out, seed), out.with_suffix(".log"), env)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [row for row in rows if "val_top1" in row]
    result = json.loads((out / "result.json").read_text())
    return Outcome("ours", seed, wall, float(result["train_img_per_s"]), [row["train_loss"] for row in rows],
                   [row["val_loss"] for row in rows], [row["val_top1"] for row in rows])


def run_timm(r: Recipe, folder: Path, work: Path, seed: int, env: dict[str, str], reference: Path,
             num_classes: int = 10) -> Outcome:
    out = work / f"timm-s{seed}-{time.time_ns()}"
    log = out.with_suffix(".log")
    wall = _run(timm_command(r, folder, out, seed, reference, num_classes), log, env)
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    rates: dict[int, float] = {}  # the running average of the epoch's last logged step
    for m in _RATE.finditer(log.read_text(errors="replace")):
        rates[int(m.group(1))] = float(m.group(4))
    speeds = [v for k, v in sorted(rates.items())]
    speed = statistics.median(speeds[1:] or speeds) if speeds else float("nan")
    return Outcome("timm", seed, wall, speed, [float(x["train_loss"]) for x in rows],
                   [float(x["eval_loss"]) for x in rows], [float(x["eval_top1"]) for x in rows])


def child_env(threads: int | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _parse(argv: list[str] | None) -> Any:
    p = OneLineParser(prog="python -m vt_core.bench.trainer", description=__doc__.splitlines()[0])
    p.add_argument("--folder", help="the digits folder, reused across calls (written there if absent or empty; "
                                    "a folder holding anything else is refused; default: a temporary one)")
    p.add_argument("--small", action="store_true", help="2,000 / 500 images instead of 8,000 / 2,000")
    p.add_argument("--repeats", type=int, default=3, help="runs of each trainer, order alternating (≥ 1)")
    p.add_argument("--seed", type=int, default=1, help="the training seed of the first repeat (+1 each repeat)")
    p.add_argument("--threads", type=int, default=2, help="OMP_NUM_THREADS of both trainers (0: leave it)")
    for name, default in (("preset", "vit_cpu"), ("device", "cpu"), ("sched-on", "epoch")):
        p.add_argument(f"--{name}", default=default)
    for name, kind, default in (("epochs", int, 3), ("batch-size", int, 64), ("lr", float, 1e-3),
                                ("workers", int, 2)):
        p.add_argument(f"--{name}", type=kind, default=default)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast in both (GPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile in both")
    p.add_argument("--no-cache", action="store_true",
                   help="ours decodes every pass as timm does (data.cache_mb=0) instead of keeping decoded images")
    p.add_argument("--json", help="also write every run and the ratios to this JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = _parse(argv)
    reference = find_reference()
    try:
        if reference is None:
            raise ConfigError("timm's train.py not found: set VT_TIMM_TRAIN to its path "
                              "(or put it at shared/reference/timm_train.py beside the checkout)")
        if a.repeats < 1 or a.epochs < 1:
            raise ConfigError(f"--repeats {a.repeats} / --epochs {a.epochs}: both must be ≥ 1")
        if a.sched_on not in ("epoch", "update"):
            raise ConfigError(f"--sched-on: {a.sched_on!r} is not 'epoch' or 'update'")
        if a.threads < 0:
            raise ConfigError(f"--threads {a.threads}: give a number of threads, or 0 to leave OMP_NUM_THREADS")
        recipe = Recipe(preset=a.preset, epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, sched_on=a.sched_on,
                        workers=a.workers, device=a.device, bf16=a.bf16, compile=a.compile, cache=not a.no_cache)
        from ..train import build_config

        build_config(recipe.preset, None, ours_sets(recipe, Path(a.folder or "."), a.seed))  # the recipe's values
        _check_outputs(a)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    load = [os.getloadavg()[0]]
    print(f"load average at start {load[0]:.1f} on {os.cpu_count()} cores; OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY', 'unset')} (PASSIVE on a shared CPU: docs/benchmarks.md)", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="vt-bench-trainer-"))
    try:
        outcomes = _bench(a, recipe, reference, tmp)
    except TrainerFailed as e:  # the work folder, with the failed run's log, is kept
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ConfigError as e:  # --folder refused before any run
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"error: {e}", file=sys.stderr)
        return 2
    shutil.rmtree(tmp, ignore_errors=True)
    load.append(os.getloadavg()[0])
    print(f"load average at end {load[1]:.1f}")
    _report(outcomes, a, load)
    return 0


def _check_outputs(a: Any) -> None:
    """``--folder`` and ``--json`` can be written, before any run (not after minutes of them)."""
    if a.folder and os.path.exists(a.folder) and not os.path.isdir(a.folder):
        raise ConfigError(f"--folder {a.folder}: not a folder")
    if a.json:
        target = Path(a.json)
        if target.is_dir() or not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
            why = "a folder" if target.is_dir() else "its folder does not exist or is read-only"
            raise ConfigError(f"--json {a.json}: cannot be written ({why})")


def _bench(a: Any, recipe: Recipe, reference: Path, tmp: Path) -> list[Outcome]:
    from ..data.digits import write_digit_folder

    train_n, val_n = (200, 50) if a.small else (800, 200)
    folder = write_digit_folder(Path(a.folder) if a.folder else tmp / "digits", train_per_class=train_n,
                                val_per_class=val_n)
    env = child_env(a.threads)
    outcomes = []
    for i in range(a.repeats):
        seed = a.seed + i
        order = ("ours", "timm") if i % 2 == 0 else ("timm", "ours")
        for who in order:
            o = (run_ours(recipe, folder, tmp, seed, env) if who == "ours"
                 else run_timm(recipe, folder, tmp, seed, env, reference))
            print(f"repeat {i + 1} {who:4s} seed {seed}: wall {o.wall_s:6.1f} s  train {o.img_per_s:7.1f} img/s  "
                  f"top-1 {o.top1:5.1f}", flush=True)
            outcomes.append(o)
    return outcomes


def _report(outcomes: list[Outcome], a: Any, load: list[float]) -> None:
    med = {who: (statistics.median(o.wall_s for o in outcomes if o.who == who),
                 statistics.median(o.img_per_s for o in outcomes if o.who == who)) for who in ("ours", "timm")}
    wall_ratio, speed_ratio = med["ours"][0] / med["timm"][0], med["ours"][1] / med["timm"][1]
    for who in ("ours", "timm"):
        tops = ", ".join(f"{o.top1:.1f}" for o in outcomes if o.who == who)
        print(f"{who}: median wall {med[who][0]:.1f} s, median train {med[who][1]:.1f} img/s, top-1 {tops}")
    print(f"ratio ours/timm: wall {wall_ratio:.3f} (below 1: ours faster), train img/s {speed_ratio:.3f} "
          f"(above 1: ours faster)")
    # a repeat's two runs follow each other: their ratio is blind to the machine's drift between repeats
    by_seed = {(o.who, o.seed): o.wall_s for o in outcomes}
    pairs = [by_seed["ours", s] / by_seed["timm", s] for s in sorted({o.seed for o in outcomes})]
    print(f"per repeat, wall ours/timm: {', '.join(f'{r:.3f}' for r in pairs)}; median {statistics.median(pairs):.3f}")
    if a.json:
        Path(a.json).write_text(json.dumps({"runs": [o.__dict__ for o in outcomes], "wall_ratio": wall_ratio,
                                            "img_per_s_ratio": speed_ratio, "pair_wall_ratios": pairs,
                                            "args": vars(a), "load_average": load}, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
