from ablations.grids._profiles import CPU, FINETUNE

DESCRIPTION = """
What switching one component off costs a pretrained Swin-T at inference, without any training
(`train.epochs=0`): the ImageNet-1k checkpoint evaluated as trained, with shifted windows off, with a
wider window (14: the relative bias tables resized as timm resizes them), and without the relative
position bias (its tables dropped, i.e. a zero bias). Each seed evaluates a different random subset
of the validation images (`data.val_subset`), the same subset for every variant, so the differences
are paired and their intervals cover the sampling of the evaluation set. The `cpu` profile does the
same with the CPU-sized Swin on the embedded probe: give it weights with
`--set train.init_from=<a swin_cpu run folder or checkpoint>`.
"""
BASE = {"preset": "swin_tiny_patch4_window7_224", "train.init_from": "timm:swin_tiny_patch4_window7_224.ms_in1k",
        "data.augment": False}
EVAL_ONLY = {"train.epochs": 0}  # every profile: evaluate, never train
BASELINE = "as_trained"
METRIC = "top1"
SEEDS = (0, 1, 2, 3, 4)
PROFILES = {
    "imagenet": {**{k: v for k, v in FINETUNE.items() if k.startswith("data.")}, **EVAL_ONLY,
                 "data.root": "data/imagenet", "data.augment": False, "data.mixup": 0.0, "data.cutmix": 0.0,
                 "data.val_subset": 10000, "train.batch_size": 256},
    "cpu": {**CPU, "preset": "swin_cpu", "train.init_from": "", "data.name": "arrangement", "data.val_subset": 512,
            **EVAL_ONLY},
}


def sweep(add, profile):
    wide = 8 if profile == "cpu" else 14
    add(name="as_trained")
    add(name="no_shift", **{"model.shift": False})
    add(name=f"window{wide}", **{"model.window_size": wide})
    add(name="no_rel_bias", **{"model.pos": "none"})
