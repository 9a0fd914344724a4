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


def make_inputs(
    call: Call,
    method: str | None,
    items: Sequence[Any],
    kwargs: dict[str, Any],
    begin: int,
    end: int,
    queued_at: float,
    is_async: bool,
    one_arg: bool,
) -> list[Input]:
    """Inputs ``begin:end`` of ``call`` (``items`` holds every input's arguments), added to
    ``call.inputs`` in order."""
    made = [
        Input(call, index, method, args, kwargs, queued_at, is_async, one_arg)
        for index, args in enumerate(items[begin:end], begin)
    ]
    call.inputs.extend(made)
    return made


class Backlog:
    """Inputs ``next:end`` of one call, waiting in a queue to be made."""

    __slots__ = ("announce", "args", "end", "next")

    def __init__(
        self,
        args: tuple[Any, ...],
        begin: int,
        end: int,
        announce: Callable[[list[Input]], None],
    ) -> None:
        self.args = args  # ``make_inputs``'s arguments but the range
        self.next = begin
        self.end = end
        self.announce = announce  # told of the inputs once made (events for the views)

    @property
    def call(self) -> Call:
        call: Call = self.args[0]
        return call

    @property
    def left(self) -> int:
        return self.end - self.next

    def make(self, count: int) -> list[Input]:
        """The next ``count`` inputs (fewer at the end), made now."""
        begin = self.next
        self.next = end = min(self.end, begin + count)
        call, method, items, kwargs, queued_at, is_async, one_arg = self.args
        made = make_inputs(call, method, items, kwargs, begin, end, queued_at, is_async, one_arg)
        self.announce(made)
        return made
