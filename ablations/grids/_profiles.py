"""Scale settings shared by the shipped grids (dotted overrides). Grids copy and adjust them."""

# The embedded default: a probe, CPU-sized models, minutes on 2 cores. Small batches and no warm-up:
# on the probes a fresh transformer sits on a loss plateau (ln 4) for a few hundred optimizer steps
# before the positional solution appears (relative bias later than absolute embedding), so steps,
# not images, are what a short run must buy.
CPU = {
    "data.train_size": 4096,
    "data.val_size": 1024,
    "train.epochs": 12,
    "train.batch_size": 32,
    "train.lr": 1e-3,
    "train.warmup_epochs": 0,
    "train.weight_decay": 0.05,
}

# The probe-sized isotropic ViT: 8-px patches are one token per probe cell (see vt_core/data/probes.py),
# and 2 blocks are enough for every probe's claim (a shifted block follows a regular one).
PROBE_VIT = {"model.patch_size": 8, "model.depths": 2}

# CIFAR-10 from data/cifar10 (torchvision's on-disk format), 32×32, a short DeiT-style recipe.
CIFAR = {
    "data.name": "cifar10",
    "data.root": "data/cifar10",
    "data.augment": True,
    "data.mixup": 0.8,
    "data.cutmix": 1.0,
    "model.img_size": 32,
    "train.epochs": 100,
    "train.batch_size": 256,
    "train.lr": 1e-3,
    "train.warmup_epochs": 5,
    "train.label_smoothing": 0.1,
    "train.clip_grad": 1.0,
}

# ImageNet-1k from data/imagenet (train/<class>/*, val/<class>/*), the papers' 300-epoch recipe
# (DeiT / Swin): AdamW, batch 1024, lr 1e-3, weight decay 0.05, 20 warm-up epochs, clip 1.0.
IMAGENET = {
    "data.name": "imagefolder",
    "data.root": "data/imagenet",
    "data.augment": True,
    "data.mixup": 0.8,
    "data.cutmix": 1.0,
    "data.workers": 8,
    "train.epochs": 300,
    "train.batch_size": 1024,
    "train.opt": "adamw",
    "train.lr": 1e-3,
    "train.min_lr": 1e-5,
    "train.weight_decay": 0.05,
    "train.warmup_epochs": 20,
    "train.warmup_lr": 1e-6,
    "train.label_smoothing": 0.1,
    "train.clip_grad": 1.0,
    "train.deterministic": False,
    "train.log_every": 200,
}

# Fine-tuning a pretrained model on a dataset folder (data/finetune: train/<class>/*, val/<class>/*):
# a short schedule at a low learning rate with timm's layer-wise LR decay (BEiT's recipe, Bao et al.,
# ICLR 2022; timm's optimizer factory groups parameters by the model's group_matcher), the pretrained
# model's normalisation and resizing (timm's ImageNet ones for the Swin / ViT checkpoints).
FINETUNE = {
    "data.name": "imagefolder",
    "data.root": "data/finetune",
    "data.augment": True,
    "data.mixup": 0.8,
    "data.cutmix": 1.0,
    "data.workers": 8,
    "data.mean": [0.485, 0.456, 0.406],
    "data.std": [0.229, 0.224, 0.225],
    "data.interpolation": "bicubic",
    "train.epochs": 30,
    "train.batch_size": 256,
    "train.opt": "adamw",
    "train.lr": 1e-4,
    "train.min_lr": 1e-6,
    "train.weight_decay": 0.05,
    "train.layer_decay": 0.9,
    "train.warmup_epochs": 2,
    "train.label_smoothing": 0.1,
    "train.clip_grad": 5.0,
    "train.deterministic": False,
}
