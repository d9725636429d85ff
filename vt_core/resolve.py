"""A run's config resolved against its data: what the run id hashes and what the launcher plans with."""

from __future__ import annotations

from .config import RunConfig


def resolve(cfg: RunConfig) -> RunConfig:
    """The fully resolved config, the one the run id hashes: ``model.num_classes`` follows the data, and
    image files without known statistics take the model's normalisation (vt_core.data.normalisation).
    The data's name and paths, and the initial weights (``train.init_from``: readable, and fitting
    the model), are checked here, so a grid with a missing dataset or checkpoint stops at planning."""
    from .data import dataset_num_classes, validate_data
    from .data.normalisation import resolve_normalisation

    validate_data(cfg.data)
    n = dataset_num_classes(cfg.data)
    cfg = cfg if cfg.model.num_classes == n else cfg.replace({"model.num_classes": n})
    if cfg.train.init_from:  # the weights must fit this variant: checked from shapes, before anything runs
        from .weights.sources import check

        check(cfg.train.init_from, cfg.model)
    return resolve_normalisation(cfg)
