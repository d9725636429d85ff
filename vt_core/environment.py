"""What a measurement ran on, recorded the same way by a run's ``result.json`` and by the benchmark."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def may_have_gpu() -> bool:
    """Whether this process could see an NVIDIA GPU, answered without importing torch (the launcher's
    planning on a CPU machine stays torch-free): the driver lists its GPUs under /proc and
    CUDA_VISIBLE_DEVICES does not hide them all. True only means torch should be asked."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    try:
        return any(Path("/proc/driver/nvidia/gpus").iterdir())
    except OSError:
        return False


def device_name(device: "torch.device") -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_name()}, {os.cpu_count()} cores)"


def describe(device: "torch.device") -> dict[str, Any]:
    """Versions, device and torch threads."""
    import numpy
    import timm
    import torch
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "numpy": numpy.__version__,
        "device": device_name(device),
        "threads": torch.get_num_threads(),
    }


REPO = Path(__file__).resolve().parents[1]


def git_commit(repo: Path | None = None) -> str:
    """The checkout's commit, or "unknown" outside a git checkout."""
    repo = repo or REPO
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_dirty(repo: Path | None = None) -> bool | None:
    """Whether tracked files differ from the commit (None outside a git checkout)."""
    repo = repo or REPO
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def git_diff(repo: Path | None = None) -> str:
    """``git diff HEAD`` of the tracked files ("" when clean or outside a git checkout)."""
    repo = repo or REPO
    try:
        out = subprocess.run(["git", "diff", "HEAD", "--no-color"], cwd=repo, capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout if out.returncode == 0 else ""


def provenance() -> dict[str, object]:
    """Which code ran: the commit and whether the tracked files differed from it."""
    return {"git_commit": git_commit(), "git_dirty": git_dirty()}
