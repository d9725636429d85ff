"""Pretrained weights into any variant: ``sources`` (train.init_from: timm tags, weight files, run
folders, checked at planning), ``transfer`` (a checkpoint's tensors into a variant: copied, resized,
new or dropped), ``timm`` (from_timm: a timm ViT / Swin / PVT-v2 → the equivalent config and weights)."""
