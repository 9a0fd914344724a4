"""This process's link to Ray: importing it lazily, joining the cluster once, the actor class,
the exit hook that ends our actors before Ray shuts down under their reader threads, and the
watch that notices the whole cluster going away.

Ray is imported only when a Ray container starts: importing concur_nb never imports it.

When the whole cluster goes away, calls into Ray may block until Ray's client gives up on the
GCS (60 s, after which Ray ends the process). So while Ray containers live, a watch thread
opens a TCP connection to the GCS every ``WATCH_EVERY`` seconds; after ``LOST_AFTER`` seconds
without one it declares the cluster lost: every container reports its end with that reason
at once, without asking Ray (their inputs are rescheduled, and replacements fail at once, so
the engine fails the queue with the error). The next Ray container joins again once the GCS
answers. (``ray.shutdown()`` is not called then: measured, it ended the process while reader
threads were still inside Ray's calls.)
"""

from __future__ import annotations

import atexit
import queue
import socket
import threading
import time
from typing import Any, Protocol

from .._errors import ContainerError

EXIT_WAIT = 3.0  # seconds the exit hook waits for readers to leave Ray's calls
WATCH_EVERY = 0.5  # seconds between two looks at the GCS
LOST_AFTER = 5.0  # seconds without the GCS after which the cluster is lost (Ray's own: 60)

_connect_lock = threading.Lock()
_actor_class: Any = None
_hooked = False
closing = False  # the interpreter exits: Ray is about to shut down under our threads
lost: str | None = None  # why the cluster is gone (None while it answers)
_watching: tuple[str, int] | None = None  # the GCS host and port the watch looks at
_lost_gcs: tuple[str, int] | None = None  # the GCS that went away


class Reader(Protocol):
    """A container whose reader thread is inside Ray's calls."""

    _reader_done: threading.Event

    def _terminate(self, reason: str) -> None: ...

    def _lose(self, reason: str) -> None: ...


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
    """``ray.init(**init_options)`` unless Ray is initialized already; once, the exit hook;
    the watch on the cluster's GCS."""
    ray = ray_module()
    with _connect_lock:
        global _hooked, lost, _watching
        if closing:
            raise ContainerError("the Python process is exiting; no new Ray container starts")
        if lost is not None:
            if _lost_gcs is not None and not _answers(_lost_gcs):
                raise ContainerError(lost)
            lost = None  # it answers again: join it anew
        if not ray.is_initialized():
            _init_in_a_lasting_thread(ray, init_options)
        if not _hooked:  # registered after Ray's own exit hook, so it runs first
            atexit.register(_before_ray_shutdown)
            _hooked = True
        gcs = _gcs_address(ray)
        if gcs is not None and gcs != _watching:
            _watching = gcs
            threading.Thread(
                target=_watch, args=(gcs,), name="concur_nb-ray-watch", daemon=True
            ).start()


def _init_in_a_lasting_thread(ray: Any, init_options: dict[str, Any]) -> None:
    """``ray.init`` in a thread that lives as long as the process. A local cluster's GCS and
    raylet are started with ``PR_SET_PDEATHSIG``, which the kernel fires when the *thread*
    that started them ends: started from a container's reader thread, the whole cluster died
    with the first container that ended (measured)."""
    outcome: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()

    def keep() -> None:
        try:
            ray.init(**init_options)
        except BaseException as exc:
            outcome.put(exc)
            return
        outcome.put(None)
        threading.Event().wait()  # the cluster's processes live while this thread does

    threading.Thread(target=keep, name="concur_nb-ray-init", daemon=True).start()
    error = outcome.get()
    if error is not None:
        raise error


def _gcs_address(ray: Any) -> tuple[str, int] | None:
    """The GCS this process talks to (None through Ray Client, where the server holds it)."""
    try:
        host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
        return (host.strip("[]"), int(port))
    except Exception:
        return None


def _answers(gcs: tuple[str, int]) -> bool:
    try:
        socket.create_connection(gcs, timeout=WATCH_EVERY).close()
        return True
    except OSError:
        return False


def _watch(gcs: tuple[str, int]) -> None:
    """Look at the GCS while this process is joined to it; declare the cluster lost once it
    stayed silent for ``LOST_AFTER`` seconds."""
    silent_since: float | None = None
    while _watching == gcs and not closing:
        if not live or _answers(gcs):
            silent_since = None  # with nothing of ours there, the next container finds out
        else:
            now = time.monotonic()
            silent_since = now if silent_since is None else silent_since
            if now - silent_since >= LOST_AFTER:
                _lose_cluster(gcs, now - silent_since)
                return
        time.sleep(WATCH_EVERY)


def _lose_cluster(gcs: tuple[str, int], silent: float) -> None:
    global lost, _watching, _lost_gcs
    reason = (
        f"the Ray cluster went away: its GCS at {gcs[0]}:{gcs[1]} has not answered for "
        f"{silent:.0f} s (every node and the head gone?); start it again, or point "
        "RAY_ADDRESS at a live cluster"
    )
    with _connect_lock:
        lost, _lost_gcs, _watching = reason, gcs, None
    containers = list(live)
    for container in containers:
        container._lose(reason)
