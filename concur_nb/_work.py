"""Inputs: what a caller submitted, through all its attempts, and the statuses it passes.

How an input's outcome reaches its caller is ``_outcomes.Call``'s business.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from ._containers.base import Work
from ._state import InputLog

if TYPE_CHECKING:
    from ._outcomes import Call

# Statuses of an input.
QUEUED = "queued"
RUNNING = "running"
RETRY_WAIT = "retry_wait"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
FINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT})

_prefix = os.urandom(3).hex()
_input_numbers = itertools.count(1)
_call_numbers = itertools.count(1)


def new_call_id() -> str:
    return f"fc-{_prefix}{next(_call_numbers):x}"


class Input(Work):
    """One submitted input, through all its attempts; handed to a container as its own work."""

    __slots__ = (
        "attempt",
        "batch",
        "call",
        "container_id",
        "error",
        "finished_at",
        "index",
        "log",
        "queued_at",
        "settled",
        "started_at",
        "status",
        "work_id",
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
    ) -> None:
        self.id = f"in-{_prefix}{next(_input_numbers):x}"
        # The call until the input settles; then None, so that the call (which lists its
        # inputs) and its outputs are freed by reference counting, not kept by finished inputs.
        self.call: Call | None = call
        self.call_id = call.id
        self.index = index
        self.method = method
        self.args = args
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
        self.batch: list[Input] | None = None  # set on the first input of a running batch
        self.work_id: str | None = None  # the running work this input is part of
        self.settled = False  # the caller has its outcome (a late result is then ignored)
