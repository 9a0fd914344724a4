"""Register the ``concur_nb`` joblib backend as soon as joblib is imported, without importing
joblib ourselves (it costs ~0.2 s, which ``import concur_nb`` and every worker would pay).

``install()`` registers at once if joblib is already loaded; otherwise it adds a finder to
``sys.meta_path`` that lets the normal import of ``joblib`` run and registers right after.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any


def _register() -> None:
    try:
        from ._joblib import register

        register()
    except Exception as exc:  # joblib itself must still import
        warnings.warn(f"concur_nb could not register its joblib backend: {exc!r}", stacklevel=2)


class _RegisterAfterLoad(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _register()


class _JoblibWatcher(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "joblib":
            return None
        sys.meta_path.remove(self)  # once is enough; and let the real finders answer
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfterLoad(spec.loader)
        return spec


def install() -> None:
    if "joblib" in sys.modules:
        _register()
    elif not any(isinstance(finder, _JoblibWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _JoblibWatcher())
