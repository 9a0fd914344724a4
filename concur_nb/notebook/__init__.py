"""The notebook front-end: magics, the live dashboard, charts, tuning and sweeps.

Importing this package imports no UI library; each piece loads IPython, ipywidgets or plotly
when first used (the engine may import ``concur_nb.notebook.auto`` outside a notebook).

``%load_ext concur_nb`` (or ``%load_ext concur_nb.notebook``) registers the magics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dashboard import Dashboard as Dashboard
    from .sweep import SweepResult as SweepResult
    from .tuning import Tuner as Tuner
    from .tuning import tune as tune

# The functions ``dashboard`` and ``sweep`` share their module's name, so they are reached as
# ``concur_nb.dashboard`` / ``concur_nb.sweep`` (or ``concur_nb.notebook.dashboard.dashboard``).
_LAZY = {"Dashboard": "dashboard", "Tuner": "tuning", "tune": "tuning", "SweepResult": "sweep"}


def load_ipython_extension(ip: Any) -> None:
    """Register the ``%%concurrent`` magics with the IPython shell ``ip``."""
    from .magics import ConcurrentMagics

    ip.register_magics(ConcurrentMagics)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["Dashboard", "SweepResult", "Tuner", "load_ipython_extension", "tune"]
