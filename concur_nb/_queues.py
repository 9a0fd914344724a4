"""The input queues of one pool: plain inputs in arrival order, and one queue per batched
method whose inputs leave together as a batch (full, or ``wait_ms`` after the first arrived).

Cancelled inputs are not searched for and removed: they stay in their queue, marked settled,
and are skipped when they reach its front. ``queued`` counts only the live ones, and those a
big call has not made yet (a ``Backlog`` in the plain queue, made as it reaches the front).
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Iterable
from typing import Any

from ._backlog import MAKE_AHEAD, Backlog
from ._containers.base import ERROR, OK, Outcome, Target
from ._errors import InvalidError
from ._inputs import QUEUED, Input


class BatchSpec:
    __slots__ = ("max_batch_size", "wait")

    def __init__(self, max_batch_size: int, wait_ms: float) -> None:
        self.max_batch_size = max_batch_size
        self.wait = wait_ms / 1000.0


class InputQueues:
    def __init__(self, batching: dict[str | None, BatchSpec]) -> None:
        self.batching = batching
        self._plain: deque[Input | Backlog] = deque()
        self._batches: dict[str | None, deque[Input]] = {m: deque() for m in batching}
        self._batch_live: dict[str | None, int] = dict.fromkeys(batching, 0)
        # Inputs that were running when a container died: each runs in a container of its own.
        self._alone: deque[Input] = deque()
        self.queued = 0  # live inputs waiting
        # When the earliest batch that is not full yet becomes due (None: none waits).
        self.batch_due: float | None = None

    def is_batched(self, method: str | None) -> bool:
        return method in self.batching

    def extend(self, method: str | None, inputs: Iterable[Input], count: int) -> None:
        if method in self.batching:
            self._batches[method].extend(inputs)
            self._batch_live[method] += count
        else:
            self._plain.extend(inputs)
        self.queued += count

    def add_backlog(self, backlog: Backlog) -> None:
        """A call's inputs not made yet, queued behind everything queued now."""
        self._plain.append(backlog)
        self.queued += backlog.left

    def drop_backlog(self, call: Any) -> list[Input]:
        """Take ``call``'s backlog out of the queue (the call is cancelled): its inputs, made
        now so that each can end."""
        for backlog in [b for b in self._plain if isinstance(b, Backlog) and b.call is call]:
            self._plain.remove(backlog)
            self.queued -= backlog.left
            return backlog.make(backlog.left)
        return []

    def make_all(self, call: Any = None) -> None:
        """Make the inputs still in a backlog (``call``'s, or every call's), in place."""
        if any(isinstance(e, Backlog) and call in (None, e.call) for e in self._plain):
            made: deque[Input | Backlog] = deque()
            for entry in self._plain:
                if isinstance(entry, Backlog) and call in (None, entry.call):
                    made.extend(entry.make(entry.left))
                else:
                    made.append(entry)
            self._plain = made

    def requeue(self, inp: Input, now: float, *, front: bool, alone: bool = False) -> None:
        inp.status = QUEUED
        inp.queued_at = now
        inp.running = None
        batched = inp.method in self.batching
        queue = self._batches[inp.method] if batched else self._alone if alone else self._plain
        if front:
            queue.appendleft(inp)
        else:
            queue.append(inp)
        if batched:
            self._batch_live[inp.method] += 1
        self.queued += 1

    def forget(self, inp: Input) -> None:
        """A queued input was settled (cancelled): it no longer counts; it is skipped later."""
        self.queued -= 1
        if inp.method in self.batching:
            self._batch_live[inp.method] -= 1

    def pop_ready(self, now: float, alone: bool = False) -> Input | list[Input] | None:
        """The next input (or batch, a list) that may start now, taken off its queue.

        ``alone``: the slot asking is in an otherwise idle container, where an input that was
        running when a container died may run.
        """
        if alone:
            while self._alone:
                inp = self._alone.popleft()
                if not inp.settled:
                    self.queued -= 1
                    return inp
        plain = self._plain
        while plain:
            entry = plain.popleft()
            if isinstance(entry, Backlog):  # the next run of a big call's inputs is made now
                made = entry.make(MAKE_AHEAD)
                if entry.left:
                    plain.appendleft(entry)
                plain.extendleft(reversed(made))
            elif not entry.settled:
                self.queued -= 1
                return entry
        if not self.batching:
            return None
        self.batch_due = None
        for method, queue in self._batches.items():
            while queue and queue[0].settled:
                queue.popleft()
            if not queue:
                continue
            spec = self.batching[method]
            due = queue[0].queued_at + spec.wait
            if self._batch_live[method] < spec.max_batch_size and now < due:
                self.batch_due = due if self.batch_due is None else min(due, self.batch_due)
                continue
            batch: list[Input] = []
            while queue and len(batch) < spec.max_batch_size:
                inp = queue.popleft()
                if not inp.settled:
                    batch.append(inp)
            self._batch_live[method] -= len(batch)
            self.queued -= len(batch)
            return batch
        return None

    def live(self) -> list[Input]:
        """The inputs still waiting and made, in queue order (see ``make_all``)."""
        queues: list[deque[Input] | deque[Input | Backlog]] = [self._alone, self._plain]
        queues += self._batches.values()
        return [inp for q in queues for inp in q if isinstance(inp, Input) and not inp.settled]

    def take_all(self) -> list[Input]:
        """Empty every queue; the live inputs that were in them (all made now)."""
        self.make_all()
        waiting = self.live()
        self._plain.clear()
        self._alone.clear()
        for method, queue in self._batches.items():
            queue.clear()
            self._batch_live[method] = 0
        self.queued = 0
        return waiting


def pack_batch(
    target: Target, method: str | None, inputs: list[Input]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Turn single inputs into one call whose every parameter is a list (one item per input)."""
    fn = target.obj if method is None else getattr(target.obj, method)
    params = list(inspect.signature(fn).parameters.values())[1 if method else 0 :]
    columns: list[list[Any]] = [[] for _ in params]
    signature = inspect.Signature(params)
    for inp in inputs:
        bound = signature.bind(*inp.positional(), **inp.kwargs)
        for column, param in zip(columns, params):
            column.append(bound.arguments[param.name])
    return tuple(columns), {}


def unpack_batch(name: str, size: int, outcome: Outcome) -> list[Outcome]:
    """One outcome per input of a batch of ``size``; a contract breach fails them all."""
    if outcome.kind != OK:
        return [outcome] * size
    values = outcome.value
    if not isinstance(values, list) or len(values) != size:
        got = f"a list of {len(values)}" if isinstance(values, list) else type(values).__name__
        error = InvalidError(
            f"batched function {name} got a batch of {size} inputs and returned {got}; "
            "a batched function must return a list with one output per input, in order."
        )
        return [Outcome(ERROR, error)] * size
    return [Outcome(OK, v) for v in values]
