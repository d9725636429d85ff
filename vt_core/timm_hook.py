"""Registration of the ``vt_`` presets with timm, deferred until timm itself is imported.

``import vt_core`` must stay cheap (the launcher's ``--help``, ``--status`` and refusals build no model
and must not pay torch's import), yet ``import vt_core; timm.create_model("vt_vit_cpu")`` must keep
working. So: if timm is already imported, register now; otherwise a one-shot import hook runs timm's
own loader and then registers, and removes itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Sequence


def _register() -> None:
    importlib.import_module("vt_core.timm_models")


class _RegisterAfterTimm(importlib.abc.MetaPathFinder):
    """Finds ``timm`` the usual way and wraps its loader so registration follows its execution."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != "timm":
            return None
        sys.meta_path.remove(self)  # one shot: the normal finders locate timm
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            original_exec(module)
            _register()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Register now if timm is loaded, else once timm is first imported (idempotent)."""
    if "timm" in sys.modules:
        _register()
    elif not any(isinstance(finder, _RegisterAfterTimm) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterTimm())
