from ablations.grids._profiles import CPU, FINETUNE

DESCRIPTION = """
Fine-tuning Swin-T from its ImageNet-1k checkpoint with one component changed: a larger window (12
at 384 px, where every stage map divides by it, as the Swin paper fine-tunes; 14 at 224 px), shifted
windows off, or an absolute position embedding added to the relative bias. The pretrained tensors
go into every variant (`transfer.json` in each run folder says what was copied, resized, newly
initialised or dropped), so the grid measures what each change does to a pretrained model, not to
one trained from scratch. Point `data.root` at your dataset folder (train/<class>/*,
val/<class>/*). The `cpu` profile runs the same comparison with the CPU-sized Swin on the embedded
probe: give it weights with `--set train.init_from=<a swin_cpu-shaped checkpoint or run folder>`.
"""
BASE = {"preset": "swin_tiny_patch4_window7_224", "train.init_from": "timm:swin_tiny_patch4_window7_224.ms_in1k",
        "model.drop_path": 0.2}
BASELINE = "base"
METRIC = "top1"
SEEDS = (0, 1, 2)
PROFILES = {
    "finetune": {**FINETUNE},
    "cpu": {**CPU, "preset": "swin_cpu", "train.init_from": "", "model.drop_path": 0.0, "data.name": "arrangement",
            "train.epochs": 3, "train.lr": 5e-4, "train.layer_decay": 0.9},
}


def sweep(add, profile):
    # (window, image size) as pretrained, a larger window at a higher resolution (every stage map
    # divides by it), and a wider window at the pretrained resolution; CPU-sized on the cpu profile
    base, hires, wide = ((4, 32), (8, 64), (8, 32)) if profile == "cpu" else ((7, 224), (12, 384), (14, 224))
    for name, (m, size) in (("base", base), ("window_hires", hires), ("window_wide", wide)):
        add(name=name, **{"model.window_size": m, "model.img_size": size})
    at_base = {"model.window_size": base[0], "model.img_size": base[1]}
    add(name="no_shift", **{**at_base, "model.shift": False})
    add(name="abs+rel", **{**at_base, "model.pos": "abs+rel"})
