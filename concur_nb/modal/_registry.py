"""The named ``App``s of this process, for ``Function.from_name`` and ``Cls.from_name``.

On Modal these look up deployed apps; here an ``App("name")`` is "deployed" once it is made
(the latest one with a name wins), and ``App.deploy(name=...)`` registers it under that name.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from .._errors import NotFoundError


class _Named(Protocol):
    registered_functions: dict[str, Any]
    registered_classes: dict[str, Any]


_apps: dict[str, _Named] = {}
_lock = threading.Lock()


def register(name: str, app: _Named) -> None:
    with _lock:
        _apps[name] = app


def lookup(app_name: str, name: str, kind: str) -> Any:
    with _lock:
        app = _apps.get(app_name)
        known = sorted(_apps)
    if app is None:
        raise NotFoundError(
            f"no App named {app_name!r} in this process (named Apps here: {known}); locally, "
            f"from_name finds the functions of an App(name={app_name!r}) defined in this process."
        )
    table = app.registered_functions if kind == "function" else app.registered_classes
    found = table.get(name)
    if found is None:
        raise NotFoundError(
            f"App {app_name!r} has no {kind} named {name!r}; its {kind}s: {sorted(table)}."
        )
    return found
