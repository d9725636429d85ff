"""What rank 0 logs while a run trains: TensorBoard scalars, ``metrics.jsonl`` rows, a progress bar
on a terminal or one line per epoch in a log file, and at the end an HParams entry in the same
TensorBoard event file. On other ranks every method does nothing."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..config import RunConfig
from ..run_folder import METRICS, MetricsLog, tb_folder, write_error
from . import distributed as D

# epoch row key → TensorBoard tag (a key absent from the row, e.g. without EMA, is not logged)
EPOCH_TAGS = (("train_loss", "train/loss"), ("train_top1", "train/top1"), ("val_loss", "val/loss"),
              ("val_top1", "val/top1"), ("val_top5", "val/top5"), ("img_per_s", "train/img_per_s"),
              ("grad_norm", "train/grad_norm_epoch"), ("val_top1_ema", "val/top1_ema"))


class RunLog:
    def __init__(self, out: Path, cfg: RunConfig, denv: D.DistEnv, *, global_step: int,
                 progress: bool | None) -> None:
        self.name, self.epochs, self.tb = out.name, cfg.train.total_epochs, tb_folder(out)
        self.writer: Any = None
        self.metrics: MetricsLog | None = None
        self.show = denv.is_main and (sys.stderr.isatty() if progress is None else progress)
        if denv.is_main:
            from torch.utils.tensorboard import SummaryWriter

            # a resumed run drops the events (and metric rows) past its checkpoint, so none repeat
            with self._tb_writes():
                self.writer = SummaryWriter(str(self.tb), purge_step=global_step if global_step else None)
            self.metrics = MetricsLog(out / METRICS)
            self.metrics.truncate_after(global_step)

    @contextmanager
    def _tb_writes(self) -> Iterator[None]:
        """TensorBoard writes from a thread and raises its OSError at a later call: name the folder."""
        try:
            yield
        except OSError as e:
            raise write_error(self.tb, e) from None

    def progress_bar(self, epoch: int, *, steps: int, start_step: int) -> Any:
        """A tqdm bar for the epoch on a terminal, else None."""
        if not self.show:
            return None
        from tqdm import tqdm

        return tqdm(total=steps, initial=start_step, desc=f"epoch {epoch + 1}/{self.epochs}", leave=False)

    def step(self, *, epoch: int, global_step: int, train_loss: float, lr: float, grad_norm: float) -> None:
        if self.writer is None:
            return
        with self._tb_writes():
            self.writer.add_scalar("train/loss_step", train_loss, global_step)
            self.writer.add_scalar("train/lr", lr, global_step)
            self.writer.add_scalar("train/grad_norm", grad_norm, global_step)
        self.metrics.append({"epoch": epoch, "step": global_step, "train_loss": train_loss, "lr": lr,
                             "grad_norm": grad_norm})

    def epoch(self, row: dict[str, Any]) -> None:
        """The epoch row (``epoch`` counted from 1, ``step`` the global step) everywhere it goes."""
        if self.writer is None:
            return
        with self._tb_writes():
            for key, tag in EPOCH_TAGS:
                if key in row:
                    self.writer.add_scalar(tag, row[key], row["step"])
        self.metrics.append(row)
        with self._tb_writes():
            self.writer.flush()
        if not self.show and "train_loss" not in row:  # evaluation only (train.epochs=0)
            print(f"[{self.name}] evaluated without training: val_top1 {row['val_top1']:.2f} "
                  f"val_loss {row['val_loss']:.4f}", flush=True)
        elif not self.show:  # log files get one line per epoch instead of a bar
            print(f"[{self.name}] epoch {row['epoch']}/{self.epochs} train_loss {row['train_loss']:.4f} "
                  f"val_top1 {row['val_top1']:.2f} ({row['img_per_s']:.0f} img/s)", flush=True)

    def finish(self, cfg: RunConfig, status: str, first: Sequence[str] = ()) -> None:
        """The HParams entry in the run's own event file, its metrics the scalars already logged there;
        its columns lead with ``first`` (a grid's varying keys and the seeds)."""
        if self.writer is None:
            return
        with self._tb_writes():
            file_writer = self.writer._get_file_writer()
            for summary in hparams_summaries(cfg, first, ended=status):
                file_writer.add_summary(summary)
            self.writer.flush()  # raises a failed write here, before close() would wait on a dead thread
            self.writer.close()


METRIC_TAGS = ("val/top1", "val/top5", "val/loss")


def hparams_summaries(cfg: RunConfig, first: Sequence[str] = (), ended: str = "done") -> list[Any]:
    """TensorBoard's own HParams summaries (``tensorboard.plugins.hparams.summary_v2``, which keeps
    booleans boolean; torch's ``hparams`` writes them as numbers): the experiment's columns in order
    (``first``, then every other config field) and this run's values."""
    import time

    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp

    values = flat_hparams(cfg)
    order = [k for k in first if k in values] + [k for k in values if k not in first]
    experiment = hp.hparams_config_pb(hparams=[hp.HParam(k) for k in order],
                                      metrics=[hp.Metric(tag) for tag in METRIC_TAGS])
    status = api_pb2.STATUS_SUCCESS if ended == "done" else api_pb2.STATUS_FAILURE  # diverged
    end = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time()))
    end_pb = summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=metadata.SESSION_END_INFO_TAG, metadata=metadata.create_summary_metadata(end))])
    return [experiment, hp.hparams_pb({k: values[k] for k in order}), end_pb]


def flat_hparams(cfg: RunConfig) -> dict[str, Any]:
    """``{"model.pos": "abs", ...}``: every config field, as HParams takes it (lists as strings)."""
    from ..overrides import to_dict

    flat: dict[str, Any] = {}
    for section, values in to_dict(cfg).items():
        for key, value in values.items():
            flat[f"{section}.{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat
