"""Inputs: what a caller submitted, through all its attempts, and the attempts that run them.

An ``Input`` is the engine's record of one submitted input. An ``Attempt`` is one run of a
work in a container: a single input, or a batch of inputs of a ``batched`` function. An input's
first run is the input itself (an ``Input`` is an ``Attempt``), so the common case makes no
record per run; a retry and a batch get an ``Attempt`` of their own. What a container sees of
an attempt is only its ``Work`` fields (plain data); the pool keeps the rest.
"""

from __future__ import annotations

import enum
import itertools
import os
from typing import TYPE_CHECKING, Any, Protocol

from ._containers.base import Work

if TYPE_CHECKING:
    from ._state import InputLog


class Call(Protocol):
    """What an input needs of its call (``_outcomes.Call``): where its outcome goes."""

    id: str
    inputs: list[Input]  # made so far, in order (``_backlog``)

    def settle(self, index: int, ok: bool, value: Any) -> None: ...


class InputStatus(str, enum.Enum):
    """Where an input is. ``str`` values, so front-ends and events read them as plain text."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRY_WAIT = "retry_wait"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    def __str__(self) -> str:
        return self.value


QUEUED = InputStatus.QUEUED
RUNNING = InputStatus.RUNNING
RETRY_WAIT = InputStatus.RETRY_WAIT
SUCCEEDED = InputStatus.SUCCEEDED
FAILED = InputStatus.FAILED
CANCELLED = InputStatus.CANCELLED
TIMED_OUT = InputStatus.TIMED_OUT

_prefix = os.urandom(3).hex()
_input_numbers = itertools.count(1)
_INPUT_ID = f"in-{_prefix}%x"  # %-formatting: measurably quicker than an f-string, per input
_call_numbers = itertools.count(1)


def new_call_id() -> str:
    return f"fc-{_prefix}{next(_call_numbers):x}"


class Attempt(Work):
    """One run of a work: the plain ``Work`` a container gets, plus what the pool tracks."""

    __slots__ = ("_lead", "batch", "container_id", "started_at")

    def __init__(
        self,
        work_id: str,
        lead: Input,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        batch: tuple[Input, ...] | None,
        container_id: str | None,
        started_at: float | None,
    ) -> None:
        # Written out instead of calling Work.__init__: one attempt is made per input.
        self.id = work_id
        self.call_id = lead.call_id
        self.method = lead.method
        self.args = args
        self.kwargs = kwargs
        self.is_async = lead.is_async
        self.cancel_requested = False
        self._lead = lead
        self.batch = batch  # a batch's inputs; None for one input (no tuple per input)
        self.container_id = container_id  # set once it runs (an input not started yet: None)
        self.started_at = started_at

    @property
    def lead(self) -> Input:
        """The input it runs (the first, for a batch)."""
        return self._lead

    @property
    def inputs(self) -> tuple[Input, ...]:
        return self.batch if self.batch is not None else (self.lead,)

    @property
    def input_id(self) -> str:
        """The input this attempt runs (the first one for a batch)."""
        return self.lead.id


class Input(Attempt):
    """One submitted input, through all its attempts; also its own first attempt (the work a
    container runs first), so that a run costs no record of its own. Retries and batches get
    an ``Attempt`` each."""

    __slots__ = (
        "attempt",
        "call",
        "cancelling",
        "children",
        "container_deaths",
        "error",
        "finished_at",
        "index",
        "log",
        "one_arg",
        "queued_at",
        "running",
        "settled",
        "status",
    )

    def __init__(
        self,
        call: Call,
        index: int,
        method: str | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        now: float,
        is_async: bool,
        one_arg: bool = False,
    ) -> None:
        self.id = _INPUT_ID % next(_input_numbers)
        # The call until the input settles; then None, so that the call (which lists its
        # inputs) and its outputs are freed by reference counting, not kept by finished inputs.
        self.call: Call | None = call
        self.call_id = call.id
        self.index = index
        self.method = method
        # The positional arguments; with ``one_arg``, the one argument itself (a tuple is made
        # only when the input starts: see ``OneArgEach``).
        self.args = args
        self.one_arg = one_arg
        self.kwargs = kwargs
        self.is_async = is_async  # runs on the container's event loop
        self.cancel_requested = False
        self.status = QUEUED
        self.attempt = 1
        self.queued_at = now
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.container_id: str | None = None
        self.error: str | None = None
        self.log: InputLog | None = None
        self.running: Attempt | None = None  # the attempt that runs it now
        self.settled = False  # the caller has its outcome (a late result is then ignored)
        # Settled (cancelled or timed out) while its attempt still runs in a container.
        self.cancelling = False
        self.container_deaths = 0  # containers that died while it ran
        self.children: list[Any] | None = None  # calls made while it ran (``_call_graph``)
        self.batch = None  # as an attempt: of one input, itself

    @property
    def lead(self) -> Input:
        return self

    def positional(self) -> tuple[Any, ...]:
        return (self.args,) if self.one_arg else self.args

    def frozen_run(self) -> Attempt:
        """Its first run as an attempt of its own, where and when it ran (for a run that winds
        down while the input starts another attempt elsewhere)."""
        return Attempt(self.id, self, (), {}, None, self.container_id, self.started_at)


class OneArgEach(list):
    """The inputs of a one-iterable ``map``: each item is an input's only argument.

    Its inputs keep the item and make the ``(item,)`` tuple as they start: a queued input then
    holds no tuple, which for a big map is one object per input less for the garbage collector
    to count and walk while the map runs.
    """


def work_id_for(inp: Input) -> str:
    """A first attempt's work id is its input's id; a later one adds ``#attempt``, so that a
    retry never shares an id with an earlier attempt still winding down in a container."""
    return inp.id if inp.attempt == 1 else f"{inp.id}#{inp.attempt}"
