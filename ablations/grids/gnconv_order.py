from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
The interaction order of gnConv (HorNet, Rao et al., NeurIPS 2022, the order ablation): the same
HorNet network with the order fixed at 1 … 5 in every stage, against HorNet's schedule rising by one
per stage (2, 3, 4, 5; 2, 3 in the 2-stage CPU member), and that schedule with the global-local
filter (GF: half the channels through a 3×3 depthwise conv, half through a learnable Fourier-domain
filter) in place of the 7×7 depthwise conv in the low-resolution stages (the last two; the last one
of the CPU member). gnConv of order n is a polynomial of degree n + 1 in its input. No probe makes a
difference between orders provable; `multiscale` is the probe where spatial context matters.
"""
BASE = {"preset": "hornet_cpu"}
BASELINE = "rising"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "multiscale"},
    "cifar": {**CIFAR},
    # HorNet-T 7×7 with the official training command's batch (8 GPUs × 128 × 4 accumulation steps) and lr
    "imagenet": {**IMAGENET, "preset": "hornet_tiny_7x7", "train.batch_size": 4096, "train.lr": 4e-3,
                 "train.ema": True},
}

SCHEDULES = {  # the rising order per stage, and where the global-local filter goes
    "two_stage": {"rising": [2, 3], "gf": ["dw7", "gf"]},
    "four_stage": {"rising": [2, 3, 4, 5], "gf": ["dw7", "dw7", "gf", "gf"]},
}


def sweep(add, profile):
    schedule = SCHEDULES["four_stage" if profile == "imagenet" else "two_stage"]
    for order in (1, 2, 3, 4, 5):
        add(name=f"order{order}", **{"model.gn_order": order})
    add(name="rising", **{"model.gn_order": schedule["rising"]})
    add(name="rising_gf", **{"model.gn_order": schedule["rising"], "model.gn_filter": schedule["gf"]})
