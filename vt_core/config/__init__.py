"""Configs as frozen dataclasses; every cross-field rule is checked here, once, when a config is
built (``__post_init__``): ``ModelConfig`` (model_config.py), ``DataConfig``, ``TrainConfig`` and
``RunConfig`` (run_config.py). Nothing here imports torch or timm at module level."""

from ..overrides import ConfigError
from .model_config import CONV_INITS, GN_FILTERS, ModelConfig, model_config_from
from .run_config import DATASET_KINDS, INTERPOLATIONS, SCHEDULES, DataConfig, RunConfig, TrainConfig

__all__ = ["CONV_INITS", "ConfigError", "DATASET_KINDS", "DataConfig", "GN_FILTERS", "INTERPOLATIONS", "ModelConfig",
           "RunConfig", "SCHEDULES", "TrainConfig", "model_config_from"]
