"""The rest of a run's config: ``DataConfig`` (which images), ``TrainConfig`` (the recipe) and
``RunConfig`` (model, data and recipe together: what a run id hashes)."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..overrides import ConfigError, with_overrides
from .checks import check_finite, check_seed, choice_key
from .model_config import ModelConfig

DATASET_KINDS = ("imagefolder", "cifar10", "cifar100")  # plus the probes and timm specs, see vt_core.data


@dataclass(frozen=True)
class DataConfig:
    """Which images. ``name`` is a probe of the embedded default (see ``vt_core.data.PROBES``),
    ``cifar10`` / ``cifar100`` (torchvision's on-disk format under ``root``), ``imagefolder``
    (``root/train/<class>/*``, ``root/val/<class>/*``) or a spec ``timm.data.create_dataset``
    understands (e.g. ``hfds/...``, ``tfds/...``, ``torch/...``) with ``root`` its folder."""

    name: str = "arrangement"
    root: str = ""
    train_size: int = 8192  # probes: samples generated for training
    val_size: int = 1024  # probes: samples generated for validation
    seed: int = 0  # probes: the dataset's own seed, fixed across run seeds
    augment: bool = False  # timm's create_transform(is_training=True) recipe (RandAugment, random erasing …)
    auto_augment: str = "rand-m9-mstd0.5-inc1"
    reprob: float = 0.25
    mixup: float = 0.0  # timm Mixup alpha; 0 = off
    cutmix: float = 0.0  # timm CutMix alpha; 0 = off
    workers: int = 2
    # image files whose transform is deterministic (validation; training without augment) are kept as
    # decoded, up to this many MiB per split, so later epochs do not decode again; 0: decode every pass
    cache_mb: int = 2048
    on_device: bool = True  # in-memory data (probes, CIFAR) kept on the training device
    mean: tuple[float, ...] = ()  # normalisation per channel; () = the dataset's own, or the model's (image files)
    std: tuple[float, ...] = ()
    crop_pct: float = 0.0  # evaluation centre crop of image files (timm's); 0 = the model's data config's (1 for CIFAR)
    interpolation: str = "bicubic"  # resizing of image files (timm's names); a pretrained model's, to fine-tune
    val_subset: int = 0  # evaluate on this many validation images drawn with train.seed (0: all of them)
    skip_broken: bool = False  # image files PIL cannot decode: stop the run naming the file (false) or skip them

    def __post_init__(self) -> None:
        check_finite(self, "data.")
        check_seed("data.seed", self.seed)
        if len(self.mean) != len(self.std) or len(self.mean) not in (0, 1, 3) or any(s <= 0 for s in self.std):
            raise ConfigError(f"data.mean / data.std: {list(self.mean)} / {list(self.std)}: give both, with 1 or 3 "
                              f"values each (std > 0), or neither")
        choice_key("data.interpolation", self.interpolation, INTERPOLATIONS)
        if not 0.0 <= self.crop_pct <= 1.0:
            raise ConfigError(f"data.crop_pct: {self.crop_pct} must lie in (0, 1] (0: the model's data config's)")
        if not self.name:
            raise ConfigError("data.name: empty; give a probe name, cifar10, cifar100, imagefolder or a timm "
                              "dataset spec")
        for name in ("train_size", "val_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name}: {getattr(self, name)} must be at least 1")
        if self.val_subset < 0:
            raise ConfigError(f"data.val_subset: {self.val_subset} must be ≥ 0 (0: every validation image)")
        if self.workers < 0:
            raise ConfigError(f"data.workers: {self.workers} must be ≥ 0")
        if self.cache_mb < 0:
            raise ConfigError(f"data.cache_mb: {self.cache_mb} must be ≥ 0 (0: decode the images in every pass)")
        for name in ("mixup", "cutmix", "reprob"):
            if getattr(self, name) < 0:
                raise ConfigError(f"data.{name}: {getattr(self, name)} must be ≥ 0")
        if self.reprob > 1:
            raise ConfigError(f"data.reprob: {self.reprob} is a probability, at most 1")
        if self.name in DATASET_KINDS and not self.root:
            raise ConfigError(f"data.root: data.name={self.name!r} needs data.root, the folder that holds it")


@dataclass(frozen=True)
class TrainConfig:
    """The recipe; optimizer and schedule names are timm's (``create_optimizer_v2``, ``create_scheduler_v2``)."""

    epochs: int = 10
    batch_size: int = 32  # the embedded default's; a preset's recipe (grids' profiles) sets its own
    opt: str = "adamw"
    lr: float = 1e-3
    min_lr: float = 1e-5
    weight_decay: float = 0.05
    sched: str = "cosine"
    warmup_epochs: int = 1  # timm's: the first epochs rise linearly from warmup_lr (inside train.epochs)
    warmup_lr: float = 1e-6
    cooldown_epochs: int = 0  # timm's: epochs at min_lr after the schedule, added to train.epochs
    # the LR schedule advances after every optimizer update (smooth: short runs, Swin/DeiT's code) or once
    # per epoch (timm's train.py default); "update" keeps every earlier run's meaning, see docs/runs.md
    sched_on: str = "update"
    label_smoothing: float = 0.0
    clip_grad: float = 0.0  # max grad norm; 0 = off
    ema: bool = False
    ema_decay: float = 0.9998
    amp: str = "auto"  # auto (bf16 on CUDA, fp32 elsewhere) | bf16 | fp32
    compile: bool = False
    channels_last: bool = False
    seed: int = 0
    deterministic: bool = True  # deterministic algorithms (CPU runs are then bit-reproducible)
    eval_sizes: tuple[int, ...] = ()  # extra input sizes evaluated after training
    log_every: int = 50  # steps between logged train scalars
    device: str = "auto"  # auto | cpu | cuda
    init_from: str = ""  # initial weights: timm:<tag>, a weights file or a run folder (vt_core.weights.sources)
    layer_decay: float = 0.0  # timm's layer-wise LR decay (e.g. 0.75 to fine-tune); 0 = off

    def __post_init__(self) -> None:
        check_finite(self, "train.")
        check_seed("train.seed", self.seed)
        if self.epochs < 0:
            raise ConfigError(f"train.epochs: {self.epochs} must be ≥ 0 (0: evaluate the initial weights only)")
        for name in ("batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name}: {getattr(self, name)} must be at least 1")
        if self.lr <= 0:
            raise ConfigError(f"train.lr: {self.lr} must be positive")
        for name in ("min_lr", "warmup_lr", "weight_decay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name}: {getattr(self, name)} must be ≥ 0")
        if not 0.0 < self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay: {self.ema_decay} must lie in (0, 1)")
        if not 0.0 <= self.layer_decay <= 1.0:
            raise ConfigError(f"train.layer_decay: {self.layer_decay} must lie in [0, 1] (0: off)")
        _check_timm_names(self)
        if self.epochs and not 0 <= self.warmup_epochs <= self.epochs:  # == epochs: the whole run warms up
            raise ConfigError(f"train.warmup_epochs: {self.warmup_epochs} must lie in [0, train.epochs={self.epochs}]")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"train.label_smoothing: {self.label_smoothing} must lie in [0, 1)")
        if self.cooldown_epochs < 0:
            raise ConfigError(f"train.cooldown_epochs: {self.cooldown_epochs} must be ≥ 0")
        choice_key("train.sched_on", self.sched_on, ("update", "epoch"))
        if self.clip_grad < 0:
            raise ConfigError(f"train.clip_grad: {self.clip_grad} must be ≥ 0")
        choice_key("train.amp", self.amp, ("auto", "bf16", "fp32"))
        choice_key("train.device", self.device, ("auto", "cpu", "cuda"))
        if any(s < 1 for s in self.eval_sizes):
            raise ConfigError(f"train.eval_sizes: {list(self.eval_sizes)} must all be ≥ 1")

    @property
    def total_epochs(self) -> int:
        """Epochs trained: the schedule's ``epochs`` and the cooldown after it (as timm's train.py counts)."""
        return self.epochs + self.cooldown_epochs if self.epochs else 0


INTERPOLATIONS = ("bicubic", "bilinear", "nearest", "lanczos", "box", "hamming", "random")
# create_scheduler_v2's names that the per-step loop can drive ("plateau" needs a metric every epoch)
SCHEDULES = ("cosine", "tanh", "step", "multistep", "poly", "constant", "wsd", "rsqrt", "none")


# timm.optim.list_optimizers() of the timm this project installs, held here so that a config validates
# without importing timm (the launcher's planning and --status build no model); tests/test_imports.py
# checks it still equals timm's list
KNOWN_OPTIMIZERS = (
    "adabelief", "adadelta", "adafactor", "adafactorbv", "adafactorbvc", "adagrad", "adahessian", "adam",
    "adamax", "adamc", "adamp", "adamuon", "adamw", "adamwlegacy", "adan", "adanw", "adopt", "adoptc",
    "adoptw", "bnbadam", "bnbadam8bit", "bnbadamw", "bnbadamw8bit", "bnbademamix", "bnbademamix8bit",
    "bnblion", "bnblion8bit", "bnbsgd", "bnbsgd8bit", "cadafactor", "cadafactorbv", "cadafactorbvc", "cadamc",
    "cadamp", "cadamw", "cadan", "cadanw", "cadopt", "cadoptc", "cadoptw", "clamb", "clambw", "claprop",
    "clion", "clionc", "cmars", "cnadamc", "cnadamw", "crmsproptf", "csgdc", "csgdp", "csgdw", "fusedadam",
    "fusedadamw", "fusedlamb", "fusednovograd", "fusedsgd", "kron", "kronc", "kronw", "lamb", "lambc",
    "lambcd", "lambcw", "lambw", "laprop", "lapropc", "larc", "lars", "lion", "lionc", "madgrad", "madgradw",
    "mars", "momentum", "muon", "nadam", "nadamc", "nadamlegacy", "nadamuon", "nadamw", "nesterov",
    "nesterovw", "nlarc", "nlars", "nmuon", "novograd", "novogradc", "novogradw", "radabelief", "radam",
    "radamlegacy", "radamw", "rmsprop", "rmsproptf", "rmsproptfc", "rmsproptfw", "sgd", "sgdc", "sgdp", "sgdw",
)


def _check_timm_names(tc: "TrainConfig") -> None:
    """The optimizer and schedule names timm knows."""
    if tc.opt.lower() not in KNOWN_OPTIMIZERS:
        import difflib

        close = difflib.get_close_matches(tc.opt.lower(), KNOWN_OPTIMIZERS, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else " (timm.optim.list_optimizers())"
        raise ConfigError(f"train.opt: {tc.opt!r} is not an optimizer timm knows{hint}")
    choice_key("train.sched", tc.sched, SCHEDULES)


@dataclass(frozen=True)
class RunConfig:
    """One run: a model, its data and its recipe. The run id hashes exactly these three."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def replace(self, overrides: Mapping[str, Any]) -> "RunConfig":
        """Dotted overrides: ``{"model.pos": "rel", "train.lr": "1e-3"}``."""
        return with_overrides(self, overrides)

    def departures(self) -> dict[str, dict[str, Any]]:
        """Per section, the fields whose value differs from the field's default: what makes this
        run this run. A field added later with a default that keeps the old behaviour leaves
        every existing run's departures, and so its id, as they were."""
        from ..overrides import to_dict

        out: dict[str, dict[str, Any]] = {}
        for f in dataclasses.fields(self):
            mine, default = to_dict(getattr(self, f.name)), _section_defaults(f.name)
            out[f.name] = {k: v for k, v in mine.items() if v != default.get(k, _MISSING)}
        return out

    def run_id(self) -> str:
        """12 hex digits of the SHA-256 of ``departures()`` as sorted JSON: equal configs share a
        folder, different ones never do."""
        return _sha(self.departures())[:12]

    def fingerprint(self) -> str:
        """The SHA-256 of every field: tells a run folder trained under other defaults from this config."""
        from ..overrides import to_dict

        return _sha(to_dict(self))


_MISSING = object()


@functools.lru_cache(maxsize=None)
def _section_defaults(name: str) -> dict[str, Any]:
    """A section's default values as a plain dict, built once: every run id compares against them,
    and a grid of thousands of runs computes thousands of ids (callers only read the dict)."""
    from ..overrides import to_dict

    f = next(f for f in dataclasses.fields(RunConfig) if f.name == name)
    return to_dict(f.default_factory())  # type: ignore[misc]


def _sha(obj: Any) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
