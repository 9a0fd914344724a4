"""Where a view shows in a notebook: under its cell with a display id, re-published frozen
before the cell ends, or docked in a JupyterLab side panel.
"""

from __future__ import annotations

from typing import Any, Protocol

from .._errors import InvalidError
from .scope import CallScope, FunctionScope


class CallView(Protocol):
    """A call's view that freezes into its static summary once the call ended."""

    frozen: str | None
    scope: CallScope | FunctionScope
    _following: bool

    def _redraw(self, full: bool) -> Any: ...

    def freeze(self) -> str: ...

    def publish_frozen(self) -> None: ...


# Ids of calls a view was shown for (oldest first): a later wait on the same call, in another
# cell, shows no second view of it.
shown_calls: dict[str, None] = {}

# Call views shown and not frozen yet. A view must freeze before its cell's execution ends:
# JupyterLab applies a display update only while the cell that showed it is running, so a
# blocking call's view is frozen in the kernel's own post_execute step, not by a thread race.
_unfrozen: list[CallView] = []
_hooked: set[int] = set()


def freeze_at_cell_end(view: CallView) -> None:
    from ._env import ipython

    shell = ipython()
    if shell is None:
        return
    _unfrozen.append(view)
    if id(shell) not in _hooked:
        _hooked.add(id(shell))
        shell.events.register("post_execute", _freeze_ended_views)


def _freeze_ended_views() -> None:
    """At each cell's end, in the kernel's thread: freeze the views whose call ended. A view
    the refresher thread froze since is published again here, in a running cell: the thread's
    update goes out under the latest cell, which may have ended by then (then nothing applies
    it, and the saved notebook would keep the live view)."""
    for view in list(_unfrozen):
        if view.frozen is None:
            view._redraw(full=True)
            if view.scope.finished:
                view.freeze()
        else:  # the refresher thread froze it since the cell that showed it
            view.publish_frozen()
        if view.frozen is not None or not view._following:
            _unfrozen.remove(view)


def publish(bundle: dict[str, Any], display_id: str, update: bool) -> None:
    from IPython.display import display

    display(bundle, raw=True, display_id=display_id, update=update)


def open_panel(title: str, widget: Any) -> Any:
    """Show ``widget`` docked in a JupyterLab side panel (the sidecar package); the panel."""
    from IPython.display import display

    try:
        from sidecar import Sidecar
    except ImportError as exc:
        raise InvalidError(
            "Dashboard(where='panel') needs the sidecar package: pip install sidecar "
            "(or concur-nb[notebook]), then reload JupyterLab."
        ) from exc
    panel = Sidecar(title=title[:40])
    with panel:
        display(widget)
    return panel
