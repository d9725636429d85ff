"""A run's config resolved against its data: what the run id hashes and what the launcher plans with."""

from __future__ import annotations

from .config import RunConfig


def resolve(cfg: RunConfig) -> RunConfig:
    """The fully resolved config, the one the run id hashes: ``model.num_classes`` follows the data.
    The data's name and paths are checked here, so a grid with a missing dataset stops at planning."""
    from .data import dataset_num_classes, validate_data

    validate_data(cfg.data)
    n = dataset_num_classes(cfg.data)
    return cfg if cfg.model.num_classes == n else cfg.replace({"model.num_classes": n})
