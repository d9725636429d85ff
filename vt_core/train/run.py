"""One run: train, evaluate, checkpoint, resume, log; returns (and writes) the result dict.

    python -m vt_core.train --out runs/demo                       # CPU-sized ViT on the embedded probe
    python -m vt_core.train --out runs/swin --preset swin_cpu --set model.shift=false train.epochs=5

Rerunning the same command in the same folder resumes from ``checkpoint.pt``; a folder whose run
ended is not retrained. SIGTERM / SIGUSR2 (what Slurm sends before preemption) save a checkpoint at
the next step and exit with code 75 ("try again"); SIGKILL loses at most the work since the last
checkpoint.

The run, read from the top: ``train`` checks the folder and takes its lock; ``_train`` builds the
parts (``RunParts``: model, batches, recipe, log), restores the ``TrainState`` from the checkpoint,
then loops ``train_epoch`` / ``end_epoch`` (vt_core.train.epoch) and assembles the result (vt_core.train.result).
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

import torch

from .. import exit_codes
from ..cli import OneLineParser, add_set_argument, overrides_from
from ..config import RunConfig
from ..data.normalisation import line as normalisation_line
from ..model import VisionTransformer
from ..overrides import ConfigError
from ..presets import get_preset
from ..resolve import resolve
from ..run_folder import (
    CHECKPOINT,
    CODE_DIFF,
    CONFIG,
    ERROR,
    RESULT,
    TRANSFER,
    RunFolderError,
    RunLock,
    atomic_write_text,
    config_yaml,
    load_config,
    make_run_folder,
    read_result,
    remove,
    remove_temp_files,
)
from . import distributed as D
from .batches import Batches
from .epoch import end_epoch, evaluate_only, train_epoch
from .evaluation import evaluate
from .log import RunLog
from .parts import RunParts, select_device, wrap_for_training
from .recipe import build_recipe
from .result import build_result
from .rng import seed_data_draws, seed_everything
from .signals import RunInterrupted, StopFlag
from .state import TrainState, load_checkpoint

__all__ = ["Batches", "RunBusy", "RunInterrupted", "build_config", "evaluate", "main", "resolve", "train"]


class RunBusy(Exception):
    """Another process holds the run folder's lock."""


# ---------------------------------------------------------------------------------------- config
def build_config(preset: str | None = None, config: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    cfg = load_config(config) if config else RunConfig()
    if preset:
        cfg = RunConfig(model=get_preset(preset), data=cfg.data, train=cfg.train)
    return cfg.replace(overrides_from(list(overrides)))


# ---------------------------------------------------------------------------------------- the run
def train(cfg: RunConfig, out: str | Path, *, progress: bool | None = None,
          hparams_first: Sequence[str] = ()) -> dict[str, Any]:
    """Train one run into ``out`` (created), resuming from its checkpoint; returns result.json's dict.

    Raises ConfigError for a bad config or data (before anything is written) or a checkpoint that
    cannot be resumed from (CheckpointError), RunFolderError when the folder cannot be written,
    RunInterrupted when stopped by a signal (checkpoint written), RunBusy when another process holds
    the folder. A failure leaves error.txt where the folder still takes it. ``hparams_first``: the
    config keys TensorBoard's HParams table leads with (a grid's varying keys and the seeds).
    """
    from ..data import load_data

    if not str(out).strip():
        raise ConfigError("--out: empty; give the run folder (it is created)")
    out = Path(out)
    cfg = resolve(cfg)
    _check_folder_holds(out, cfg)
    ended = read_result(out)
    if ended is not None:
        return ended.to_json()
    denv = D.detect()
    device = select_device(cfg, denv)
    bundle = load_data(cfg.data, img_size=cfg.model.img_size, in_chans=cfg.model.in_chans)  # validates paths first
    if len(bundle.train) < cfg.train.batch_size:
        raise ConfigError(f"train.batch_size: {cfg.train.batch_size} is larger than the {len(bundle.train)} "
                          "training images")
    make_run_folder(out)
    lock = RunLock(out)
    if denv.is_main and not lock.acquire():
        raise RunBusy(f"{out}: another process is training this run (lock {out / '.lock'})")
    ended = read_result(out)  # a concurrent launch may have finished it while we waited for the lock
    if ended is not None:
        lock.release()
        return ended.to_json()
    try:
        if denv.is_main:
            remove_temp_files(out)  # of writes a kill interrupted; no other process writes here now
            atomic_write_text(out / CONFIG, config_yaml(cfg))
            _record_code(out)
        return _train(cfg, out, bundle, denv, device, progress, tuple(hparams_first))
    except (RunInterrupted, RunBusy, KeyboardInterrupt):
        raise
    except (ConfigError, RunFolderError) as e:  # their one line is the whole story
        if denv.is_main:
            _record_failure(out, f"{type(e).__name__}: {e}\n")
        raise
    except Exception:
        if denv.is_main:
            _record_failure(out, traceback.format_exc())
        raise
    finally:
        lock.release()
        D.shutdown(denv)


def _check_folder_holds(out: Path, cfg: RunConfig) -> None:
    """A folder already written holds this config's run, trained under these defaults."""
    if not (out / CONFIG).exists():
        return
    on_disk, run_id = load_config(out / CONFIG), cfg.run_id()
    if on_disk.fingerprint() == cfg.fingerprint():
        return
    if on_disk.run_id() == run_id or out.name == run_id:  # the same run id, other values: a default moved
        raise ConfigError(f"{out}: was trained under other defaults ({_first_difference(on_disk, cfg)}); "
                          "move the folder away to train it again under these")
    raise ConfigError(f"{out}: holds run {on_disk.run_id()}, not this config's run {run_id}; choose another --out")


def _first_difference(a: RunConfig, b: RunConfig) -> str:
    from ..overrides import to_dict

    da, db = to_dict(a), to_dict(b)
    diffs = [f"{s}.{k}: {da[s].get(k)!r} then, {db[s].get(k)!r} now" for s in db for k in db[s]
             if da[s].get(k) != db[s].get(k)]
    return "; ".join(diffs[:3]) + (" …" if len(diffs) > 3 else "")


def _initial_weights(cfg: RunConfig, out: Path, model: torch.nn.Module, denv: D.DistEnv) -> None:
    """``train.init_from``'s weights into the fresh model (every rank), the transfer report into
    ``transfer.json`` and one log line (rank 0)."""
    import json

    from ..weights.sources import load_into

    report = load_into(cfg.train.init_from, model)
    if denv.is_main:
        atomic_write_text(out / TRANSFER, json.dumps(report.to_json(), indent=1) + "\n")
        print(f"[{out.name}] {report.line()}", flush=True)


def _record_code(out: Path) -> None:
    """``code.diff``: the uncommitted changes of the checkout that (re)starts the run, when there are any."""
    from ..environment import git_diff

    diff = git_diff()
    if diff:
        atomic_write_text(out / CODE_DIFF, diff)


def _record_failure(out: Path, text: str) -> None:
    """error.txt, where the folder still takes it (a full or read-only disk may not: the error being
    raised says so, and a second traceback about error.txt would only bury it)."""
    try:
        atomic_write_text(out / ERROR, text)
    except RunFolderError:
        pass


def _train(cfg: RunConfig, out: Path, bundle: Any, denv: D.DistEnv, device: torch.device,
           progress: bool | None, hparams_first: tuple[str, ...]) -> dict[str, Any]:
    started = time.time()
    tc = cfg.train
    D.init(denv, device)
    seed_everything(tc.seed)
    if tc.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    model = VisionTransformer(cfg.model).to(device)
    if tc.init_from and not (out / CHECKPOINT).exists():  # a resume's checkpoint holds the weights already
        _initial_weights(cfg, out, model, denv)
    seed_data_draws(cfg.data.seed)
    if tc.channels_last:
        model = model.to(memory_format=torch.channels_last)
    batches = Batches(bundle, cfg, denv, device)
    recipe = build_recipe(cfg, model, steps_per_epoch=batches.steps_per_epoch, device=device)
    state = load_checkpoint(out / CHECKPOINT, model=model, recipe=recipe, device=device, run_id=cfg.run_id(),
                            steps_per_epoch=batches.steps_per_epoch)
    if state is None:
        state = TrainState()
    elif denv.is_main:  # the log of a requeued job says where it picked up
        print(f"[{out.name}] resumed from {CHECKPOINT}: epoch {state.epoch + 1}/{tc.total_epochs}, step {state.step} "
              f"(global step {state.global_step})", flush=True)
    net = wrap_for_training(model, tc, denv, device)
    if denv.is_main:  # the log says how the images were normalised (the same line as --dry-run's)
        print(f"[{out.name}] {normalisation_line(cfg)}", flush=True)
    if device.type == "cpu":  # the workers share the model's cores: decode what will be kept before the steps
        tick = time.perf_counter()
        decoded = batches.decode_kept(train=tc.epochs > 0)
        if decoded and denv.is_main:
            print(f"[{out.name}] decoded {decoded:,} images into memory in {time.perf_counter() - tick:.1f} s "
                  f"(data.cache_mb; later passes read them from there)", flush=True)
    log = RunLog(out, cfg, denv, global_step=state.global_step, progress=progress)
    if denv.is_main:
        remove(out / ERROR)  # a retried run that resumes is no longer failed
    run = RunParts(cfg, out, denv, device, model, net, bundle, batches, recipe, log, started)

    diverged: dict[str, int] | None = None
    if tc.epochs == 0 and not state.history:  # evaluation only: the initial (transferred) weights
        evaluate_only(run, state)
    with StopFlag() as stop:
        while state.epoch < tc.total_epochs and diverged is None:
            diverged = train_epoch(run, state, stop)
            if diverged is None:
                end_epoch(run, state)
    result = build_result(run, state, diverged)
    log.finish(cfg, result.status, hparams_first)
    if denv.is_main:
        atomic_write_text(out / RESULT, result.dumps())
    return result.to_json()


# ---------------------------------------------------------------------------------------- CLI
def dry_run(cfg: RunConfig) -> int:
    """``--dry-run``: the config as the run would resolve it (data checked, nothing read or written)."""
    cfg = resolve(cfg)
    print(config_yaml(cfg), end="")
    print(f"# run id {cfg.run_id()}\n# {normalisation_line(cfg)}")
    return exit_codes.OK


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m vt_core.train", description="Train one run into a run folder.")
    parser.add_argument("--out", required=True, help="the run folder (created; rerun to resume)")
    parser.add_argument("--preset", help="a model preset (see vt_core.list_presets()); default: a CPU-sized ViT")
    parser.add_argument("--config", help="a RunConfig YAML file (e.g. another run's config.yaml)")
    add_set_argument(parser, "dotted overrides, e.g. model.pos=rel (repeatable; every occurrence counts)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved config, its run id and normalisation; train and write nothing")
    parser.add_argument("--hparams-first", default="", metavar="KEY,KEY",
                        help="config keys TensorBoard's HParams table leads with (the launcher passes a grid's axes)")
    args = parser.parse_args(argv)
    try:
        cfg = build_config(args.preset, args.config, args.set)
        if args.dry_run:
            return dry_run(cfg)
        first = [k.strip() for k in args.hparams_first.split(",") if k.strip()]
        result = train(cfg, args.out, progress=False if args.no_progress else None, hparams_first=first)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except RunFolderError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.FAILED
    except RunBusy as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BUSY
    except RunInterrupted as e:
        print(f"interrupted: {e}; rerun the same command to resume", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return exit_codes.CTRL_C
    status = result.get("status")
    if status == "diverged":
        print(f"diverged at {result['diverged_at']}: see {Path(args.out) / RESULT}")
    else:
        print(f"{status}: top1 {result['top1']:.2f}  best {result['best_top1']:.2f}  ({Path(args.out) / RESULT})")
    return exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
