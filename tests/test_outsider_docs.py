"""What a new user meets first: runs/README.md points at a section that exists, docs/grids.md's
grid table lists every shipped grid, a ``vt_`` keyword typo is named as typed, and resizing a
relative position table (a window-resize evaluation) prints none of timm's internal warnings."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_runs_readme_points_at_a_section_that_exists() -> None:
    text = (ROOT / "runs" / "README.md").read_text()
    for doc, section in re.findall(r"`(docs/\w+\.md)` \(\"([^\"]+)\"\)", text):
        assert f"\n## {section}\n" in (ROOT / doc).read_text(), (doc, section)
    assert "docs/runs.md" in text and "README's" not in text


def test_grid_table_lists_every_shipped_grid() -> None:
    shipped = {p.stem for p in (ROOT / "ablations" / "grids").glob("*.py") if not p.stem.startswith("_")}
    table = (ROOT / "docs" / "grids.md").read_text().split("## A grid module", 1)[1].split("\n\n")[2]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert shipped <= listed, sorted(shipped - listed)


@pytest.mark.parametrize("kw", ["shfit", "model.shfit"])
def test_keyword_typo_is_named_as_typed(kw: str) -> None:
    import timm

    import vt_core  # noqa: F401 - registers the vt_ models
    from vt_core.overrides import ConfigError

    with pytest.raises(ConfigError) as e:
        timm.create_model("vt_vit_cpu", **{kw: False})
    msg = str(e.value)
    assert f"unknown keyword {kw!r}" in msg and "'shift'" in msg and "\n" not in msg, msg


def test_window_resize_prints_no_timm_internal_warnings() -> None:
    from vt_core.model import VisionTransformer
    from vt_core.presets import get_preset
    from vt_core.weights.transfer import transfer

    cfg = get_preset("swin_cpu")
    state = VisionTransformer(cfg).state_dict()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = transfer(state, VisionTransformer(cfg.replace(window_size=8)))
    assert any(m.action == "resized" for m in report.moves)
    assert [str(w.message)[:80] for w in caught if issubclass(w.category, UserWarning)] == []
