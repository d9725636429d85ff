from ablations.grids._profiles import CIFAR, CPU, IMAGENET, PROBE_VIT

DESCRIPTION = """
Shifted windows on or off (Swin §3.2). On the `cross_window` probe the label compares two marks that
always lie in different windows; an isotropic window-attention model without shift, with mean
pooling and a linear head, never lets them meet, so it stays at chance, while alternating shifted
windows connect them. The `cpu` profile trains 2 blocks (one regular, one shifted) over 8-px patches
with 2×2-token windows, each window one 16-px quadrant of the probe; the shifted model sits at chance
for thousands of steps before it finds the relation (and with 4096 images it memorises them first),
hence twice the images of the other probes' profiles.
"""
BASE = {"preset": "vit_cpu", "model.mixer": "window", "model.window_size": 4, "model.pool": "mean", "model.pos": "rel"}
BASELINE = "shifted"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, **PROBE_VIT, "data.name": "cross_window", "model.window_size": 2, "data.train_size": 8192,
            "train.epochs": 20},
    "cifar": {**CIFAR, "preset": "swin_cpu", "model.window_size": 4},
    "imagenet": {**IMAGENET, "preset": "swin_tiny_patch4_window7_224"},
}


def sweep(add):
    add(name="shifted", **{"model.shift": True})
    add(name="no_shift", **{"model.shift": False})
