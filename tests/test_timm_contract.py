"""Every registered ``vt_*`` model against the contract timm holds its own models to (the checks of
timm's model tests, written here for our models): forward, backward with every parameter receiving
a gradient, default-config fields and shapes, classifier reset, feature extraction, torch.fx,
intermediates, gradient checkpointing, layer-wise LR decay. At small input sizes."""

from __future__ import annotations

import copy
import functools

import pytest
import timm
import torch
from timm.layers import create_feature_extractor, get_graph_node_names

import vt_core  # noqa: F401  registers the vt_* models
from tests.support.models import tiered
from vt_core.overrides import ConfigError

MODELS = timm.list_models("vt_*")
TIERED = tiered(MODELS, prefix="vt_")  # the *_cpu presets and one published model per family stay fast


def _size(name: str) -> int:
    """A small input that still gives every stage a map (32 px: 8, 4, 2, 1 tokens at stride 4)."""
    img = timm.models.get_pretrained_cfg(name).input_size[-1]
    return img if img <= 32 else 32


@functools.lru_cache(maxsize=None)
def _template(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model(name, pretrained=False)


def _model(name: str, **kw) -> torch.nn.Module:
    """A fresh model: a copy of one built once per name (building the base-size presets costs more
    than the checks), or built anew with timm keyword arguments."""
    if kw:
        torch.manual_seed(0)
        return timm.create_model(name, pretrained=False, **kw)
    return copy.deepcopy(_template(name))


def _x(name: str, batch: int = 2) -> torch.Tensor:
    size = _size(name)
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_every_preset_is_registered() -> None:
    assert sorted(MODELS) == sorted(f"vt_{p}" for p in vt_core.list_presets())


@pytest.mark.parametrize("name", TIERED)
def test_forward_backward_every_parameter_gets_a_gradient(name: str) -> None:
    model = _model(name).train()
    out = model(_x(name))
    assert out.shape == (2, model.num_classes) and torch.isfinite(out).all()
    out.logsumexp(1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing


@pytest.mark.parametrize("name", TIERED)
def test_default_cfg_and_classifier_reset(name: str) -> None:
    model = _model(name).eval()
    cfg = model.pretrained_cfg
    for key in ("input_size", "interpolation", "mean", "std", "crop_pct", "first_conv", "classifier", "num_classes",
                "license"):
        assert key in cfg, key
    state = model.state_dict()
    assert f"{cfg['first_conv']}.weight" in state and isinstance(model.get_submodule(cfg["first_conv"]),
                                                                 torch.nn.Conv2d)
    assert model.get_submodule(cfg["classifier"]) is model.get_classifier()
    assert cfg["num_classes"] == model.num_classes and cfg["input_size"] == (3, model.cfg.img_size, model.cfg.img_size)
    spatial = model.output_fmt == "NHWC"
    if spatial:
        assert tuple(cfg["pool_size"]) == model.cfg.stage_grids()[-1]
    x = _x(name)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape[-1] == model.num_features
        assert model.forward_head(feats, pre_logits=True).shape == (2, model.head_hidden_size)
        model.reset_classifier(0)
        assert model(x).shape == (2, model.head_hidden_size)
        model.reset_classifier(0, "")
        unpooled = model(x)
        if spatial:
            assert unpooled.shape == (2, *model.cfg.stage_grids(x.shape[-1])[-1], model.num_features)
        else:
            assert unpooled.dim() == 3 and unpooled.shape[-1] == model.num_features
        model.reset_classifier(7, "avg")
        assert model(x).shape == (2, 7)


@pytest.mark.parametrize("name", TIERED)
def test_features_only(name: str) -> None:
    model = _model(name, features_only=True).eval()
    info = model.feature_info
    x = _x(name)
    with torch.no_grad():
        feats = model(x)
    assert len(feats) == len(info.channels()) >= 1
    for f, chs, red in zip(feats, info.channels(), info.reduction()):
        assert f.shape[:2] == (2, chs) and f.dim() == 4
        assert f.shape[-1] == -(-x.shape[-1] // red) or f.shape[-1] == x.shape[-1] // red
    if model.model.cfg.layout == "hierarchical":
        assert info.reduction() == sorted(info.reduction()) and len(feats) == model.model.cfg.num_stages
        if model.model.cfg.num_stages >= 3:
            assert len(feats) >= 3


@pytest.mark.parametrize("name", TIERED)
def test_forward_intermediates(name: str) -> None:
    model = _model(name).eval()
    x = _x(name)
    with torch.no_grad():
        final, inter = model.forward_intermediates(x)
        torch.testing.assert_close(final, model.forward_features(x))
        assert len(inter) == len(model.feature_info)
        last_two = model.forward_intermediates(x, indices=2, intermediates_only=True)
        for a, b in zip(last_two, inter[-2:]):
            torch.testing.assert_close(a, b)
        first = model.forward_intermediates(x, indices=[0], stop_early=True, intermediates_only=True)
        torch.testing.assert_close(first[0], inter[0])


@pytest.mark.parametrize("name", TIERED)
def test_torch_fx_trace(name: str) -> None:
    model = _model(name).eval()
    _, eval_nodes = get_graph_node_names(model)
    fx = create_feature_extractor(model, return_nodes=[eval_nodes[-1]])
    x = _x(name)
    with torch.no_grad():
        (out,) = fx(x).values()
        torch.testing.assert_close(out, model(x))


@pytest.mark.parametrize("name", TIERED)
def test_grad_checkpointing_gives_the_same_outputs_and_gradients(name: str) -> None:
    def run(checkpointing: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model = _model(name).train()
        model.set_grad_checkpointing(checkpointing)
        torch.manual_seed(3)  # drop path draws: the same in both runs (checkpoint replays the RNG)
        out = model(_x(name))
        out.square().mean().backward()
        return out.detach(), {n: p.grad for n, p in model.named_parameters()}

    out_a, grads_a = run(False)
    out_b, grads_b = run(True)
    torch.testing.assert_close(out_a, out_b)
    for n in grads_a:
        torch.testing.assert_close(grads_a[n], grads_b[n], msg=n)


@pytest.mark.parametrize("name", TIERED)
def test_layer_decay_groups_and_no_weight_decay(name: str) -> None:
    from timm.optim import create_optimizer_v2

    model = _model(name)
    names = {n for n, _ in model.named_parameters()}
    assert model.no_weight_decay() <= names
    opt = create_optimizer_v2(model, opt="adamw", lr=1e-3, weight_decay=0.05, layer_decay=0.75)
    scales = [g["lr_scale"] for g in opt.param_groups]
    assert sum(len(g["params"]) for g in opt.param_groups) == len(names)
    assert max(scales) == 1.0 and min(scales) < 0.75  # the head at full rate, the stem decayed
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    exempt = {id(p) for n, p in model.named_parameters() if n in model.no_weight_decay()}
    assert exempt <= decayed


def test_switches_are_keyword_arguments() -> None:
    model = timm.create_model("vt_swin_tiny_patch4_window7_224", shift=False, pos="abs+rel", num_classes=100)
    assert (model.cfg.shift, model.cfg.pos, model.num_classes) == (False, "abs+rel", 100)
    assert model.pos_embed is not None
    model = timm.create_model("vt_vit_cpu", global_pool="avg", drop_path_rate=0.1, img_size=48)
    assert (model.cfg.pool, model.cfg.drop_path, model.cfg.img_size) == ("mean", 0.1, 48)
    with pytest.raises(ConfigError, match="unknown keyword 'shfit'.*did you mean 'shift'"):
        timm.create_model("vt_swin_cpu", shfit=False)
    with pytest.raises(ConfigError, match="no head dropout"):
        timm.create_model("vt_swin_cpu", drop_rate=0.1)


def test_a_variant_runs_in_a_benchmark_loop_and_as_a_backbone() -> None:
    """What timm's benchmark.py does with a model (data config, transforms, AMP-free train and
    inference steps), and a features_only backbone of the same variant."""
    from PIL import Image
    from timm.data import create_transform, resolve_model_data_config
    from timm.optim import create_optimizer_v2

    model = timm.create_model("vt_swin_tiny_patch4_window7_224", shift=False, img_size=64, num_classes=10)
    data_cfg = resolve_model_data_config(model, args={"img_size": 64})  # as benchmark.py passes --img-size
    assert data_cfg["input_size"] == (3, 64, 64) and data_cfg["interpolation"] == "bicubic"
    assert data_cfg["mean"] == model.pretrained_cfg["mean"]
    tf = create_transform(**data_cfg, is_training=True)
    batch = torch.stack([tf(Image.new("RGB", (80, 90), (i * 40, 90, 200))) for i in range(4)])
    opt = create_optimizer_v2(model, opt="sgd", lr=0.01)
    model.train()
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(model(batch), torch.arange(4))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        assert model(batch).shape == (4, 10)
    backbone = timm.create_model("vt_swin_tiny_patch4_window7_224", shift=False, img_size=64, features_only=True,
                                 out_indices=(1, 2, 3))
    with torch.no_grad():
        assert [f.shape[1] for f in backbone(batch)] == backbone.feature_info.channels() == [192, 384, 768]
