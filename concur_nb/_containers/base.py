"""The one interface every container kind implements, and the host it reports to.

A container runs up to its capacity of *works* at once. What crosses this interface is plain
data (ids, argument tuples, outcomes), never shared engine objects, so a container can live in
another process or on another host and speak messages instead of calls.

Threading contract:
- The scheduler calls ``submit``/``cancel``/``stop``/``set_capacity`` from any thread, possibly
  while holding its own lock: they must return quickly and must not call back into the host in
  the calling thread.
- The container calls the host from its own threads. ``host.finished`` returns the next work
  for the slot that just freed (or None), so a busy container keeps its slots full without a
  round trip through the scheduler's thread.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, NamedTuple, Protocol


class OutcomeKind(str, enum.Enum):
    """How a work ended, as a container reports it (``str`` values: they cross processes)."""

    OK = "ok"
    ERROR = "error"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


OK = OutcomeKind.OK
ERROR = OutcomeKind.ERROR
CANCELLED = OutcomeKind.CANCELLED


@dataclasses.dataclass(slots=True, eq=False)
class Work:
    """One unit a slot runs: a single input, or a batch of inputs of a ``batched`` function.

    The pool hands over its ``Attempt`` records, which are ``Work``s with more fields; a
    container reads only these. For a batch, ``id`` is the first input's id.
    """

    id: str  # the input's id (the first input's for a batch); "<id>#<n>" for attempt n > 1
    call_id: str
    method: str | None  # method name for the class pattern, None for a plain function
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    is_async: bool
    # Set by the container that runs the work when it is cancelled (``input_cancelled()``);
    # cleared as each attempt starts.
    cancel_requested: bool = False


class Outcome(NamedTuple):
    """How a work ended (a named tuple: one is made per input, so it must be cheap)."""

    kind: str  # an OutcomeKind (or its value, after crossing a process boundary)
    value: Any = None  # the return value (OK) or the exception (ERROR)


def ok_outcome(value: Any) -> Outcome:
    """``Outcome(OK, value)``, twice as fast: without the named tuple's Python-level __new__
    (executors make one per input)."""
    return tuple.__new__(Outcome, (OK, value))


@dataclasses.dataclass(frozen=True)
class Target:
    """What a container runs: a function, or a class with methods and lifecycle hooks.

    ``obj`` is the user's function or class. For a class, ``enter``/``exit`` name the hook
    methods and ``async_methods`` the coroutine methods; a container creates one instance.
    """

    name: str
    obj: Any
    is_class: bool
    enter: tuple[str, ...] = ()
    exit: tuple[str, ...] = ()
    async_methods: frozenset[str] = frozenset()


class ContainerHost(Protocol):
    """What a container reports to (the scheduler's pool)."""

    def ready(self, container: Container) -> None:
        """The container started (``enter`` hooks ran) and can take works."""

    def failed(self, container: Container, error: BaseException) -> None:
        """The container could not start, or died; its running works must be rescheduled."""

    def log(self, work_id: str, stream: str, text: str) -> None:
        """A running work wrote ``text`` to ``stream`` ("stdout" | "stderr" | "log")."""

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        """A work ended; returns the next work to run in the freed slot, if any."""

    def stopped(self, container: Container) -> None:
        """The container retired (``exit`` hooks ran); nothing of it is left running."""

    def warning(self, container: Container, message: str) -> None:
        """Something the user should know (an async input blocked its event loop, ...)."""


class Container(Protocol):
    id: str
    kind: str  # "thread" | "asyncio" | "process" | "ssh"
    host_name: str  # "local" or the SSH destination
    gpus: tuple[str, ...]

    def start(self) -> None:
        """Begin starting; report ``host.ready`` or ``host.failed`` later."""

    def submit(self, work: Work) -> None:
        """Run ``work`` in a free slot (the scheduler guarantees there is one).

        Raises ``ContainerError`` when the slot cannot be served (the system refused a new
        thread for it): the work was not taken, nothing of it is counted here, and the caller
        fails that work with the error; the container goes on with the slots it has.
        """

    def cancel(self, work_id: str) -> None:
        """Stop a running work: ``InputCancellation`` into its thread, or cancel its task."""

    def set_capacity(self, max_inputs: int) -> None:
        """The function's ``max_inputs`` changed (running works are never cancelled)."""

    def stop(self, *, graceful: bool) -> None:
        """Retire: graceful waits for running works; otherwise they are cancelled first."""

    def info(self) -> dict[str, Any]:
        """Extra facts for display (pid, python, GPU use ...)."""

    def kill(self) -> None:
        """End the container now (out-of-process kinds terminate it); report ``host.failed``
        so its other works are rescheduled. In-process kinds cancel their works instead."""


class Backend(Protocol):
    """Makes containers of one kind; chosen by ``function(backend=...)``."""

    name: str  # "thread", "asyncio", "process", "ssh"
    # Containers are other processes: placing a big call's first inputs while the rest are
    # still being queued lets them start in parallel. In-process, the GIL makes it a loss.
    out_of_process: bool

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> Container:
        """A new, not yet started container."""

    def max_containers(self) -> int | None:
        """How many containers this backend can host at once (None: no limit of its own)."""
