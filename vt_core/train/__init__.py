"""One run: ``train(cfg, out)`` trains, evaluates, checkpoints, resumes and logs a RunConfig into a
run folder; ``python -m vt_core.train`` is its command line (docs/runs.md).

The loop's parts, one module each: ``run`` (the run from start to result), ``parts`` (model, data
and device), ``batches`` (the loaders), ``recipe`` (optimizer, schedule, loss, EMA, mixup),
``epoch`` (one epoch and its end), ``evaluation``, ``state`` (checkpoints), ``log`` (metrics.jsonl
and TensorBoard), ``result`` (result.json), ``rng``, ``signals``, ``distributed``.
"""

from .batches import Batches
from .run import RunBusy, build_config, main, train
from .signals import RunInterrupted

__all__ = ["Batches", "RunBusy", "RunInterrupted", "build_config", "main", "train"]
