"""This process's link to Ray: importing it lazily, joining the cluster once, the actor class,
and the exit hook that ends our actors before Ray shuts down under their reader threads.

Ray is imported only when a Ray container starts: importing concur_nb never imports it.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any, Protocol

from .._errors import ContainerError

EXIT_WAIT = 3.0  # seconds the exit hook waits for readers to leave Ray's calls

_connect_lock = threading.Lock()
_actor_class: Any = None
_hooked = False
closing = False  # the interpreter exits: Ray is about to shut down under our threads


class Reader(Protocol):
    """A container whose reader thread is inside Ray's calls."""

    _reader_done: threading.Event

    def _terminate(self, reason: str | None) -> None: ...


live: set[Reader] = set()  # containers whose reader thread runs


def _before_ray_shutdown() -> None:
    """At exit, before Ray's own hook (atexit runs the last registered first): end our
    actors and let the reader threads leave Ray, whose calls crash once it has shut down."""
    global closing
    closing = True
    containers = list(live)
    for container in containers:
        container._terminate("the Python process is exiting")
    deadline = time.monotonic() + EXIT_WAIT
    for container in containers:
        container._reader_done.wait(max(deadline - time.monotonic(), 0))


def ray_module() -> Any:
    import ray

    return ray


def remote_class() -> Any:
    """``ray_actor.ContainerActor`` as a Ray actor class (made once)."""
    global _actor_class
    if _actor_class is None:
        from .ray_actor import ContainerActor

        _actor_class = ray_module().remote(ContainerActor)
    return _actor_class


def connect(init_options: dict[str, Any]) -> None:
    """``ray.init(**init_options)`` unless Ray is initialized already; once, the exit hook."""
    ray = ray_module()
    with _connect_lock:
        global _hooked
        if closing:
            raise ContainerError("the Python process is exiting; no new Ray container starts")
        if not ray.is_initialized():
            ray.init(**init_options)
        if not _hooked:  # registered after Ray's own exit hook, so it runs first
            atexit.register(_before_ray_shutdown)
            _hooked = True
