from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
Absolute vs relative position in a ViT with mean pooling: no position, learned absolute embedding,
Swin's relative position bias over the whole token grid, and both. On the `arrangement` probe the
label depends only on where two shapes are relative to each other, so a model without position
information cannot beat chance while every position encoding can.
"""
BASE = {"preset": "vit_cpu", "model.pool": "mean"}
BASELINE = "abs"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "arrangement"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "vit_small_patch16_224", "model.drop_path": 0.1},
}


def sweep(add):
    for pos in ("none", "abs", "rel", "abs+rel"):
        add(name=pos, **{"model.pos": pos})
