"""The view that appears by itself when a blocking call runs long in a notebook.

The core never imports this module: ``concur_nb/__init__.py`` installs a ``_hooks.long_wait``
that imports it and calls ``maybe_show(fn, call)`` once a blocking call in a kernel has waited
``_hooks.AUTO_VIEW_AFTER`` seconds. It shows a live dashboard in the running cell when that can
help, and does nothing (quickly) otherwise:

- not in a Jupyter kernel (a script, terminal IPython), or not on the kernel's main thread;
- turned off: ``concur_nb.notebook.auto.enabled = False`` or ``CONCUR_NB_AUTO_DASHBOARD=0``;
- this cell already shows a view of ``fn`` (one per function per cell, not one per call), or
  the call already has a view (``Dashboard(f, call=call)`` in an earlier cell).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ._env import in_kernel, ipython

enabled = os.environ.get("CONCUR_NB_AUTO_DASHBOARD", "1").strip().lower() not in (
    "0",
    "false",
    "no",
    "off",
)

_shown: dict[tuple[int, int], Any] = {}  # (id(fn), execution count) -> the dashboard shown


def maybe_show(fn: Any, call: Any = None) -> Any:
    """Show the live view of ``call`` (a ``FunctionCall`` of ``fn``) in the current cell if
    that is useful; return it or None. Without a call, the view of ``fn``'s totals."""
    if not enabled or not in_kernel() or threading.current_thread() is not threading.main_thread():
        return None
    shell = ipython()
    key = (id(fn), getattr(shell, "execution_count", 0))
    if key in _shown:
        return None
    from IPython.display import display

    from .dashboard import Dashboard
    from .showing import shown_calls

    if getattr(call, "object_id", None) in shown_calls:
        return None  # this call has a view already (shown in an earlier cell, say)

    # Forget dashboards of earlier cells: a cell's dashboard only dedupes within that cell.
    for old in [k for k in _shown if k[1] != key[1]]:
        del _shown[old]
    # Only a handle with cancel() drives the "Cancel call" button; otherwise it cancels all.
    dash = Dashboard(fn, call=call if callable(getattr(call, "cancel", None)) else None)
    _shown[key] = dash
    display(dash)  # live; or the call's summary, if it ended meanwhile
    return dash


def mark_shown(fn: Any, dashboard: Any) -> None:
    """Record that the current cell already shows ``dashboard`` for ``fn`` (magics use this)."""
    shell = ipython()
    if shell is not None:
        _shown[(id(fn), getattr(shell, "execution_count", 0))] = dashboard
