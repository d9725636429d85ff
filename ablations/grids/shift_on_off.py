from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
Shifted windows on or off (Swin §3.2). On the `cross_window` probe the label compares two marks that
always lie in different windows; an isotropic window-attention model without shift, with mean
pooling and a linear head, never lets them meet, so it stays at chance, while alternating shifted
windows connect them.
"""
BASE = {"preset": "vit_cpu", "model.mixer": "window", "model.window_size": 4, "model.pool": "mean", "model.pos": "rel"}
BASELINE = "shifted"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "cross_window"},
    "cifar": {**CIFAR, "preset": "swin_cpu", "model.window_size": 4},
    "imagenet": {**IMAGENET, "preset": "swin_tiny_patch4_window7_224"},
}


def sweep(add):
    add(name="shifted", **{"model.shift": True})
    add(name="no_shift", **{"model.shift": False})
