"""A run folder's final weights and the fixed, seeded validation images an analysis measures on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from ..config import DataConfig, RunConfig
from ..model import VisionTransformer
from ..overrides import ConfigError
from ..run_folder import CHECKPOINT, CONFIG, load_config, read_result, run_state
from ..run_result import RunResult
from ..train.state import CheckpointError, _read


def run_config(run_dir: Path, what: str = "RUN_FOLDER") -> tuple[RunConfig, RunResult]:
    """The run's config and result; a ConfigError unless the folder holds a run that ended "done"."""
    if not run_dir.is_dir():
        raise ConfigError(f"{what}: {run_dir} is not a folder; give a run folder (it holds {CONFIG})")
    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"{what}: {run_dir} has no {CONFIG}; give a run folder written by vt_core.train")
    cfg = load_config(run_dir / CONFIG)
    result = read_result(run_dir)
    state = run_state(run_dir)
    if result is None or state != "done":
        raise ConfigError(f"{what}: {run_dir} is {state}, not done; analyse a run that ended (train it to the end "
                          "with the same command)")
    return cfg, result


def final_model(run_dir: Path, cfg: RunConfig, device: torch.device) -> VisionTransformer:
    """The model with the run's final weights: ``checkpoint.pt``'s, or for an evaluation-only run
    (``train.epochs=0``, no checkpoint) the ``train.init_from`` weights it evaluated."""
    with torch.random.fork_rng(devices=[]):  # the initialisation is overwritten; leave the caller's RNG alone
        model = VisionTransformer(cfg.model)
    path = run_dir / CHECKPOINT
    if path.exists():
        ckpt = _read(path, torch.device("cpu"))
        try:
            model.load_state_dict(ckpt["model"])
        except (KeyError, TypeError, RuntimeError) as e:
            raise CheckpointError(path, f"does not hold this run's model ({type(e).__name__})") from None
    elif cfg.train.epochs == 0 and cfg.train.init_from:
        from ..weights.sources import load_into

        load_into(cfg.train.init_from, model)
    else:
        raise ConfigError(f"RUN_FOLDER: {run_dir} has no {CHECKPOINT} and is not an evaluation-only run; "
                          "its final weights are gone, train it again")
    return model.to(device).eval()


def validation_images(cfg: RunConfig, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """n validation images (all of them when fewer) drawn without replacement by ``seed``, in index
    order: (images, labels, indices). The tensors are shared between calls: never modify them."""
    return _draw(cfg.data, cfg.model.img_size, cfg.model.in_chans, n, seed)


@lru_cache(maxsize=2)  # a grid's runs (and a run and its baseline) share their data: load it once per process
def _draw(data: DataConfig, img_size: int, in_chans: int, n: int, seed: int):
    from ..data import load_data
    from ..data.pixels import PixelNormalise

    bundle = load_data(data, img_size=img_size, in_chans=in_chans)
    val = bundle.val
    order = torch.randperm(len(val), generator=torch.Generator().manual_seed(seed))[:n].sort().values.tolist()
    pairs = [val[i] for i in order]
    images = PixelNormalise(bundle.mean, bundle.std)(torch.stack([torch.as_tensor(p[0]) for p in pairs])).float()
    labels = torch.tensor([int(p[1]) for p in pairs])
    return images, labels, order
