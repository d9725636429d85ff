from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
The token mixer alone: one hierarchical network (HorNet's: 4×4 patch stem, LayerNorm + 2×2/2
downsampling, layer scale, pooling then LayerNorm) with its mixer swapped among global attention
(ViT), shifted windows (Swin), spatial-reduction attention (PVT-v2), multi-scale shunted attention
(Shunted) and gnConv (HorNet), plus windows without shift as the probe's control. Parameter counts
are matched to the gnConv network through each variant's MLP ratio (the dry run shows params and
GMACs side by side; FLOPs are not matched: global attention is quadratic in the tokens).
The `cpu` profile has no position encoding, so the `cross_window` probe asks what the mixer itself
can relate: with 4-px tokens, 16-px windows in both stages and downsampling inside 8-px cells,
global attention and spatial reduction (keys from cell-aligned 2×2 blocks) are functions of the
multiset of 8-px cells, and windows without shift of the multiset of quadrants, so all three stay at
chance (theorems, see vt_core/data/probes.py); gnConv's convolutions relate the two marks, and the
shifted windows and Shunted's local enhancement are free to (nothing forbids it, nothing promises
it). The `cifar` and `imagenet` profiles give every variant a learned absolute position embedding,
the one encoding all five mixers take.
"""
BASE = {"preset": "hornet_cpu"}
BASELINE = "gnconv"
METRIC = "top1"
SEEDS = (0, 1, 2)
# hornet_cpu's 8×8 and 4×4 maps: 16-px windows in both stages, attention heads 24 channels wide
TWO_STAGE = {"model.heads": [2, 4], "model.window_size": [4, 2]}
PROFILES = {
    # gnConv leaves the loss plateau within 256 steps here; 3 epochs keep 18 runs to minutes on 2 cores
    "cpu": {**CPU, **TWO_STAGE, "model.pos": "none", "data.name": "cross_window", "train.epochs": 3},
    "cifar": {**CIFAR, **TWO_STAGE, "model.pos": "abs"},
    # HorNet-T's network with Swin-T's heads (head width 32) and window 7, PVT-v2's and Shunted's KV rates
    "imagenet": {**IMAGENET, "preset": "hornet_tiny_7x7", "model.heads": [2, 4, 8, 16], "model.window_size": 7,
                 "model.pos": "abs", "train.batch_size": 4096, "train.lr": 4e-3, "train.ema": True},
}

# Per variant: the mixer's own settings, and the MLP ratio (every stage) that brings the parameter
# count to the gnConv network's: at cpu scale 317,914 (0.3 % at most away), at HorNet-T scale
# 22.61M (0.3 % at most away; spatial reduction and Shunted pay for their strided key/value
# convolutions, 262K parameters per block in each of the first three stages, with FFN width).
MIXERS = {
    "two_stage": {  # hornet_cpu: 8×8 and 4×4 token maps
        "global": ({"model.mixer": "global"}, 4.35),
        "window": ({"model.mixer": "window", "model.shift": True}, 4.35),
        "window_noshift": ({"model.mixer": "window", "model.shift": False}, 4.35),
        "sr": ({"model.mixer": "sr", "model.kv_ratios": [2, 1]}, 3.9),
        "shunted": ({"model.mixer": "shunted", "model.kv_ratios": [[2, 1], [1]]}, 3.75),
        "gnconv": ({"model.mixer": "gnconv"}, 4.0),
    },
    "four_stage": {  # HorNet-T: 56², 28², 14², 7² token maps at 224²
        "global": ({"model.mixer": "global"}, 4.0),
        "window": ({"model.mixer": "window", "model.shift": True}, 4.0),
        "window_noshift": ({"model.mixer": "window", "model.shift": False}, 4.0),
        "sr": ({"model.mixer": "sr", "model.kv_ratios": [8, 4, 2, 1]}, 2.3),
        "shunted": ({"model.mixer": "shunted", "model.kv_ratios": [[8, 4], [4, 2], [2, 1], [1]]}, 1.85),
        "gnconv": ({"model.mixer": "gnconv"}, 4.0),
    },
}


def sweep(add, profile):
    table = MIXERS["four_stage" if profile == "imagenet" else "two_stage"]
    for name, (mixer, mlp_ratio) in table.items():
        add(name=name, **mixer, **{"model.mlp_ratio": mlp_ratio})
