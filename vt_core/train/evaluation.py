"""Evaluation: loss, top-1 and top-5 over a split, summed over all ranks; and the same at other
input sizes (``train.eval_sizes``), where the model runs as built (absolute embeddings resampled,
relative tables resized, masks for the new maps)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ContextManager, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from . import distributed as D
from .batches import Batch

if TYPE_CHECKING:
    from .parts import RunParts


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[Batch], denv: D.DistEnv, device: torch.device,
             autocast: Callable[[], ContextManager]) -> dict[str, float]:
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


def evaluate_sizes(run: "RunParts") -> dict[str, dict[str, float]]:
    """``{"48": {"loss", "top1", "top5"}}`` for each of ``train.eval_sizes``: in-memory validation
    images are resized (bilinear, antialiased); other data is loaded again at that size."""
    from ..data import load_data

    cfg, bundle, device = run.cfg, run.bundle, run.device
    out = {}
    for size in cfg.train.eval_sizes:
        if bundle.tensors is not None:
            vx, vy = bundle.tensors[2], bundle.tensors[3]
            if vx.shape[-1] != size:
                vx = F.interpolate(vx.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            batches = run.batches.val(tensors=(vx.to(device), vy.to(device)))
        else:
            batches = run.batches.val(dataset=load_data(cfg.data, img_size=size, in_chans=cfg.model.in_chans).val)
        out[str(size)] = evaluate(run.net, batches, run.denv, device, run.recipe.autocast)
    return out
