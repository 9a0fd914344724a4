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

from ._state import InputInfo

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
        # End times and run times of the inputs behind the frontier (charts of the call).
        self.ends: list[float] = []
        self.run_times: deque[float] = deque(maxlen=20_000)

    def read(self, now: float | None = None) -> CallProgress:
        if now is None:
            now = time.monotonic()
        call = self.call
        inputs = call.inputs
        count = len(inputs)
        total = max(count, len(getattr(call, "values", ())))
        if self._first is None and count:
            self._first = inputs[0].queued_at
        # Move the frontier over inputs that have settled for good. The hot loop of a view of
        # a big call (every input passes here once): locals only, no per-input getattr.
        i = self._frontier
        kept = self._settled
        ok, bad, dropped = kept
        last = self._last
        ends_append, times_append = self.ends.append, self.run_times.append
        while i < count:
            inp = inputs[i]
            end = inp.finished_at
            if end is None or not inp.settled:  # (the engine sets finished_at after settled)
                break
            status = inp.status
            if status == "cancelled":
                if getattr(inp, "cancelling", False):
                    break
                dropped += 1
            else:
                if status == "succeeded":
                    ok += 1
                else:
                    bad += 1
                ends_append(end)
                start = inp.started_at
                if start is not None:
                    times_append(end - start)
            if last is None or end > last:
                last = end
            i += 1
        self._frontier = i
        self._last = last
        kept[:] = [ok, bad, dropped]
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

    def recent_inputs(self, limit: int = 100) -> list[Any]:
        """The call's inputs worth listing: running ones first, then the latest settled, then
        the next queued; without reading the whole tail of a big call."""
        inputs = self.call.inputs
        start = max(0, self._frontier - limit)
        running: list[Any] = []
        settled: list[Any] = []
        queued: list[Any] = []
        in_a_row = 0
        for inp in inputs[start:]:
            status = inp.status
            if status in _QUEUED:
                in_a_row += 1
                if len(queued) < limit:
                    queued.append(inp)
                if in_a_row >= QUEUED_RUN:
                    break
                continue
            in_a_row = 0
            (
                running if status == "running" or getattr(inp, "cancelling", False) else settled
            ).append(inp)
        settled.sort(key=lambda inp: inp.finished_at or 0.0, reverse=True)
        return (running + settled + queued)[:limit]

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


def info_of(inp: Any, function: str) -> InputInfo:
    """The front-ends' record of one engine input."""
    method = getattr(inp, "method", None)
    log = getattr(inp, "log", None)
    status = inp.status
    if status == "cancelled" and getattr(inp, "cancelling", False):
        status = "cancelling"
    return InputInfo(
        id=inp.id,
        call_id=inp.call_id,
        function=function if method is None else f"{function}.{method}",
        status=status,
        container_id=getattr(inp, "container_id", None),
        queued_at=inp.queued_at,
        started_at=inp.started_at,
        finished_at=inp.finished_at,
        attempts=getattr(inp, "attempt", 1),
        error=getattr(inp, "error", None),
        log_lines=len(log.lines) if log is not None else 0,
    )


def load_curve(inputs: Any, limit: int = 20_000) -> list[tuple[float, int, int, int]]:
    """``(time, queued, running, done)`` after each change, rebuilt from the inputs' times.

    What a view that appears late draws for the time before it came. Empty past ``limit``
    inputs (sorting that many every time would cost more than the chart is worth).
    """
    inputs = list(inputs)
    if len(inputs) > limit:
        return []
    events: list[tuple[float, int, int, int]] = []
    for inp in inputs:
        start, end = inp.started_at, inp.finished_at
        events.append((inp.queued_at, 1, 0, 0))
        if start is not None:
            events.append((start, -1, 1, 0))
            if end is not None:
                events.append((end, 0, -1, 0 if inp.status == "cancelled" else 1))
        elif end is not None:  # left the queue without running (cancelled)
            events.append((end, -1, 0, 0))
    events.sort(key=lambda e: e[0])
    curve: list[tuple[float, int, int, int]] = []
    queued = running = done = 0
    for at, dq, dr, dd in events:
        queued, running, done = queued + dq, running + dr, done + dd
        if curve and curve[-1][0] == at:
            curve[-1] = (at, queued, running, done)
        else:
            curve.append((at, queued, running, done))
    return curve
