"""ModelConfig: dotted overrides from strings, per-stage broadcast, and refusals of every illegal
combination with a one-line ConfigError naming the field, the value and why."""

from __future__ import annotations

import dataclasses

import pytest

from vt_core import ConfigError, create_model, get_preset
from vt_core.config import RunConfig
from vt_core.overrides import parse_assignment, parse_value


# ----------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    "text,value",
    [
        ("[[8,4],[4,2],[2,1],[1]]", [[8, 4], [4, 2], [2, 1], [1]]),
        ("4", 4),
        ("true", True),
        ("false", False),
        ("1e-3", 1e-3),
        ("3E-4", 3e-4),
        ("0.5", 0.5),
        ("rel", "rel"),
        ("abs+rel", "abs+rel"),
        ("[7, 7, 14, 7]", [7, 7, 14, 7]),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_parse_assignment():
    assert parse_assignment("model.kv_ratios=[[8,4],[4,2],[2,1],[1]]") == ("model.kv_ratios",
                                                                          [[8, 4], [4, 2], [2, 1], [1]])
    assert parse_assignment(" model.pos = rel ") == ("model.pos", "rel")
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignment("model.pos")


def test_dotted_overrides_from_strings():
    run = RunConfig(model=get_preset("shunted_t"))
    run = run.replace(
        {
            "model.kv_ratios": "[[8,4],[4,2],[2,1],[1]]",
            "model.ffn": "mlp",
            "model.qkv_bias": "false",
            "model.drop_path": "1e-3",
            "train.lr": "1e-3",
            "model.img_size": "256",
        }
    )
    m = run.model
    assert m.kv_ratios == ((8, 4), (4, 2), (2, 1), (1,))
    assert m.ffn == "mlp" and m.qkv_bias is False and m.drop_path == 1e-3 and m.img_size == 256
    assert run.train.lr == 1e-3 and isinstance(run.train.lr, float)


def test_overrides_typed_and_untyped_agree():
    base = get_preset("swin_cpu")
    assert base.replace(window_size="4") == base.replace(window_size=4) == base.replace(window_size=[4, 4])
    assert base.replace(shift="false") == base.replace(shift=False) == base.replace(shift="off")
    assert base.replace(shift="true").shift is True
    assert base.replace(drop_path="1e-3").drop_path == pytest.approx(1e-3)
    assert base.replace(mlp_ratio="[2, 3]").mlp_ratio == (2.0, 3.0)
    assert base.replace(**{"pos": "abs+rel"}).pos == "abs+rel"
    model = create_model("swin_cpu", **{"model.window_size": "2", "shift": "false"})
    assert model.cfg.window_size == (2, 2) and model.cfg.shift is False


def test_per_stage_broadcast():
    cfg = get_preset("swin_cpu").replace(window_size=2, mixer="window", heads=4, mlp_ratio=3, gn_order=2)
    assert cfg.window_size == (2, 2) and cfg.mixer == ("window", "window") and cfg.heads == (4, 4)
    assert cfg.mlp_ratio == (3.0, 3.0) and cfg.gn_order == (2, 2)
    cfg = get_preset("shunted_cpu").replace(kv_ratios=[[2, 1]])
    assert cfg.kv_ratios == ((2, 1), (2, 1))
    cfg = get_preset("pvt_cpu").replace(kv_ratios=2)
    assert cfg.kv_ratios == ((2,), (2,))
    cfg = get_preset("pvt_cpu").replace(kv_ratios=[4, 2])  # one ratio per stage
    assert cfg.kv_ratios == ((4,), (2,))
    cfg = get_preset("swin_cpu").replace(window_size=[2, 4], mixer=["window", "global"])
    assert cfg.window_size == (2, 4) and cfg.mixer == ("window", "global")


def test_shunted_presets_follow_the_official_configuration():
    for name, depths, convs in [("shunted_t", (1, 2, 4, 1), 0), ("shunted_s", (2, 4, 12, 1), 1),
                                ("shunted_b", (3, 4, 24, 2), 2)]:
        cfg = get_preset(name)
        assert cfg.depths == depths and cfg.stem_convs == convs and cfg.stem == "conv"
        assert cfg.dims == (64, 128, 256, 512) and cfg.heads == (2, 4, 8, 16) and cfg.mlp_ratio == (8, 8, 4, 4)
        assert cfg.kv_ratios == ((8, 4), (4, 2), (2, 1), (1,)) and cfg.ffn == "ds" and cfg.pos == "none"


def test_config_is_frozen_and_hashable():
    cfg = get_preset("vit_cpu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.pos = "rel"  # type: ignore[misc]
    assert hash(cfg) == hash(get_preset("vit_cpu"))


# ----------------------------------------------------------------------------- refusals
REFUSALS = [
    # (id, preset, overrides, key that must be named, value text that must appear)
    ("heads_not_dividing_dim", "vit_cpu", {"heads": 5}, "model.heads", "5"),
    ("heads_not_dividing_dim_stage1", "swin_cpu", {"heads": [2, 5]}, "model.heads", "96"),
    ("heads_not_splitting_into_kv_groups", "shunted_cpu", {"kv_ratios": [[4, 2, 1], [1]]}, "model.kv_ratios",
     "[4, 2, 1]"),
    ("odd_heads_two_groups", "vit_cpu", {"mixer": "shunted", "pool": "mean", "kv_ratios": [[2, 1]]}, "model.kv_ratios",
     "3 heads"),
    ("sr_with_two_ratios", "pvt_cpu", {"kv_ratios": [[2, 1], [1]]}, "model.kv_ratios", "'sr'"),
    ("kv_ratio_zero", "pvt_cpu", {"kv_ratios": [0, 1]}, "model.kv_ratios", "0"),
    ("kv_ratio_larger_than_map", "pvt_cpu", {"kv_ratios": [16, 1]}, "model.kv_ratios", "16"),
    ("shunted_ratio_larger_than_map", "shunted_cpu", {"kv_ratios": [[16, 8], [1]]}, "model.kv_ratios", "16"),
    ("pool_cls_with_window", "vit_cpu", {"mixer": "window"}, "model.pool", "'window'"),
    ("pool_cls_with_gnconv", "vit_cpu", {"mixer": "gnconv"}, "model.pool", "'gnconv'"),
    ("pool_cls_hierarchical", "swin_cpu", {"pool": "cls"}, "model.pool", "'cls'"),
    ("pool_cls_with_ds_ffn", "vit_cpu", {"ffn": "ds"}, "model.ffn", "'ds'"),
    ("pos_rel_with_sr", "pvt_cpu", {"pos": "rel"}, "model.pos", "'sr'"),
    ("pos_abs_rel_with_shunted", "shunted_cpu", {"pos": "abs+rel"}, "model.pos", "'shunted'"),
    ("pos_rel_with_gnconv", "hornet_cpu", {"pos": "rel"}, "model.pos", "'gnconv'"),
    ("appearance_off_without_rel", "vit_cpu", {"appearance": False}, "model.appearance", "'abs'"),
    ("appearance_off_pos_none", "swin_cpu", {"appearance": False, "pos": "none"}, "model.appearance", "'none'"),
    ("wrong_per_stage_length", "swin_cpu", {"window_size": [4, 4, 4]}, "model.window_size", "[4, 4, 4]"),
    ("wrong_per_stage_length_mixer", "swin_cpu", {"mixer": ["window", "global", "sr"]}, "model.mixer", "3 entries"),
    ("wrong_per_stage_length_kv", "shunted_cpu", {"kv_ratios": [[2, 1], [1], [1]]}, "model.kv_ratios", "3 entries"),
    ("bad_pos", "vit_cpu", {"pos": "relative"}, "model.pos", "'relative'"),
    ("bad_mixer", "swin_cpu", {"mixer": "windows"}, "model.mixer", "'windows'"),
    ("bad_ffn", "swin_cpu", {"ffn": "conv"}, "model.ffn", "'conv'"),
    ("bad_pool", "swin_cpu", {"pool": "max"}, "model.pool", "'max'"),
    ("bad_stem", "swin_cpu", {"stem": "resnet"}, "model.stem", "'resnet'"),
    ("bad_downsample", "swin_cpu", {"downsample": "pool"}, "model.downsample", "'pool'"),
    ("bad_layout", "swin_cpu", {"layout": "pyramid"}, "model.layout", "'pyramid'"),
    ("gn_order_not_dividing_dim", "hornet_cpu", {"gn_order": 6}, "model.gn_order", "6"),
    ("gn_order_zero", "hornet_cpu", {"gn_order": 0}, "model.gn_order", "0"),
    ("window_zero", "swin_cpu", {"window_size": 0}, "model.window_size", "0"),
    ("isotropic_with_stages", "vit_cpu", {"depths": [2, 2]}, "model.depths", "[2, 2]"),
    ("no_stages", "vit_cpu", {"depths": []}, "model.depths", "stage"),
    ("depth_zero", "swin_cpu", {"depths": [2, 0]}, "model.depths", "depth 0"),
    ("img_smaller_than_stem", "vit_cpu", {"img_size": 2}, "model.img_size", "2"),
    ("drop_path_out_of_range", "vit_cpu", {"drop_path": 1.5}, "model.drop_path", "1.5"),
    ("mlp_ratio_zero", "vit_cpu", {"mlp_ratio": 0}, "model.mlp_ratio", "0"),
    ("num_classes_negative", "vit_cpu", {"num_classes": -1}, "model.num_classes", "-1"),
    ("negative_stem_convs", "shunted_cpu", {"stem_convs": -1}, "model.stem_convs", "-1"),
    ("not_an_int", "swin_cpu", {"window_size": "abc"}, "model.window_size", "'abc'"),
    ("fractional_int", "vit_cpu", {"img_size": 3.5}, "model.img_size", "3.5"),
    ("not_a_bool", "swin_cpu", {"shift": "maybe"}, "model.shift", "'maybe'"),
    ("not_a_number", "vit_cpu", {"drop_path": "lots"}, "model.drop_path", "'lots'"),
    ("list_for_a_string", "vit_cpu", {"pos": ["abs", "rel"]}, "model.pos", "['abs', 'rel']"),
    ("null", "vit_cpu", {"pos": None}, "model.pos", "null"),
]


@pytest.mark.parametrize("preset,overrides,key,value", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_field_value_and_reason(preset, overrides, key, value):
    with pytest.raises(ConfigError) as info:
        get_preset(preset).replace(**overrides)
    msg = str(info.value)
    assert "\n" not in msg, msg
    assert key in msg, msg
    assert value in msg, msg
    assert len(msg) > len(key) + len(value) + 10, f"no reason given: {msg}"  # more than key and value


@pytest.mark.parametrize("preset,overrides,key,value", [r[1:] for r in REFUSALS[:8]], ids=[r[0] for r in REFUSALS[:8]])
def test_refusals_also_from_dotted_strings(preset, overrides, key, value):
    """The same refusal through a RunConfig and string values, as a grid or the CLI gives them."""
    run = RunConfig(model=get_preset(preset))
    with pytest.raises(ConfigError) as info:
        run.replace({f"model.{k}": str(v) if not isinstance(v, str) else v for k, v in overrides.items()})
    assert key in str(info.value) and "\n" not in str(info.value)


def test_unknown_key_with_suggestion():
    with pytest.raises(ConfigError) as info:
        get_preset("swin_cpu").replace(windw_size=4)
    msg = str(info.value)
    assert "\n" not in msg and "model.windw_size" in msg and "did you mean 'model.window_size'" in msg
    with pytest.raises(ConfigError) as info:
        RunConfig().replace({"model.kv_ratio": "[1]"})
    assert "model.kv_ratio" in str(info.value) and "model.kv_ratios" in str(info.value)
    with pytest.raises(ConfigError) as info:
        RunConfig().replace({"modle.pos": "rel"})
    assert "modle" in str(info.value) and "'model'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        RunConfig().replace({"model.pos.kind": "rel"})
    assert "model.pos" in str(info.value) and "\n" not in str(info.value)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'swin_cpuu'"):
        get_preset("swin_cpuu")


@pytest.mark.parametrize(
    "preset,overrides",
    [
        ("vit_cpu", {"mixer": "window", "pool": "mean", "window_size": 4}),
        ("vit_cpu", {"pos": "rel", "appearance": False}),
        ("swin_cpu", {"pos": "abs+rel"}),
        ("swin_cpu", {"window_size": 64}),  # larger than the map: clamped, not refused
        ("swin_cpu", {"window_size": 3}),  # 16×16 not divisible by 3: padded, not refused
        ("shunted_cpu", {"kv_ratios": [[1, 1], [1]]}),
        ("pvt_cpu", {"kv_ratios": [8, 4]}),  # = the map: one key token
        ("hornet_cpu", {"gn_order": 5}),
        ("pvt_cpu", {"ffn": "ds"}),
    ],
)
def test_legal_combinations_pass(preset, overrides):
    get_preset(preset).replace(**overrides)


def test_window_clamp_is_noted():
    cfg = get_preset("swin_cpu").replace(window_size=64)
    assert cfg.stage_windows() == [(16, 0), (8, 0)]
    assert any("clamped" in n for n in cfg.notes())
    cfg = get_preset("swin_cpu").replace(window_size=3)
    assert cfg.stage_windows() == [(3, 1), (3, 1)]
    assert any("padded" in n for n in cfg.notes())


def test_run_id_hashes_departures_from_defaults() -> None:
    """A field at its default (e.g. one added in a later version) does not enter the id; any field
    away from its default does; the fingerprint covers every field."""
    from vt_core.config import RunConfig

    base = RunConfig()
    assert base.replace({"train.lr": base.train.lr, "model.pos": base.model.pos}).run_id() == base.run_id()
    moved = base.replace({"train.lr": 2e-3})
    assert moved.run_id() != base.run_id() and moved.departures()["train"] == {"lr": 2e-3}
    assert base.replace({"model.pos": "rel"}).run_id() not in (base.run_id(), moved.run_id())
    assert moved.fingerprint() != base.fingerprint() and len(base.run_id()) == 12


RECIPE_REFUSALS = [  # every recipe value is checked when the config is built: at planning, not at run time
    ("lr_nan", {"train.lr": "nan"}, "train.lr"), ("lr_inf", {"train.lr": "inf"}, "train.lr"),
    ("lr_overflow", {"train.lr": "1e999"}, "train.lr"), ("min_lr_nan", {"train.min_lr": "nan"}, "train.min_lr"),
    ("min_lr_negative", {"train.min_lr": -1e-5}, "train.min_lr"),
    ("weight_decay_nan", {"train.weight_decay": "nan"}, "train.weight_decay"),
    ("weight_decay_negative", {"train.weight_decay": -0.1}, "train.weight_decay"),
    ("warmup_lr_nan", {"train.warmup_lr": "nan"}, "train.warmup_lr"),
    ("clip_grad_nan", {"train.clip_grad": "nan"}, "train.clip_grad"),
    ("ema_decay_out_of_range", {"train.ema_decay": 1.5}, "train.ema_decay"),
    ("opt_unknown", {"train.opt": "foo"}, "train.opt"), ("sched_unknown", {"train.sched": "foo"}, "train.sched"),
    ("sched_plateau", {"train.sched": "plateau"}, "train.sched"),
    ("seed_too_large", {"train.seed": 2**64}, "train.seed"), ("seed_negative", {"train.seed": -1}, "train.seed"),
    ("data_seed_too_large", {"data.seed": 2**64}, "data.seed"),
    ("mixup_nan", {"data.mixup": "nan"}, "data.mixup"), ("cutmix_inf", {"data.cutmix": "inf"}, "data.cutmix"),
    ("reprob_above_one", {"data.reprob": 1.5}, "data.reprob"),
    ("mlp_ratio_nan", {"model.mlp_ratio": "nan"}, "model.mlp_ratio"),
    ("gn_scale_inf", {"model.gn_scale": "inf"}, "model.gn_scale"),
    ("norm_eps_zero", {"model.norm_eps": 0}, "model.norm_eps"),
]


@pytest.mark.parametrize("overrides,key", [r[1:] for r in RECIPE_REFUSALS], ids=[r[0] for r in RECIPE_REFUSALS])
def test_recipe_values_are_checked(overrides, key):
    with pytest.raises(ConfigError) as info:
        RunConfig().replace(overrides)
    msg = str(info.value)
    assert "\n" not in msg and key in msg, msg
