from ablations.grids._profiles import CIFAR, CPU, IMAGENET, PROBE_VIT

DESCRIPTION = """
Absolute vs relative position in a ViT with mean pooling: no position, learned absolute embedding,
Swin's relative position bias over the whole token grid, and both. On the `arrangement` probe the
label depends only on where two shapes are relative to each other, so a model without position
information cannot beat chance while every position encoding can. The `cpu` profile trains a
2-block ViT with 8-px patches (one token per probe cell) so that 12 runs finish in minutes on a
laptop.
"""
BASE = {"preset": "vit_cpu", "model.pool": "mean"}
BASELINE = "abs"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, **PROBE_VIT, "data.name": "arrangement"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "vit_small_patch16_224", "model.drop_path": 0.1},
}


def sweep(add):
    for pos in ("none", "abs", "rel", "abs+rel"):
        add(name=pos, **{"model.pos": pos})
