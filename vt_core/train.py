"""One run: train, evaluate, checkpoint, resume, log; returns (and writes) the result dict.

    python -m vt_core.train --out runs/demo                       # CPU-sized ViT on the embedded probe
    python -m vt_core.train --out runs/swin --preset swin_cpu --set model.shift=false train.epochs=5

Rerunning the same command in the same folder resumes from ``checkpoint.pt``; a finished folder is
not retrained. SIGTERM / SIGUSR2 (what Slurm sends before preemption) save a checkpoint at the next
step and exit with code 75 ("try again"); SIGKILL loses at most the work since the last checkpoint.
"""

from __future__ import annotations

import math
import os
import platform
import random
import resource
import signal
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import distributed as D
from . import exit_codes
from .config import RunConfig
from .model import VisionTransformer
from .cli import OneLineParser, add_set_argument, overrides_from
from .overrides import ConfigError
from .presets import get_preset
from .resolve import resolve
from .run_folder import (
    CHECKPOINT, CONFIG, ERROR, METRICS, RESULT, TB, MetricsLog, RunLock, atomic_torch_save, atomic_write_text,
    config_yaml, load_config, read_result,
)



class RunInterrupted(Exception):
    """The run was asked to stop (SIGTERM / SIGUSR2) and saved a checkpoint."""

    def __init__(self, message: str, signum: int | None = None, previous_handler: Any = None) -> None:
        super().__init__(message)
        self.signum, self.previous_handler = signum, previous_handler

    def forward_signal(self) -> bool:
        """Call the handler that was installed before the run's own (submitit's requeue handler)."""
        if self.signum is not None and callable(self.previous_handler):
            self.previous_handler(self.signum, None)
            return True
        return False


class RunBusy(Exception):
    """Another process holds the run folder's lock."""


# ---------------------------------------------------------------------------------------- config
def build_config(preset: str | None = None, config: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    cfg = load_config(config) if config else RunConfig()
    if preset:
        cfg = RunConfig(model=get_preset(preset), data=cfg.data, train=cfg.train)
    return cfg.replace(overrides_from(list(overrides)))


# ---------------------------------------------------------------------------------------- helpers
def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _device(cfg: RunConfig, denv: D.DistEnv) -> torch.device:
    want = cfg.train.device
    if want == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: 'cuda' asked for but no CUDA device is visible")
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", denv.local_rank)
    return torch.device("cpu")


def _environment(device: torch.device) -> dict[str, Any]:
    from .environment import describe, git_commit

    return {**describe(device), "host": platform.node(), "git_commit": git_commit()}


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # process peak RSS (Linux reports KiB)


def _flat_hparams(cfg: RunConfig) -> dict[str, Any]:
    from .overrides import to_dict

    flat: dict[str, Any] = {}
    for section, values in to_dict(cfg).items():
        for key, value in values.items():
            flat[f"{section}.{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat


class _StopFlag:
    """SIGTERM / SIGUSR2 set a flag that the loop checks between steps."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR2)

    def __init__(self) -> None:
        self.raised: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        for sig in self.SIGNALS:
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. the debug executor in a thread): no handler
                pass
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.raised = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------------------------------- batches
class Batches:
    """The epoch's batches in a seeded order, so a resumed epoch repeats exactly the same steps.

    In-memory data (probes, CIFAR without augmentation) is indexed directly from tensors, on the
    training device when ``data.on_device``; anything else goes through a DataLoader.
    """

    def __init__(self, bundle: Any, cfg: RunConfig, denv: D.DistEnv, device: torch.device) -> None:
        self.cfg, self.denv, self.device = cfg, denv, device
        self.train_set, self.val_set = bundle.train, bundle.val
        self.tensors = None
        if bundle.tensors is not None and not cfg.data.augment:
            where = device if cfg.data.on_device else torch.device("cpu")
            self.tensors = tuple(t.to(where) for t in bundle.tensors)
        self.n_train = len(self.train_set)
        if cfg.train.batch_size % denv.world_size:
            raise ConfigError(f"train.batch_size: {cfg.train.batch_size} does not split over {denv.world_size} processes")
        self.per_rank = cfg.train.batch_size // denv.world_size
        self.steps_per_epoch = self.n_train // cfg.train.batch_size
        if self.steps_per_epoch == 0:
            raise ConfigError(f"train.batch_size: {cfg.train.batch_size} is larger than the {self.n_train} training images")

    def train(self, epoch: int, start_step: int):
        g = torch.Generator().manual_seed(self.cfg.train.seed * 1_000_003 + epoch)
        order = torch.randperm(self.n_train, generator=g)
        b, world, rank = self.cfg.train.batch_size, self.denv.world_size, self.denv.rank
        batches = [order[s * b:(s + 1) * b][rank::world] for s in range(start_step, self.steps_per_epoch)]
        yield from self._fetch(batches, self.train_set, 0, train=True, epoch=epoch)

    def val(self, dataset: Any = None, tensors: tuple | None = None):
        dataset = dataset if dataset is not None else self.val_set
        n = len(dataset)
        b = self.cfg.train.batch_size
        idx = torch.arange(n)[self.denv.rank::self.denv.world_size]
        batches = [idx[s:s + b] for s in range(0, len(idx), b)]
        if tensors is not None:
            yield from ((tensors[0][i.to(tensors[0].device)], tensors[1][i.to(tensors[1].device)]) for i in batches)
            return
        yield from self._fetch(batches, dataset, 2, train=False, epoch=0)

    def _fetch(self, batches: list[torch.Tensor], dataset: Any, offset: int, *, train: bool, epoch: int):
        if self.tensors is not None:
            x, y = self.tensors[offset], self.tensors[offset + 1]
            for i in batches:
                i = i.to(x.device)
                yield x[i].to(self.device, non_blocking=True), y[i].to(self.device, non_blocking=True)
            return
        g = torch.Generator().manual_seed(self.cfg.train.seed * 7919 + epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=[i.tolist() for i in batches], num_workers=self.cfg.data.workers,
            pin_memory=self.device.type == "cuda", generator=g,
        )
        for x, y in loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)


# ---------------------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model: nn.Module, batches, denv: D.DistEnv, device: torch.device, autocast: Callable) -> dict[str, float]:
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss·n, top1, top5, n
    for x, y in batches:
        with autocast():
            logits = model(x)
        logits = logits.float()
        k = min(5, logits.shape[1])
        topk = logits.topk(k, dim=1).indices
        sums += torch.stack([
            F.cross_entropy(logits, y, reduction="sum").double(),
            (topk[:, 0] == y).sum().double(),
            (topk == y[:, None]).any(dim=1).sum().double(),
            torch.tensor(float(len(y)), dtype=torch.float64, device=device),
        ])
    D.all_reduce_sum(sums, denv)
    loss, top1, top5, n = sums.tolist()
    n = max(n, 1.0)
    return {"loss": loss / n, "top1": 100.0 * top1 / n, "top5": 100.0 * top5 / n}


# ---------------------------------------------------------------------------------------- the run
def train(cfg: RunConfig, out: str | Path, *, progress: bool | None = None) -> dict[str, Any]:
    """Train one run into ``out`` (created), resuming from its checkpoint; returns result.json's dict.

    Raises ConfigError for a bad config or data (before anything is written), RunInterrupted when
    stopped by a signal (checkpoint written), RunBusy when another process holds the folder.
    """
    from .data import build_mixup, load_data

    out = Path(out)
    cfg = resolve(cfg)
    run_id = cfg.run_id()
    if (out / CONFIG).exists():
        on_disk = load_config(out / CONFIG)
        if on_disk.run_id() != run_id:
            raise ConfigError(f"{out}: holds run {on_disk.run_id()}, not this config's run {run_id}; choose another --out")
    done = read_result(out)
    if done is not None:
        return done
    denv = D.detect()
    device = _device(cfg, denv)
    bundle = load_data(cfg.data, img_size=cfg.model.img_size, in_chans=cfg.model.in_chans)  # validates paths first
    if len(bundle.train) < cfg.train.batch_size:
        raise ConfigError(f"train.batch_size: {cfg.train.batch_size} is larger than the {len(bundle.train)} training images")
    out.mkdir(parents=True, exist_ok=True)
    lock = RunLock(out)
    if denv.is_main and not lock.acquire():
        raise RunBusy(f"{out}: another process is training this run (lock {out / '.lock'})")
    try:
        if denv.is_main:
            atomic_write_text(out / CONFIG, config_yaml(cfg))
        return _train(cfg, out, bundle, denv, device, progress, build_mixup)
    except (RunInterrupted, RunBusy, KeyboardInterrupt):
        raise
    except Exception:
        if denv.is_main:
            atomic_write_text(out / ERROR, traceback.format_exc())
        raise
    finally:
        lock.release()
        D.shutdown(denv)


def _train(cfg: RunConfig, out: Path, bundle: Any, denv: D.DistEnv, device: torch.device,
           progress: bool | None, build_mixup: Callable) -> dict[str, Any]:
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2
    from timm.utils import ModelEmaV3

    t0 = time.time()
    tc = cfg.train
    D.init(denv, device)
    _seed_everything(tc.seed)
    if tc.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    use_bf16 = tc.amp == "bf16" or (tc.amp == "auto" and device.type == "cuda")
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_bf16 else nullcontext

    model = VisionTransformer(cfg.model).to(device)
    if tc.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = create_optimizer_v2(model, opt=tc.opt, lr=tc.lr, weight_decay=tc.weight_decay)
    batches = Batches(bundle, cfg, denv, device)
    steps = batches.steps_per_epoch
    scheduler, _ = create_scheduler_v2(
        optimizer, sched=tc.sched, num_epochs=tc.epochs, warmup_epochs=tc.warmup_epochs, warmup_lr=tc.warmup_lr,
        min_lr=tc.min_lr, step_on_epochs=False, updates_per_epoch=steps,
    )
    ema = ModelEmaV3(model, decay=tc.ema_decay) if tc.ema else None
    mixup = build_mixup(cfg.data, cfg.model.num_classes, tc.label_smoothing)
    if mixup is not None:
        from timm.loss import SoftTargetCrossEntropy

        criterion: nn.Module = SoftTargetCrossEntropy()
    else:
        criterion = nn.CrossEntropyLoss(label_smoothing=tc.label_smoothing)

    # ---- resume
    start_epoch, start_step, global_step = 0, 0, 0
    acc = {"loss": 0.0, "correct": 0.0, "n": 0.0, "time": 0.0, "grad_norm": 0.0}
    best = {"top1": -1.0, "top5": 0.0, "epoch": -1}
    history: list[dict[str, Any]] = []
    ckpt_path = out / CHECKPOINT
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ema is not None and ckpt.get("ema") is not None:
            ema.load_state_dict(ckpt["ema"])
        start_epoch, start_step, global_step = ckpt["epoch"], ckpt["step"], ckpt["global_step"]
        acc, best, history = ckpt["acc"], ckpt["best"], ckpt["history"]
        _set_rng_state(ckpt["rng"])
        if denv.is_main:  # the log of a requeued job says where it picked up
            print(f"[{out.name}] resumed from {CHECKPOINT}: epoch {start_epoch + 1}/{tc.epochs}, step {start_step} "
                  f"(global step {global_step})", flush=True)
    net: nn.Module = model
    if tc.compile:
        # static shapes: a new input size (eval_sizes, a last short batch) recompiles in seconds, while
        # dynamic H×W through padded, shifted windows takes sympy minutes (swin_cpu 32→48: ~9 min)
        net = torch.compile(model, dynamic=False)
    if denv.enabled:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    writer = metrics = None
    if denv.is_main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out / TB), purge_step=global_step if global_step else None)
        metrics = MetricsLog(out / METRICS)
        metrics.truncate_after(global_step)
        (out / ERROR).unlink(missing_ok=True)

    def save(epoch: int, step: int) -> None:
        if not denv.is_main:
            return
        atomic_torch_save({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "ema": ema.state_dict() if ema is not None else None, "epoch": epoch, "step": step,
            "global_step": global_step, "acc": acc, "best": best, "history": history, "rng": _rng_state(),
            "run_id": cfg.run_id(),
        }, ckpt_path)

    show = denv.is_main and (sys.stderr.isatty() if progress is None else progress)
    diverged: dict[str, int] | None = None
    params = [p for p in model.parameters() if p.requires_grad]
    with _StopFlag() as stop:
        for epoch in range(start_epoch, tc.epochs):
            model.train()
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}/{tc.epochs}", leave=False)
            tick = time.perf_counter()
            for step, (x, y) in enumerate(batches.train(epoch, start_step), start=start_step):
                if tc.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                target = y
                if mixup is not None:
                    x, target = mixup(x, y)
                with autocast():
                    logits = net(x)
                    loss = criterion(logits.float(), target)
                if D.any_rank(not bool(torch.isfinite(loss)), denv, device):
                    diverged = {"epoch": epoch, "step": step, "global_step": global_step}
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(params, tc.clip_grad if tc.clip_grad > 0 else math.inf)
                optimizer.step()
                global_step += 1
                scheduler.step_update(global_step)
                if ema is not None:
                    ema.update(model, step=global_step)
                stats = torch.stack([loss.detach().float() * len(y), (logits.argmax(1) == y).sum().float(),
                                     torch.tensor(float(len(y)), device=device), grad_norm.detach().float()])
                D.all_reduce_sum(stats, denv)
                acc["loss"] += stats[0].item()
                acc["correct"] += stats[1].item()
                acc["n"] += stats[2].item()
                acc["grad_norm"] += stats[3].item() / denv.world_size
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{acc['loss'] / max(acc['n'], 1):.3f}")
                if writer is not None and global_step % tc.log_every == 0:
                    lr = optimizer.param_groups[0]["lr"]
                    writer.add_scalar("train/loss_step", stats[0].item() / stats[2].item(), global_step)
                    writer.add_scalar("train/lr", lr, global_step)
                    writer.add_scalar("train/grad_norm", stats[3].item() / denv.world_size, global_step)
                    metrics.append({"epoch": epoch, "step": global_step, "train_loss": stats[0].item() / stats[2].item(),
                                    "lr": lr, "grad_norm": stats[3].item() / denv.world_size})
                if D.any_rank(stop.raised is not None, denv, device):
                    acc["time"] += time.perf_counter() - tick
                    save(epoch, step + 1)
                    signum = stop.raised
                    raise RunInterrupted(f"stopped by signal at epoch {epoch} step {step + 1}; checkpoint saved",
                                         signum, stop.previous.get(signum) if signum is not None else None)
            if bar is not None:
                bar.close()
            if diverged is not None:
                break
            acc["time"] += time.perf_counter() - tick
            val = evaluate(net, batches.val(), denv, device, autocast)
            row = {
                "epoch": epoch + 1, "step": global_step,
                "train_loss": acc["loss"] / acc["n"], "train_top1": 100.0 * acc["correct"] / acc["n"],
                "val_loss": val["loss"], "val_top1": val["top1"], "val_top5": val["top5"],
                "lr": optimizer.param_groups[0]["lr"], "grad_norm": acc["grad_norm"] / steps,
                "img_per_s": acc["n"] / max(acc["time"], 1e-9),
            }
            if ema is not None:
                ema_val = evaluate(ema.module, batches.val(), denv, device, autocast)
                row.update(val_top1_ema=ema_val["top1"], val_loss_ema=ema_val["loss"])
            history.append(row)
            if val["top1"] > best["top1"]:
                best = {"top1": val["top1"], "top5": val["top5"], "epoch": epoch + 1}
            if writer is not None:
                for key, tag in (("train_loss", "train/loss"), ("train_top1", "train/top1"), ("val_loss", "val/loss"),
                                 ("val_top1", "val/top1"), ("val_top5", "val/top5"), ("img_per_s", "train/img_per_s"),
                                 ("grad_norm", "train/grad_norm_epoch"), ("val_top1_ema", "val/top1_ema")):
                    if key in row:
                        writer.add_scalar(tag, row[key], global_step)
                metrics.append(row)
                writer.flush()
            if not show and denv.is_main:  # log files get one line per epoch instead of a bar
                print(f"[{out.name}] epoch {epoch + 1}/{tc.epochs} train_loss {row['train_loss']:.4f} "
                      f"val_top1 {row['val_top1']:.2f} ({row['img_per_s']:.0f} img/s)", flush=True)
            acc = {"loss": 0.0, "correct": 0.0, "n": 0.0, "time": 0.0, "grad_norm": 0.0}
            start_step = 0
            save(epoch + 1, 0)

    result = _result(cfg, out, model, net, batches, bundle, denv, device, autocast, history, best, diverged, t0)
    if writer is not None:
        _write_hparams(writer, cfg, result)
        writer.close()
        atomic_write_text(out / RESULT, _json(result))
    return result


def _result(cfg, out, model, net, batches, bundle, denv, device, autocast, history, best, diverged, t0) -> dict[str, Any]:
    from .measure import measure

    final = history[-1] if history else {}
    result: dict[str, Any] = {
        "status": "diverged" if diverged else "done",
        "run_id": cfg.run_id(),
        "epochs": len(history),
        "top1": final.get("val_top1"), "top5": final.get("val_top5"), "loss": final.get("val_loss"),
        "train_loss": final.get("train_loss"),
        "best_top1": best["top1"] if best["epoch"] >= 0 else None,
        "best_top5": best["top5"] if best["epoch"] >= 0 else None,
        "best_epoch": best["epoch"] if best["epoch"] >= 0 else None,
    }
    if "val_top1_ema" in final:
        result["top1_ema"] = final["val_top1_ema"]
    if diverged:
        result["diverged_at"] = diverged
    if not diverged and cfg.train.eval_sizes:
        result["eval_sizes"] = _eval_sizes(cfg, net, batches, bundle, denv, device, autocast)
    cost = measure(cfg.model)
    speeds = [h["img_per_s"] for h in history[1:] or history]
    result.update(
        params=cost["params"], macs=cost["macs"], gmacs=cost["macs"] / 1e9,
        train_img_per_s=float(np.median(speeds)) if speeds else None,
        peak_mem_mb=_peak_memory_mb(device), wall_time_s=time.time() - t0,
        world_size=denv.world_size, env=_environment(device),
    )
    return result


def _eval_sizes(cfg, net, batches, bundle, denv, device, autocast) -> dict[str, dict[str, float]]:
    """Top-1/top-5/loss at other input sizes: the model runs there as built (abs embeddings resampled,
    relative tables resized, masks for the new maps)."""
    from .data import load_data

    out = {}
    for size in cfg.train.eval_sizes:
        if bundle.tensors is not None:
            vx, vy = bundle.tensors[2], bundle.tensors[3]
            if vx.shape[-1] != size:
                vx = F.interpolate(vx.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            out[str(size)] = evaluate(net, batches.val(tensors=(vx.to(device), vy.to(device))), denv, device, autocast)
        else:
            other = load_data(cfg.data, img_size=size, in_chans=cfg.model.in_chans)
            out[str(size)] = evaluate(net, batches.val(dataset=other.val), denv, device, autocast)
    return out


def _write_hparams(writer: Any, cfg: RunConfig, result: dict[str, Any]) -> None:
    """An HParams entry in the run's own event file, its metrics the scalars already logged there."""
    from torch.utils.tensorboard.summary import hparams

    metric_tags = {"val/top1": result.get("top1") or 0.0, "val/top5": result.get("top5") or 0.0,
                   "val/loss": result.get("loss") or 0.0}
    exp, ssi, sei = hparams(_flat_hparams(cfg), metric_tags)
    fw = writer._get_file_writer()
    for summary in (exp, ssi, sei):
        fw.add_summary(summary)


def _json(obj: Any) -> str:
    import json

    def default(o: Any) -> Any:
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        return str(o)

    return json.dumps(obj, indent=2, default=default) + "\n"


# ---------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m vt_core.train", description="Train one run into a run folder.")
    parser.add_argument("--out", required=True, help="the run folder (created; rerun to resume)")
    parser.add_argument("--preset", help="a model preset (see vt_core.list_presets()); default: a CPU-sized ViT")
    parser.add_argument("--config", help="a RunConfig YAML file (e.g. another run's config.yaml)")
    add_set_argument(parser, "dotted overrides, e.g. model.pos=rel (repeatable; every occurrence counts)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    args = parser.parse_args(argv)
    try:
        cfg = build_config(args.preset, args.config, args.set)
        result = train(cfg, args.out, progress=False if args.no_progress else None)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
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
