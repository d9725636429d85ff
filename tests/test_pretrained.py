"""Pretrained weights in, without a network: timm models with random weights saved as .pth and
.safetensors files and loaded as a pretrained entry through timm's own mechanism
(``pretrained_cfg_overlay=dict(file=...)``), and ``vt_core.weights.transfer`` into variants that differ
from the checkpoint: exact logits for the same architecture, the report's category for every kind
of change, one-line refusals for what cannot fit."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import vt_core
from vt_core.weights import sources as pretrained
from vt_core.weights.transfer import TransferError, transfer

SWIN_CPU = dict(img_size=32, patch_size=2, embed_dim=48, depths=(2, 2), num_heads=(2, 4), window_size=4,
                mlp_ratio=2.0, num_classes=10)  # timm's SwinTransformer shaped as vt_core's swin_cpu
VIT_CPU = dict(img_size=32, patch_size=4, embed_dim=96, depth=4, num_heads=3, mlp_ratio=2.0, num_classes=10)


def _timm(name: str, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, **kw).eval()
    with torch.no_grad():  # random, not the init pattern: every tensor must really be moved
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    return model


def _save(model: torch.nn.Module, path: Path) -> Path:
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def _x(size: int) -> torch.Tensor:
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def swin_file(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    model = _timm("swin_tiny_patch4_window7_224", **SWIN_CPU)
    return model, _save(model, tmp_path_factory.mktemp("w") / "swin_cpu.pth")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("arch,preset,size", [
    ("swin_tiny_patch4_window7_224", "swin_tiny_patch4_window7_224", 224),
    ("vit_tiny_patch16_224", "vit_tiny_patch16_224", 224),
    ("pvt_v2_b0", "pvt_v2_b0", 224),
])
def test_timm_file_as_pretrained_entry_gives_exact_logits(tmp_path: Path, arch: str, preset: str, size: int,
                                                          suffix: str) -> None:
    ref = _timm(arch)
    path = _save(ref, tmp_path / f"w{suffix}")
    ours = timm.create_model(f"vt_{preset}", pretrained=True, pretrained_cfg_overlay=dict(file=str(path))).eval()
    x = _x(size)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-4, atol=1e-5)


def test_a_variant_loads_the_same_file(swin_file) -> None:
    ref, path = swin_file
    ours = timm.create_model("vt_swin_cpu", pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    no_shift = timm.create_model("vt_swin_cpu", shift=False, pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(path)))
    value = ref.state_dict()["layers.0.blocks.0.attn.qkv.weight"]
    torch.testing.assert_close(no_shift.state_dict()["stages.0.blocks.0.attn.qkv.weight"], value)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(_x(32)), ref(_x(32)), rtol=1e-4, atol=1e-5)
        assert not torch.allclose(no_shift.eval()(_x(32)), ref(_x(32)))  # the shift really is off
    other = timm.create_model("vt_swin_cpu", pretrained=True, num_classes=3,
                              pretrained_cfg_overlay=dict(file=str(path)))
    assert other.head.weight.shape == (3, 96)


def _report(path: Path, **switches) -> dict[str, tuple[str, ...]]:
    model = vt_core.create_model("swin_cpu", **switches)
    report = transfer(torch.load(path, weights_only=True), model, checkpoint=str(path))
    by_action: dict[str, list[str]] = {}
    for m in report.moves:
        by_action.setdefault(m.action, []).append(m.name)
    return {k: tuple(v) for k, v in by_action.items()}


def test_report_categories_for_each_kind_of_change(swin_file) -> None:
    ref, path = swin_file
    same = _report(path)
    assert set(same) == {"copied"} and len(same["copied"]) == len(
        [k for k in ref.state_dict() if "relative_position_index" not in k and "attn_mask" not in k])
    assert set(_report(path, shift=False)) == {"copied"}
    window = _report(path, window_size=8)
    assert window["resized"] == tuple(f"stages.{s}.blocks.{b}.attn.rel_pos.relative_position_bias_table"
                                      for s in (0, 1) for b in (0, 1))
    both = _report(path, pos="abs+rel")
    assert both["new"] == ("pos_embed.pos_embed",)
    none = _report(path, pos="none")
    assert len(none["dropped"]) == 4 and all(n.endswith("relative_position_bias_table") for n in none["dropped"])
    heads = _report(path, num_classes=4)
    assert heads["new"] == ("head.weight", "head.bias")


def test_resized_tensors_are_resized_as_timm_does(swin_file) -> None:
    from timm.layers import resize_rel_pos_bias_table

    ref, path = swin_file
    model = vt_core.create_model("swin_cpu", window_size=8)
    transfer(torch.load(path, weights_only=True), model)
    table = ref.state_dict()["layers.1.blocks.0.attn.relative_position_bias_table"]
    torch.testing.assert_close(model.stages[1].blocks[0].attn.rel_pos.relative_position_bias_table.data,
                               resize_rel_pos_bias_table(table, (8, 8), (15 * 15, 4)))


def test_vit_absolute_embedding_interpolated_for_another_size(tmp_path: Path) -> None:
    from timm.layers import resample_abs_pos_embed

    ref = _timm("vit_tiny_patch16_224", **VIT_CPU, class_token=True, global_pool="token")
    path = _save(ref, tmp_path / "vit.safetensors")
    model = vt_core.create_model("vit_cpu", img_size=48)
    report = pretrained.load_into(str(path), model)
    assert [m.name for m in report.moves if m.action == "resized"] == ["pos_embed.pos_embed"]
    torch.testing.assert_close(model.pos_embed.pos_embed.data,
                               resample_abs_pos_embed(ref.pos_embed.data, new_size=[12, 12], num_prefix_tokens=1))


@pytest.mark.parametrize("switches,match", [
    ({"dims": (64, 96)},
     r"patch_embed.proj.weight: the checkpoint.s \[48, 3, 2, 2\] does not fit the model.s \[64, 3, 2, 2\]"),
    ({"depths": (2, 3)}, r"stages.1.blocks.2.norm1.weight \[96\] is not in the checkpoint"),
    ({"depths": (2, 1)}, r"stages.1.blocks.1.norm1.weight \[96\] of the checkpoint is not in the model"),
])
def test_what_cannot_fit_is_refused_naming_the_tensor(swin_file, switches, match) -> None:
    _, path = swin_file
    cfg = vt_core.get_preset("swin_cpu").replace(**switches)
    with pytest.raises(TransferError, match=match):
        pretrained.check(str(path), cfg)
    model = vt_core.VisionTransformer(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TransferError, match=match):
        pretrained.load_into(str(path), model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing changed


def test_planning_reads_shapes_only_and_refuses_bad_specs(tmp_path: Path, swin_file) -> None:
    _, path = swin_file
    report = pretrained.check(str(path), vt_core.get_preset("swin_cpu").replace(pos="abs+rel"))
    assert report.summary()["new"] == 1 and report.format == "timm swin"
    bad = tmp_path / "junk.pth"
    bad.write_bytes(b"not a checkpoint")
    for spec, match in [(str(tmp_path / "nope.pth"), "does not exist"), (str(bad), "cannot be read as weights"),
                        (str(tmp_path), "without checkpoint.pt"), ("timm:nosuchnet", "not a timm model"),
                        ("timm:swin_tiny_patch4_window7_224.no_such_tag", "not a timm pretrained tag")]:
        with pytest.raises(vt_core.ConfigError, match=match) as e:
            pretrained.check(spec, vt_core.get_preset("swin_cpu"))
        assert "\n" not in str(e.value)
    other = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(8, 3, 3, 3), "fc.weight": torch.zeros(10, 8)}, other)
    with pytest.raises(TransferError, match="not a checkpoint vt_core knows"):
        pretrained.check(str(other), vt_core.get_preset("swin_cpu"))


def test_timm_tag_plans_from_the_architecture_on_meta() -> None:
    report = pretrained.check("timm:swin_tiny_patch4_window7_224.ms_in1k",
                              vt_core.get_preset("swin_tiny_patch4_window7_224").replace(window_size=12, img_size=384))
    assert report.summary()["resized"] == 12 and report.summary()["new"] == 0
