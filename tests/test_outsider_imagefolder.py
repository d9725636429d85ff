"""ImageFolder data that is broken past what the layout check opens: an image deep in a class that
does not decode stops the run in one line naming the file and ``data.skip_broken`` (exit 2, also
when a DataLoader worker met it); a tree with fewer than 2 classes is refused before training."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.support.training import cli
from vt_core.config import DataConfig
from vt_core.data import load_data
from vt_core.overrides import ConfigError
from vt_core.run_folder import run_state


def _tree(root: Path, classes=("a", "b")) -> Path:
    for split in ("train", "val"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (16, 16), (i * 40, 0, 0)).save(d / f"{i}.jpg")
    return root


def _truncated_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "JPEG")
    return buf.getvalue()[:200]


@pytest.mark.parametrize(("name", "content", "workers"), [
    ("5.jpg", _truncated_jpeg(), 1), ("9.png", b"", 0),
], ids=["truncated jpeg, worker", "zero-byte png, main process"])
def test_broken_image_deep_in_a_class_is_one_line(tmp_path: Path, name: str, content: bytes, workers: int) -> None:
    root = _tree(tmp_path / "data")
    broken = root / "train" / "b" / name  # not the first file of its class: the layout check passes it
    broken.write_bytes(content)
    out = tmp_path / "run"
    proc = cli(out, "--preset", "vit_cpu", "--set", "data.name=imagefolder", f"data.root={root}",
               "train.batch_size=2", "train.epochs=1", "train.warmup_epochs=0", f"data.workers={workers}")
    code = proc.wait(timeout=300)
    err = proc.stderr.read().strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(broken) in err and "data.skip_broken" in err, err
    assert run_state(out) == "failed" and "Traceback" not in (out / "error.txt").read_text()


def test_one_class_is_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "data", classes=("only",))
    with pytest.raises(ConfigError) as e:
        load_data(DataConfig(name="imagefolder", root=str(root), workers=0), img_size=8)
    msg = str(e.value)
    assert "\n" not in msg and str(root / "train") in msg and "one class folder (only)" in msg and "2" in msg
