"""``result.json`` as one type: what a run that ended reports, written by the trainer and read by the
launcher, the planner, the analysis and the report through ``RunResult`` alone.

The key lists the report builds its columns from (``FINAL_METRICS``, ``COSTS``) are the record's
own. ``RunResult.from_json`` is the one check of the file's JSON: an object whose status a trainer
writes and whose numbers are numbers (``null`` and NaN allowed: a diverged run has them); anything
else is a ``ResultError`` naming the key, which readers show as a corrupt result. Keys this
version does not know are kept in ``extra`` (and written back), so a newer trainer's files still
read. Torch-free: the report and the planner import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENDED_STATUSES = ("done", "diverged")  # what a trainer writes into result.json (run_folder.RunState's)
# final metrics (the report's columns, in this order) and costs; the model's costs survive divergence
FINAL_METRICS = ("top1", "top5", "loss", "train_loss", "best_top1", "best_top5", "best_epoch", "top1_ema", "epochs")
COSTS = ("params", "macs", "gmacs", "train_img_per_s", "peak_mem_mb", "wall_time_s")
MODEL_COSTS = ("params", "macs", "gmacs")
NOT_MEASUREMENTS = ("world_size", "diverged_at", "run_id")  # numbers in it that are not results


class ResultError(ValueError):
    """A result.json no trainer writes: one phrase naming the key (the reader adds the path)."""


@dataclass(frozen=True)
class RunResult:
    status: str  # "done" | "diverged"
    run_id: str = ""
    fingerprint: str | None = None  # every config field's hash: a relaunch under other defaults tells it apart
    epochs: int | None = None  # trained epochs (an evaluation-only run: 0)
    top1: float | None = None  # the last epoch's validation figures
    top5: float | None = None
    loss: float | None = None
    train_loss: float | None = None
    best_top1: float | None = None
    best_top5: float | None = None
    best_epoch: int | None = None
    top1_ema: float | None = None  # with train.ema
    diverged_at: Any = None  # {"epoch", "step", "global_step"} where the loss stopped being finite
    eval_sizes: dict[str, dict[str, float]] = field(default_factory=dict)  # "48" → {"top1", "top5", "loss"}
    params: float | None = None
    macs: float | None = None
    gmacs: float | None = None
    train_img_per_s: float | None = None
    peak_mem_mb: float | None = None
    peak_mem_kind: str | None = None  # "cuda_max_allocated" | "process_peak_rss"
    wall_time_s: float | None = None
    world_size: int = 1
    env: dict[str, Any] = field(default_factory=dict)  # versions, device, host, commit (vt_core.environment)
    normalisation: dict[str, Any] | None = None  # the mean / std / crop the data was normalised with
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as read

    @property
    def done(self) -> bool:
        return self.status == "done"

    def value(self, key: str) -> Any:
        """A field's value, or an ``extra`` key's (None where neither)."""
        return getattr(self, key) if key in _FIELDS else self.extra.get(key)

    def to_json(self) -> dict[str, Any]:
        """The JSON object, in the order the trainer has always written it; optional keys left out when unset."""
        out = {f: getattr(self, f) for f in _FIELDS}
        for key in _OPTIONAL:
            if out[key] in (None, {}):
                del out[key]
        return {**out, **self.extra}

    def dumps(self) -> str:
        def default(o: Any) -> Any:  # numpy scalars from the trainer's statistics
            return o.item() if hasattr(o, "item") else str(o)

        return json.dumps(self.to_json(), indent=2, default=default) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> RunResult:
        """The record of ``data`` (parsed JSON); ResultError naming the first key no trainer writes so."""
        if not isinstance(data, dict):
            raise ResultError(f"{_short(data)} is not a JSON object")
        status = data.get("status", "done")  # files older than the status key are finished runs
        if status not in ENDED_STATUSES:
            raise ResultError(f"status {str(status)[:40]!r} is not one a trainer writes")
        for key in (*FINAL_METRICS, *COSTS, "world_size"):
            if not _is_number(data.get(key)):
                raise ResultError(f"{key} = {_short(data[key])} is not a number")
        sizes = data.get("eval_sizes") or {}
        if not isinstance(sizes, dict) or not all(
                isinstance(v, dict) and all(_is_number(x) for x in v.values()) for v in sizes.values()):
            raise ResultError(f"eval_sizes = {_short(sizes)} is not an object of size → {{metric: number}}")
        for key in ("env", "normalisation"):
            if data.get(key) is not None and not isinstance(data[key], dict):
                raise ResultError(f"{key} = {_short(data[key])} is not an object")
        for key in ("run_id", "fingerprint", "peak_mem_kind"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ResultError(f"{key} = {_short(data[key])} is not a string")
        known = {k: data[k] for k in _FIELDS if k in data and data[k] is not None}
        known.update(status=status, eval_sizes=sizes, env=data.get("env") or {})
        return cls(**known, extra={k: v for k, v in data.items() if k not in _FIELDS})


def load_result(path: Path) -> RunResult:
    """``path``'s record. FileNotFoundError passes through (no result is not a bad one); any other
    reason it is not a result is a ResultError saying why: unreadable, not JSON, or the key."""
    from .files import JsonFileError, read_json

    try:
        data = read_json(path)
    except JsonFileError as e:
        raise ResultError(f"unreadable ({e})" if e.unreadable else "not valid JSON (truncated or corrupt)") from None
    return RunResult.from_json(data)


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "…"


_FIELDS = tuple(f.name for f in fields(RunResult) if f.name != "extra")  # in the order result.json has them
_OPTIONAL = ("fingerprint", "top1_ema", "diverged_at", "eval_sizes", "normalisation")
