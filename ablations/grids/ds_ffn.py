from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
The detail-specific FFN of Shunted (a depthwise 3×3 conv inside the MLP with a residual) against the
plain MLP and PVT-v2's depthwise MLP without the residual, in the Shunted network.
"""
BASE = {"preset": "shunted_cpu"}
BASELINE = "ds"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "multiscale"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "shunted_s", "model.drop_path": 0.1},
}


def sweep(add):
    for ffn in ("ds", "mlp", "dw"):
        add(name=ffn, **{"model.ffn": ffn})
