"""What a pool waits for: per-attempt timeouts, retries' backoff, batching windows and the
autoscaler's next check, and the one time the timer thread should tick the pool next.

Timeouts need no timer per input: the pool keeps running attempts in the order they started,
so their deadlines (start + timeout) are in order too, and one walk from the oldest finds the
expired ones and the next deadline.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable

from ._inputs import RETRY_WAIT, Attempt, Input
from ._retries import Retries


class Deadlines:
    def __init__(self, poke: Callable[[], None]) -> None:
        self._poke = poke  # asks the timer thread to tick the pool soon
        self._retries: list[tuple[float, int, Input]] = []
        self._seq = itertools.count()
        self.scale_check: float | None = None  # the autoscaler's next look (scale-down, backoff)
        self.batch_check: float | None = None  # a batch that is not full becomes due
        self.next_timeout: float | None = None
        self.scheduled_wake = math.inf  # when the timer thread will tick the pool next

    def want_wake(self, at: float) -> None:
        """Something is due at ``at``: make sure the pool is ticked by then."""
        if at < self.scheduled_wake:
            self.scheduled_wake = at
            self._poke()

    # --- retries

    def batch_due(self, due: float | None) -> None:
        """Wake when the earliest batch that is not full becomes due (``InputQueues``)."""
        if due is not None and due != self.batch_check:
            self.batch_check = due
            self.want_wake(due)

    def batch_passed(self, now: float) -> None:
        """A batch came due: if every slot was busy, the first slot to free takes it (the
        pool's ``finished``); waking for it again before then would spin."""
        if self.batch_check is not None and self.batch_check <= now:
            self.batch_check = None

    def clear(self) -> float | None:
        """Nothing is timed any more (the pool shut down); when to wake next (never)."""
        self.scale_check = self.batch_check = self.next_timeout = None
        self.clear_retries()
        return self.next_due()

    def retry_later(self, inp: Input, retries: Retries | None, now: float) -> bool:
        """Schedule ``inp``'s next attempt after its backoff, if ``retries`` allow one."""
        if retries is None or inp.attempt > retries.max_retries:
            return False
        due = now + retries.delay(inp.attempt)
        inp.finished_at = now  # this attempt's end
        inp.attempt += 1
        inp.status = RETRY_WAIT
        heapq.heappush(self._retries, (due, next(self._seq), inp))
        self.want_wake(due)
        return True

    def due_retries(self, now: float) -> list[Input]:
        """Inputs whose backoff is over (still waiting to be retried), taken off the heap."""
        due: list[Input] = []
        while self._retries and self._retries[0][0] <= now:
            _, _, inp = heapq.heappop(self._retries)
            if inp.status is RETRY_WAIT and not inp.settled:
                due.append(inp)
        return due

    def waiting_retries(self) -> list[Input]:
        return [inp for _, _, inp in self._retries if inp.status is RETRY_WAIT and not inp.settled]

    def clear_retries(self) -> None:
        self._retries.clear()

    # --- timeouts

    def expired(
        self, running: Iterable[Attempt], timeout: float | None, now: float
    ) -> list[Attempt]:
        """Attempts in ``running`` (oldest first) past ``timeout``; sets ``next_timeout``."""
        self.next_timeout = None
        if timeout is None:
            return []
        expired: list[Attempt] = []
        for attempt in running:
            started = attempt.started_at
            assert started is not None  # (set on every attempt that runs)
            deadline = started + timeout
            if deadline > now:
                self.next_timeout = deadline
                break
            expired.append(attempt)
        return expired

    # --- the next tick

    def next_due(self) -> float | None:
        """The earliest thing due; remembered as the scheduled wake-up."""
        candidates = (
            self.next_timeout,
            self._retries[0][0] if self._retries else None,
            self.scale_check,
            self.batch_check,
        )
        due = min((t for t in candidates if t is not None), default=None)
        self.scheduled_wake = due if due is not None else math.inf
        return due
