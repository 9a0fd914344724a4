"""How far one call has got: exclusive counts of its inputs' states, rate and ETA.

Read from the engine-side ``Call`` (its list of inputs) without taking any lock: each input's
``status`` is one attribute written by the engine, so a reading is a consistent count per
input even while the engine moves on; the counts always add up to the call's size.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from typing import Any

RATE_WINDOW = 10.0  # seconds of recent completions the rate is measured over


@dataclasses.dataclass(frozen=True)
class CallProgress:
    """One reading of a call. The seven state counts are exclusive and add up to ``total``.

    ``cancelling``: cancelled, but its work still runs in a container until it reports its end.
    ``rate``: inputs settled (not cancelled) per second over the last ``RATE_WINDOW`` seconds;
    ``eta``: seconds until the rest would be done at that rate (None when unknown or done).
    ``started_at``/``finished_at`` are clock times (``time.monotonic`` by default).
    """

    queued: int
    running: int
    cancelling: int
    succeeded: int
    failed: int
    cancelled: int
    total: int
    started_at: float | None
    finished_at: float | None
    rate: float
    eta: float | None

    @property
    def done(self) -> int:
        """Inputs with an outcome (succeeded, failed or cancelled)."""
        return self.succeeded + self.failed + self.cancelled

    @property
    def finished(self) -> bool:
        """Every input has its outcome and no cancelled work still runs."""
        return self.total == self.done

    @property
    def elapsed(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or self.started_at) - self.started_at

    def __str__(self) -> str:
        rest = [
            (self.failed, "failed"),
            (self.cancelled, "cancelled"),
            (self.cancelling, "cancelling"),
            (self.running, "running"),
            (self.queued, "queued"),
        ]
        parts = [f"{self.succeeded} done of {self.total}"] + [f"{n} {w}" for n, w in rest if n]
        return " · ".join(parts)


_QUEUED = frozenset({"queued", "retry_wait"})
_FAILED = frozenset({"failed", "timed_out"})

# A reader stops scanning after this many queued inputs in a row and counts the rest as queued:
# inputs start in submission order, so the tail of a big map is queued, and reading 100,000 of
# them four times a second would cost the workload a fifth of a core.
QUEUED_RUN = 256


def call_progress(call: Any, now: float | None = None) -> CallProgress:
    """Count ``call``'s inputs by state (an engine ``Call``: its ``inputs`` list), exactly.

    Inputs announced by the call but not yet submitted (a ``map`` still feeding) count as
    queued. ``now`` defaults to ``time.monotonic()``, the engine's clock.
    """
    return ProgressReader(call, queued_run=None).read(now)


class ProgressReader:
    """Reads one call's progress again and again, cheaply: what every live view holds.

    Inputs before a frontier have all settled; their counts are kept, so each reading only
    looks at the inputs after it (and, with ``queued_run``, stops at a long run of queued
    ones). One reader per view: it is not thread-safe.
    """

    def __init__(
        self, call: Any, *, queued_run: int | None = QUEUED_RUN, window: float = RATE_WINDOW
    ) -> None:
        self.call = call
        self._queued_run = queued_run
        self._window = window
        self._frontier = 0
        self._settled = [0, 0, 0]  # succeeded, failed, cancelled before the frontier
        self._first: float | None = None
        self._last: float | None = None
        self._marks: deque[tuple[float, int]] = deque(maxlen=64)

    def read(self, now: float | None = None) -> CallProgress:
        if now is None:
            now = time.monotonic()
        call = self.call
        inputs = call.inputs
        count = len(inputs)
        total = max(count, len(getattr(call, "values", ())))
        if self._first is None and count:
            self._first = inputs[0].queued_at
        # Move the frontier over inputs that have settled for good.
        i = self._frontier
        kept = self._settled
        while i < count:
            inp = inputs[i]
            if not inp.settled or getattr(inp, "cancelling", False):
                break
            kept[_FINAL_SLOT.get(inp.status, 1)] += 1
            end = inp.finished_at
            if end is not None and (self._last is None or end > self._last):
                self._last = end
            i += 1
        self._frontier = i
        succeeded, failed, cancelled = kept
        queued = running = cancelling = 0
        in_a_row = 0
        limit = self._queued_run
        while i < count:
            inp = inputs[i]
            status = inp.status
            i += 1
            if status in _QUEUED:
                queued += 1
                in_a_row += 1
                if limit is not None and in_a_row >= limit:
                    queued += count - i  # the rest of the tail: queued too (see QUEUED_RUN)
                    break
                continue
            in_a_row = 0
            if status == "running":
                running += 1
            elif status == "cancelled":
                if getattr(inp, "cancelling", False):
                    cancelling += 1
                else:
                    cancelled += 1
            elif status == "succeeded":
                succeeded += 1
            elif status in _FAILED:
                failed += 1
            else:  # a status this reader does not know yet: still on its way
                running += 1
        queued += total - count
        over = queued == running == cancelling == 0 and total > 0
        first = self._first
        finished_at = self._last if over and self._frontier == count else None
        if over and finished_at is None:  # settled after the frontier: find the last end
            finished_at = max((x.finished_at or 0.0 for x in inputs[self._frontier :]), default=0)
            finished_at = max(finished_at, self._last or 0.0) or None
        rate = self._rate(now, succeeded + failed, first, finished_at)
        left = queued + running
        return CallProgress(
            queued=queued,
            running=running,
            cancelling=cancelling,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            total=total,
            started_at=first,
            finished_at=finished_at,
            rate=rate,
            eta=None if over or rate <= 0 else left / rate,
        )

    def _rate(self, now: float, done: int, first: float | None, end: float | None) -> float:
        """Settled (not cancelled) inputs per second: over the whole call once it has ended,
        else over the last ``window`` seconds of readings (since the start if none older)."""
        if first is None:
            return 0.0
        if end is not None:
            return done / (end - first) if end > first else 0.0
        marks = self._marks
        if not marks or now - marks[-1][0] >= 0.25:
            marks.append((now, done))
        for at, then in marks:
            if self._window >= now - at >= 1.0:
                return (done - then) / (now - at)
        return done / (now - first) if now > first else 0.0


_FINAL_SLOT = {"succeeded": 0, "failed": 1, "timed_out": 1, "cancelled": 2}
