"""Which event loop an async container runs on: uvloop when it is installed, unless turned off.

Each async container owns its loop and the thread that runs it, so the choice is the engine's
alone: the user's code only ever sees "the running loop". uvloop (``pip install
'concur-nb[fast]'``) is built for fast network I/O; on W4 (100,000 inputs that only sleep) it
is as fast or up to a fifth faster. Either kind is subclassed to keep the identity of the inputs
that schedule work on it (``pinning.py``).

The choice, first that applies: ``set_uvloop(True/False)``; the ``CONCUR_NB_UVLOOP``
environment variable (``1`` on, ``0`` off); else uvloop whenever it can be imported. It is read
each time a container starts its loop, so containers already running keep theirs.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .._errors import InvalidError
from .pinning import is_uvloop_class, pinned_task, pinning

ENV = "CONCUR_NB_UVLOOP"
_ENV_VALUES = {"1": True, "0": False, "": None}
_FIX = "install it with `pip install 'concur-nb[fast]'` (or `pip install uvloop`)"

_chosen: bool | None = None  # set_uvloop's choice; None: the environment variable decides


def set_uvloop(enabled: bool | None) -> None:
    """Choose whether async functions run on uvloop, for containers started from now on.

    - ``True``: always (an ``InvalidError`` now if uvloop is not installed).
    - ``False``: never; the standard library's asyncio loop.
    - ``None``: back to the default: the ``CONCUR_NB_UVLOOP`` environment variable (``1``
      on, ``0`` off), else uvloop whenever it is installed (``pip install 'concur-nb[fast]'``).

    Example::

        concur_nb.set_uvloop(False)   # e.g. to rule uvloop out while chasing a bug
    """
    global _chosen
    if enabled is not None and type(enabled) is not bool:
        raise InvalidError(
            f"set_uvloop(enabled={enabled!r}): enabled must be True (always uvloop), False "
            "(never) or None (the default: CONCUR_NB_UVLOOP, else uvloop when installed)."
        )
    if enabled and _import_uvloop() is None:
        raise InvalidError(f"set_uvloop(True): uvloop is not installed here; {_FIX}.")
    _chosen = enabled


def wanted() -> bool | None:
    """True (uvloop or fail), False (stdlib) or None (uvloop if installed), as chosen now."""
    if _chosen is not None:
        return _chosen
    value = os.environ.get(ENV, "").strip()
    if value not in _ENV_VALUES:
        raise InvalidError(
            f"{ENV}={value!r}: set it to 1 (always run async functions on uvloop), 0 (never), "
            "or leave it unset (uvloop when it is installed)."
        )
    return _ENV_VALUES[value]


def far_side_env() -> dict[str, str]:
    """The explicit choice, as environment for a worker process: where it was made here,
    out-of-process containers follow it; left automatic, each host decides for itself."""
    try:
        choice = wanted()
    except InvalidError:
        return {}  # a bad value: the container's own start reports it (a local one inherits it)
    return {} if choice is None else {ENV: "1" if choice else "0"}


def new_loop() -> asyncio.AbstractEventLoop:
    """A fresh event loop for an async container, of the kind chosen (see the module's doc),
    that keeps the identity of the inputs that schedule work on it (``pinning.py``)."""
    loop = pinning(_loop_class())()
    loop.set_task_factory(pinned_task)  # type: ignore[arg-type]
    return loop


def _loop_class() -> type[asyncio.AbstractEventLoop]:
    # The standard library's loop even where a global policy hands out another (a Ray
    # actor's process installs uvloop's).
    stdlib: type[asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop
    choice = wanted()
    if choice is False:
        return stdlib
    try:
        uvloop = _import_uvloop()
    except RuntimeError:
        # Its first import registers an exit hook, refused once the interpreter is exiting: a
        # container started then (work spawned just before exit) only starts to stop.
        return stdlib
    if uvloop is None:
        if choice:
            raise InvalidError(f"{ENV}=1 asks for uvloop, but it is not installed here; {_FIX}.")
        return stdlib
    loop_class: type[asyncio.AbstractEventLoop] = uvloop.Loop
    return loop_class


def is_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    return is_uvloop_class(type(loop))


def _import_uvloop() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop
