"""The training recipe built for one model: timm's optimizer and scheduler (stepped per update or per
epoch, ``train.sched_on``), EMA, the loss
(soft-target cross-entropy under Mixup / CutMix, else cross-entropy with label smoothing) and the
autocast context (bf16 on CUDA with ``train.amp=auto``; no GradScaler: bf16 needs none)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

import torch
from torch import nn

from ..config import RunConfig, TrainConfig


@dataclass
class Recipe:
    optimizer: torch.optim.Optimizer
    scheduler: Any  # a timm Scheduler: ``step_update`` after each update, ``step`` after each epoch (one is a no-op)
    ema: Any  # timm.utils.ModelEmaV3, or None without ``train.ema``
    mixup: Callable | None  # timm's Mixup (images, labels) → (mixed images, soft targets), or None
    criterion: nn.Module
    autocast: Callable[[], ContextManager]

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]


def build_optimizer_and_scheduler(model: nn.Module, tc: TrainConfig, steps_per_epoch: int) -> tuple[Any, Any]:
    """timm's ``create_optimizer_v2`` (no weight decay on norms, biases, embeddings and bias tables;
    layer-wise LR decay with ``train.layer_decay``) and ``create_scheduler_v2`` with timm's meaning of
    warm-up, cooldown and min lr, its time counted in updates or in epochs (``train.sched_on``)."""
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2

    # layer_decay: timm groups the parameters by the model's group_matcher (stem first, head last)
    optimizer = create_optimizer_v2(model, opt=tc.opt, lr=tc.lr, weight_decay=tc.weight_decay,
                                    layer_decay=tc.layer_decay or None)
    scheduler, _ = create_scheduler_v2(  # an evaluation-only run (epochs 0) never steps it
        optimizer, sched=tc.sched, num_epochs=max(tc.epochs, 1), warmup_epochs=tc.warmup_epochs if tc.epochs else 0,
        warmup_lr=tc.warmup_lr, min_lr=tc.min_lr, cooldown_epochs=tc.cooldown_epochs,
        step_on_epochs=tc.sched_on == "epoch", updates_per_epoch=steps_per_epoch,
    )
    return optimizer, scheduler


def build_loss(cfg: RunConfig) -> tuple[Callable | None, nn.Module]:
    """(mixup or None, criterion): Mixup / CutMix give soft targets, which need their own loss."""
    from ..data import build_mixup

    tc = cfg.train
    mixup = build_mixup(cfg.data, cfg.model.num_classes, tc.label_smoothing)
    if mixup is not None:
        from timm.loss import SoftTargetCrossEntropy

        return mixup, SoftTargetCrossEntropy()
    return None, nn.CrossEntropyLoss(label_smoothing=tc.label_smoothing)


def autocast_for(tc: TrainConfig, device: torch.device) -> Callable[[], ContextManager]:
    use_bf16 = tc.amp == "bf16" or (tc.amp == "auto" and device.type == "cuda")
    return (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if use_bf16 else nullcontext


def build_recipe(cfg: RunConfig, model: nn.Module, *, steps_per_epoch: int, device: torch.device) -> Recipe:
    from timm.utils import ModelEmaV3

    tc = cfg.train
    optimizer, scheduler = build_optimizer_and_scheduler(model, tc, steps_per_epoch)
    ema = ModelEmaV3(model, decay=tc.ema_decay) if tc.ema else None
    mixup, criterion = build_loss(cfg)
    return Recipe(optimizer, scheduler, ema, mixup, criterion, autocast_for(tc, device))
