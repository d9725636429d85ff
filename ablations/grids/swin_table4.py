from ablations.grids._profiles import CPU, IMAGENET

DESCRIPTION = """
The Swin paper's Table 4 ablation (shifted windows and position embedding) on Swin-T at ImageNet-1k
scale with the paper's recipe: AdamW, 300 epochs, batch 1024, lr 1e-3, weight decay 0.05, 20 warm-up
epochs, gradient clipping 1.0, drop path 0.2. The paper's top-1 is set beside ours. `shifted` and
`rel` are the same configuration (the full Swin-T), so they share one run.
"""
BASE = {"preset": "swin_tiny_patch4_window7_224"}
BASELINE = "rel"
METRIC = "top1"
SEEDS = (0,)
PROFILES = {
    "imagenet": {**IMAGENET, "model.drop_path": 0.2},
    # a smoke test of the same variants on the embedded data
    "cpu": {**CPU, "preset": "swin_cpu", "data.name": "arrangement", "train.epochs": 2},
}
PAPER = {  # ImageNet-1k top-1 (%), Swin paper Table 4
    "no_shift": 80.2, "shifted": 81.3, "no_pos": 80.1, "abs": 80.5, "abs+rel": 81.3, "rel_no_app": 79.3, "rel": 81.3,
}


def sweep(add):
    add(name="no_shift", **{"model.shift": False, "model.pos": "rel"})
    add(name="shifted", **{"model.shift": True, "model.pos": "rel"})
    add(name="no_pos", **{"model.pos": "none"})
    add(name="abs", **{"model.pos": "abs"})
    add(name="abs+rel", **{"model.pos": "abs+rel"})
    add(name="rel_no_app", **{"model.pos": "rel", "model.appearance": False})
    add(name="rel", **{"model.pos": "rel"})
