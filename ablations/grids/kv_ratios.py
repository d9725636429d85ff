from ablations.grids._profiles import CIFAR, CPU, IMAGENET

DESCRIPTION = """
Multi-scale key/value aggregation (Shunted self-attention): heads split into groups whose keys and
values are aggregated at different rates, against one rate for all heads (PVT-style) and no
aggregation. On the `multiscale` probe objects appear at a scale that varies per sample.
"""
BASE = {"preset": "shunted_cpu"}
BASELINE = "r2+r1"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "cpu": {**CPU, "data.name": "multiscale"},
    "cifar": {**CIFAR},
    "imagenet": {**IMAGENET, "preset": "shunted_s", "model.drop_path": 0.1},
}


def sweep(add):
    # per stage, per head group; the last stage keeps a single full-resolution group as in Shunted
    add(name="r2+r1", **{"model.kv_ratios": [[2, 1], [1]]})
    add(name="r4+r2", **{"model.kv_ratios": [[4, 2], [1]]})
    add(name="r2", **{"model.kv_ratios": [[2], [1]]})
    add(name="r1", **{"model.kv_ratios": [[1], [1]]})
