from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
Multi-scale key/value aggregation (Shunted self-attention): heads split into groups whose keys and
values are aggregated at different rates, against one rate for all heads (PVT-style) and no
aggregation. On the `multiscale` probe objects appear at a scale that varies per sample.
"""
BASE = {"preset": "shunted_cpu"}
BASELINE = "multi"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "multiscale"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "shunted_s", "model.drop_path": 0.1},
}

# per stage, per head group; the last stage keeps one full-resolution group, as in Shunted
RATIOS = {
    "two_stage": {  # shunted_cpu
        "multi": [[2, 1], [1]], "coarse_multi": [[4, 2], [1]], "single": [[2], [1]], "full": [[1], [1]],
    },
    "four_stage": {  # shunted_s, the paper's rates first
        "multi": [[8, 4], [4, 2], [2, 1], [1]], "coarse_multi": [[16, 8], [8, 4], [4, 2], [1]],
        "single": [[8], [4], [2], [1]], "full": [[1], [1], [1], [1]],
    },
}


def sweep(add, profile):
    table = RATIOS["four_stage" if profile == "imagenet" else "two_stage"]
    for name, ratios in table.items():
        add(name=name, **{"model.kv_ratios": ratios})
