from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
Window size M of shifted-window attention in a hierarchical Swin. Larger windows see more context per
block at a cost of 2M²hwC multiply-adds (Swin eq. 2); a window as large as the feature map is global
attention (clamped, shift off). On the `multiscale` probe the object's class shows only at its scale.
"""
BASE = {"preset": "swin_cpu"}
BASELINE = "M4"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "multiscale"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "swin_tiny_patch4_window7_224", "model.drop_path": 0.2},
}


def sweep(add):
    for m in (2, 4, 8):
        add(name=f"M{m}", **{"model.window_size": m})
