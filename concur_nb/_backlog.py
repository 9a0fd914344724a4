"""A big call's inputs that are not made yet.

``f.map`` over 100,000 items queues its first inputs and one ``Backlog`` behind them, not
100,000 ``Input`` records: the rest are made a run at a time as the backlog reaches the front
of the queue. Until then a queued input costs no record (each full collection of the cyclic
garbage collector walks every live one) and the caller does not wait for them to be made. The
queue counts them as queued all along, so placement, autoscaling and the views see the demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._inputs import Call, Input

MAKE_AHEAD = 256  # inputs made at once when a backlog reaches the front of its queue
MADE_AT_SUBMIT = 256  # a call's inputs made as it is submitted; the rest wait in a backlog


class Backlog:
    """The inputs of one call not made yet (``next`` to the end of ``items``), each made with
    its arguments from ``items`` and the call's ``kwargs``, queued at ``queued_at``."""

    __slots__ = (
        "announce",
        "call",
        "is_async",
        "items",
        "kwargs",
        "method",
        "next",
        "one_arg",
        "queued_at",
    )

    def __init__(
        self,
        call: Call,
        method: str | None,
        items: Sequence[Any],
        kwargs: dict[str, Any],
        queued_at: float,
        is_async: bool,
        one_arg: bool,
        announce: Callable[[list[Input]], None],
    ) -> None:
        self.call = call
        self.method = method
        self.items = items
        self.kwargs = kwargs
        self.queued_at = queued_at
        self.is_async = is_async
        self.one_arg = one_arg
        self.announce = announce  # told of the inputs once made (events for the views)
        self.next = 0

    @property
    def left(self) -> int:
        return len(self.items) - self.next

    def make(self, count: int) -> list[Input]:
        """The next ``count`` inputs (fewer at the end), made now and added to the call's."""
        begin = self.next
        self.next = end = min(len(self.items), begin + count)
        call, method, kwargs = self.call, self.method, self.kwargs
        now, is_async, one_arg = self.queued_at, self.is_async, self.one_arg
        made = [
            Input(call, index, method, args, kwargs, now, is_async, one_arg)
            for index, args in enumerate(self.items[begin:end], begin)
        ]
        call.inputs.extend(made)
        self.announce(made)
        return made
