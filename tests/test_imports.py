"""Commands that build no model import neither torch nor timm; ``import vt_core`` still registers
every preset with timm, in either import order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "timm", "torchvision")
# runs a script as __main__ and reports which heavy modules it loaded, whatever its exit code
PROBE = """
import json, runpy, sys
script, out = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit:
    pass
open(out, "w").write(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
""".format(heavy=HEAVY)


def loaded_by(tmp_path: Path, script: str, *args: str) -> list[str]:
    out = tmp_path / "loaded.json"
    subprocess.run([sys.executable, "-c", PROBE, str(ROOT / script), str(out), *args], cwd=ROOT,
                   capture_output=True, text=True, timeout=120)
    return json.loads(out.read_text())


@pytest.mark.parametrize("args", [
    ["--help"],
    ["--grid", "nosuchgrid"],
    ["--grid", "relpos_vs_abs", "--profile", "nosuchprofile"],
    ["--grid", "relpos_vs_abs", "--set", "model.pos=sideways"],
    ["--grid", "relpos_vs_abs", "--status"],
], ids=["help", "unknown-grid", "unknown-profile", "bad-set", "status"])
def test_launcher_answers_without_torch(tmp_path, args):
    assert loaded_by(tmp_path, "ablations/launch.py", *args, "--runs-dir", str(tmp_path / "runs")) == []


@pytest.mark.slow
def test_dry_run_with_cached_estimates_imports_no_torch(tmp_path):
    runs = tmp_path / "runs"
    first = subprocess.run([sys.executable, "ablations/launch.py", "--grid", "relpos_vs_abs", "--dry-run",
                            "--calibrate", "--runs-dir", str(runs)], cwd=ROOT, capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr
    assert (runs / ".model_sizes.json").is_file() and (runs / ".calibration.json").is_file()
    # the first plan built and measured the models; a second one reads both caches
    assert loaded_by(tmp_path, "ablations/launch.py", "--grid", "relpos_vs_abs", "--dry-run",
                     "--runs-dir", str(runs)) == []


def test_uncached_dry_run_does_build(tmp_path):
    """The check is real: without caches the plan builds every model (and so imports torch)."""
    assert "torch" in loaded_by(tmp_path, "ablations/launch.py", "--grid", "relpos_vs_abs", "--dry-run",
                                "--runs-dir", str(tmp_path / "runs"))


@pytest.mark.parametrize("code", [
    "import vt_core, timm; m = timm.create_model('vt_vit_cpu')",
    "import timm, vt_core; m = timm.create_model('vt_vit_cpu')",
    "import vt_core; from timm import create_model; m = create_model('vt_vit_cpu')",
    "import vt_core.model, timm; m = timm.create_model('vt_vit_cpu')",
], ids=["vt_core-first", "timm-first", "from-timm", "model-first"])
def test_vt_models_registered_in_any_import_order(code):
    done = subprocess.run([sys.executable, "-c", code + "; print(type(m).__name__)"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "VisionTransformer"


def test_import_vt_core_is_light():
    code = ("import sys, vt_core, vt_core.kinds, vt_core.config, vt_core.data; vt_core.list_presets(); "
            "print([m for m in %r if m in sys.modules])" % (HEAVY,))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_known_optimizers_are_timms():
    from timm.optim import list_optimizers

    from vt_core.config.run_config import KNOWN_OPTIMIZERS

    assert sorted(KNOWN_OPTIMIZERS) == sorted(list_optimizers())


def test_probe_catalog_matches_the_generators():
    from vt_core.data.catalog import PROBE_NUM_CLASSES
    from vt_core.data.probes import PROBES

    assert {n: p.num_classes for n, p in PROBES.items()} == PROBE_NUM_CLASSES


def test_mixers_and_layers_are_fx_leaves():
    import timm  # noqa: F401
    from timm.layers._fx import _leaf_modules

    from vt_core.layers import PatchMerging, RelativePositionBias, WindowAttention
    from vt_core.layers.mixer import TokenMixer

    class ToyMixer(TokenMixer):
        pass

    assert {WindowAttention, PatchMerging, RelativePositionBias, ToyMixer} <= _leaf_modules


def test_the_report_imports_no_torch(tmp_path):
    from tests.support.report_runs import build_runs

    runs = tmp_path / "runs"
    build_runs(runs)
    assert loaded_by(tmp_path, "ablations/report.py", "--grid", "toy", "--runs-dir", str(runs),
                     "--out", str(tmp_path / "report")) == []
    assert (tmp_path / "report" / "report.md").is_file()  # it did write the report


def test_report_help_imports_no_torch(tmp_path):
    assert loaded_by(tmp_path, "ablations/report.py", "--help") == []
