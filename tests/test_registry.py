"""The registry: every kind a config names resolves through one table, the config layer reads it
without torch, and a new mixer or position encoding is one class plus one registered row."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vt_core
from vt_core import factory, kinds
from vt_core.config import ModelConfig, RunConfig
from vt_core.layers import TokenMixer
from vt_core.overrides import ConfigError

ROOT = Path(__file__).resolve().parents[1]


class ToyPoolMixer(TokenMixer):
    """PoolFormer's token mixer (Yu et al., CVPR 2022): a 3×3 average of the grid minus the token,
    here with a learned per-channel scale so that it has a parameter to train."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    @classmethod
    def from_spec(cls, spec: kinds.BlockSpec) -> "ToyPoolMixer":
        return cls(spec.dim)

    def forward(self, x: torch.Tensor, feat_size: tuple[int, int]) -> torch.Tensor:
        B, N, C = x.shape
        grid = x.transpose(1, 2).reshape(B, C, *feat_size)
        pooled = F.avg_pool2d(grid, 3, stride=1, padding=1, count_include_pad=False)
        return ((pooled - grid).flatten(2).transpose(1, 2)) * self.scale


class ToyAxialPosition(nn.Module):
    """A factorised absolute embedding: one learned vector per row plus one per column."""

    def __init__(self, *, dim: int, grid: tuple[int, int], num_prefix_tokens: int = 0) -> None:
        super().__init__()
        self.rows = nn.Parameter(torch.randn(grid[0], dim) * 0.02)
        self.cols = nn.Parameter(torch.randn(grid[1], dim) * 0.02)
        self.num_prefix_tokens = num_prefix_tokens

    def forward(self, x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        pos = (self.rows[:, None] + self.cols[None]).reshape(grid[0] * grid[1], -1)
        return torch.cat([x[:, :self.num_prefix_tokens], x[:, self.num_prefix_tokens:] + pos], dim=1)

    def set_feat_size(self, grid: tuple[int, int], window: tuple[int, int] | None = None) -> None:
        with torch.no_grad():
            self.rows = nn.Parameter(F.interpolate(self.rows.T[None], size=grid[0], mode="linear")[0].T)
            self.cols = nn.Parameter(F.interpolate(self.cols.T[None], size=grid[1], mode="linear")[0].T)


@pytest.fixture
def toys():
    kinds.register("mixer", "toy_pool", kinds.Mixer(ToyPoolMixer.from_spec))
    kinds.register("pos", "toy_axial", kinds.Position(absolute=ToyAxialPosition))
    yield
    kinds.unregister("mixer", "toy_pool")
    kinds.unregister("pos", "toy_axial")


def test_a_registered_mixer_and_position_train_a_step(toys, tmp_path: Path) -> None:
    from vt_core.train import train

    cfg = RunConfig().replace({
        "model.mixer": "toy_pool", "model.pos": "toy_axial", "model.depths": 2, "model.dims": 32,
        "data.train_size": 32, "data.val_size": 32, "train.epochs": 1, "train.batch_size": 32,
        "train.warmup_epochs": 0,
    })
    model = vt_core.VisionTransformer(cfg.model)
    assert all(isinstance(s.blocks[0].attn, ToyPoolMixer) for s in model.stages)
    assert isinstance(model.pos_embed, ToyAxialPosition)
    x = torch.randn(2, 3, 32, 32)
    model(x).logsumexp(1).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.set_input_size(48)  # the one per-resolution method, on the new position module too
    assert model.pos_embed.rows.shape[0] == 12 and model(torch.randn(1, 3, 48, 48)).shape == (1, 10)

    result = train(cfg, tmp_path / "run", progress=False)  # the real trainer, one optimiser step
    assert result["status"] == "done" and result["epochs"] == 1
    steps = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1]["step"] == 1 and torch.isfinite(torch.tensor(steps[-1]["train_loss"]))


def test_registry_refusals(toys) -> None:
    with pytest.raises(ConfigError, match="exists already"):
        kinds.register("mixer", "window", kinds.Mixer(ToyPoolMixer.from_spec))
    with pytest.raises(ConfigError, match="is a vt_core.kinds.Mixer"):
        kinds.register("mixer", "toy2", kinds.Ffn(ToyPoolMixer.from_spec))
    with pytest.raises(ConfigError, match="shipped"):
        kinds.unregister("mixer", "window")
    with pytest.raises(ConfigError, match="needs global or window attention"):  # traits drive validation
        ModelConfig(mixer="toy_pool", pos="rel")
    with pytest.raises(ConfigError, match="'toy_pool'"):
        ModelConfig(mixer="toy_pool", pool="cls")


def _pool_size_rule(cfg: ModelConfig, i: int) -> None:
    if cfg.window_size[i] % 2 == 0:  # a toy rule on a field the toy reads: an odd pooling size
        raise ConfigError(f"model.window_size: stage {i} {cfg.window_size[i]}: toy_pool needs an odd size")


def test_a_registered_mixer_row_carries_its_own_check() -> None:
    """A registered mixer's settings are checked by the rule its row carries, as the shipped ones are."""
    kinds.register("mixer", "toy_checked", kinds.Mixer(ToyPoolMixer.from_spec, windowed=True, check=_pool_size_rule))
    try:
        ModelConfig(mixer="toy_checked", window_size=3)
        with pytest.raises(ConfigError, match="toy_pool needs an odd size"):
            ModelConfig(mixer="toy_checked", window_size=4)
        with pytest.raises(ConfigError, match="gnConv filter"):  # the traits still apply
            ModelConfig(mixer="toy_checked", window_size=3, gn_filter="gf")
    finally:
        kinds.unregister("mixer", "toy_checked")


@pytest.mark.parametrize("name", sorted(kinds.MIXERS))
def test_no_mixer_name_is_spelled_in_the_config_layer(name: str) -> None:
    """Validation reads the rows' traits and checks: no shipped mixer is special-cased by name."""
    import re

    source = (ROOT / "vt_core" / "config" / "model_config.py").read_text()
    assert not re.search(rf'(==|!=)\s*"{name}"|\bin \([^)]*"{name}"', source)


@pytest.mark.parametrize("family", sorted(kinds.FAMILIES))
def test_every_shipped_row_resolves(family: str) -> None:
    for name, kind in kinds.FAMILIES[family].items():
        targets = [kind.absolute, kind.relative] if family == "pos" else [kind.target]
        for target in filter(None, targets):
            assert callable(factory.resolve(target)), (family, name, target)


CONFIG_LAYER = sorted(str(p.relative_to(ROOT / "vt_core")) for p in (ROOT / "vt_core" / "config").glob("*.py")) + [
    "kinds.py", "overrides.py"]


@pytest.mark.parametrize("module", CONFIG_LAYER)
def test_the_config_layer_imports_neither_torch_nor_the_factory(module: str) -> None:
    """The config package learns the kind names from kinds.py, which names builders by path: no
    cycle with factory.py, no torch or timm at import."""
    tree = ast.parse((ROOT / "vt_core" / module).read_text())
    imported = set()
    for node in tree.body:  # module level only: imports inside functions run when called
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
            imported |= {("." * node.level) + a.name for a in node.names if node.module is None}
    assert not {m for m in imported if m.split(".")[0] in ("torch", "timm")}, imported
    assert not {m for m in imported if m.lstrip(".").split(".")[0] in ("factory", "layers", "model")}, imported


def test_grid_planning_does_not_import_the_trainer() -> None:
    tree = ast.parse((ROOT / "ablations" / "planning" / "grid.py").read_text())
    names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(n == "vt_core.train" or n.startswith("vt_core.train.") for n in names), names
