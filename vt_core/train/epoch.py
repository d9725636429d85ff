"""One training epoch and its end: the steps from where the state stands to the end of the epoch
(stopping at a non-finite loss, or at a stop signal after saving a checkpoint), then evaluation,
the epoch row, and the checkpoint of the next epoch's start."""

from __future__ import annotations

import time
from typing import Any

import torch

from . import distributed as D
from .evaluation import evaluate
from .parts import RunParts
from .signals import StopFlag
from .state import Best, EpochTotals, TrainState


def train_epoch(run: RunParts, state: TrainState, stop: StopFlag) -> dict[str, int] | None:
    """Train ``state.epoch`` from ``state.step`` to its end; returns where the loss stopped being
    finite (``epoch``, ``step``, ``global_step``), or None. Raises RunInterrupted on a stop signal.

    The epoch's sums stay on the device and are read back only where they are needed (a logged
    step, a progress bar, the end, a stop), so a step waits for the GPU once (the finite-loss check),
    not twice. They add in float64 in the same order as on the host: a resumed run's sums are exact."""
    tc, denv = run.cfg.train, run.denv
    run.model.train()
    bar = run.log.progress_bar(state.epoch, steps=run.batches.steps_per_epoch, start_step=state.step)
    sums = _device_sums(state.totals, run.device)
    per_rank = torch.tensor([1.0, 1.0, 1.0, denv.world_size], dtype=torch.float64, device=run.device)
    tick = time.perf_counter()
    for x, y in run.batches.train(state.epoch, state.step):
        stats = train_step(run, state, x, y)
        if stats is None:
            _read_sums(state.totals, sums)
            if bar is not None:
                bar.close()
            return {"epoch": state.epoch, "step": state.step, "global_step": state.global_step}
        stats = stats.double() / per_rank  # each rank's grad norm was summed
        sums += stats
        state.step += 1
        if bar is not None:
            _read_sums(state.totals, sums)
            bar.update(1)
            bar.set_postfix(loss=f"{state.totals.loss / max(state.totals.n, 1):.3f}")
        if state.global_step % tc.log_every == 0:
            loss_sum, _, n, grad_norm = stats.tolist()
            run.log.step(epoch=state.epoch, global_step=state.global_step, train_loss=loss_sum / n,
                         lr=run.recipe.lr, grad_norm=grad_norm)
        if D.any_rank(stop.raised is not None, denv, run.device):
            _read_sums(state.totals, sums)
            state.totals.time += time.perf_counter() - tick
            run.save(state)
            raise stop.interrupted(f"epoch {state.epoch} step {state.step}")
    _read_sums(state.totals, sums)
    if bar is not None:
        bar.close()
    state.totals.time += time.perf_counter() - tick
    return None


def _device_sums(totals: EpochTotals, device: torch.device) -> torch.Tensor:
    return torch.tensor([totals.loss, totals.correct, totals.n, totals.grad_norm], dtype=torch.float64,
                        device=device)


def _read_sums(totals: EpochTotals, sums: torch.Tensor) -> None:
    totals.loss, totals.correct, totals.n, totals.grad_norm = sums.tolist()


def train_step(run: RunParts, state: TrainState, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """One optimizer update; returns [loss·n, correct, n, grad norm] summed over ranks, or None
    (nothing updated) when the loss is not finite on some rank."""
    tc, recipe = run.cfg.train, run.recipe
    if tc.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = y
    if recipe.mixup is not None:
        x, target = recipe.mixup(x, y)
    with recipe.autocast():
        logits = run.net(x)
        loss = recipe.criterion(logits.float(), target)
    if D.any_rank(not bool(torch.isfinite(loss)), run.denv, run.device):
        return None
    recipe.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = [p for p in run.model.parameters() if p.requires_grad]
    # the norm is logged either way; the gradients are rescaled only to clip (clip_grad_norm_ with an
    # infinite bound would multiply every gradient by 1 each step)
    grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
    if tc.clip_grad > 0:
        torch.nn.utils.clip_grads_with_norm_(params, tc.clip_grad, grad_norm)
    recipe.optimizer.step()
    state.global_step += 1
    recipe.scheduler.step_update(state.global_step)
    if recipe.ema is not None:
        recipe.ema.update(run.model, step=state.global_step)
    stats = torch.stack([loss.detach().float() * len(y), (logits.argmax(1) == y).sum().float(),
                         torch.full((), float(len(y)), device=run.device), grad_norm.detach().float()])
    return D.all_reduce_sum(stats, run.denv)


def end_epoch(run: RunParts, state: TrainState) -> dict[str, Any]:
    """Evaluate, log the epoch row, move the state to the next epoch and checkpoint it; returns the row."""
    totals, denv, autocast = state.totals, run.denv, run.recipe.autocast
    val = evaluate(run.net, run.batches.val(), denv, run.device, autocast)
    row = {
        "epoch": state.epoch + 1, "step": state.global_step,
        "train_loss": totals.loss / totals.n, "train_top1": 100.0 * totals.correct / totals.n,
        "val_loss": val["loss"], "val_top1": val["top1"], "val_top5": val["top5"],
        "lr": run.recipe.lr, "grad_norm": totals.grad_norm / run.batches.steps_per_epoch,
        "img_per_s": totals.n / max(totals.time, 1e-9),
    }
    if run.recipe.ema is not None:
        ema_val = evaluate(run.recipe.ema.module, run.batches.val(), denv, run.device, autocast)
        row.update(val_top1_ema=ema_val["top1"], val_loss_ema=ema_val["loss"])
    state.finish_epoch(row)
    run.recipe.scheduler.step(state.epoch)  # the next epoch's LR (train.sched_on=epoch; a no-op per update)
    run.log.epoch(row)
    run.save(state)
    return row


def evaluate_only(run: RunParts, state: TrainState) -> dict[str, Any]:
    """``train.epochs=0``: evaluate the initial weights (``train.init_from``'s, transferred) once; the
    row is epoch 0 of the history, and the run trains nothing."""
    val = evaluate(run.net, run.batches.val(), run.denv, run.device, run.recipe.autocast)
    row = {"epoch": 0, "step": 0, "val_loss": val["loss"], "val_top1": val["top1"], "val_top5": val["top5"]}
    state.history.append(row)
    state.best = Best(val["top1"], val["top5"], 0)
    run.log.epoch(row)
    return row
