"""The read side of a pool: what front-ends see of its inputs, logs, decisions and metrics.

The pool writes here under its lock as things happen; front-ends read snapshots, input lists
and logs at their own pace. Everything is bounded: recent inputs, logged inputs, lines per
input, decisions, warnings and samples.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._errors_text import describe
from ._inputs import CANCELLED, SUCCEEDED, Input, InputStatus
from ._settings import Settings
from ._state import (
    Event,
    EventBus,
    FunctionSnapshot,
    InputInfo,
    InputLog,
    LoadHistory,
    LoadSample,
    LogLine,
    Metrics,
    Percentiles,
    ScalingDecision,
)

if TYPE_CHECKING:
    from ._deadlines import Deadlines
    from ._fleet import Fleet
    from ._queues import InputQueues
    from ._running import RunningAttempts

logger = logging.getLogger("concur_nb")

RECENT_INPUTS = 500  # finished inputs kept for the dashboard's input list
LOGGED_INPUTS = 2000  # inputs whose logs are kept for reading and search
LOG_LINES_PER_INPUT = 1000
SAMPLE_EVERY = 0.1  # seconds between two load samples while inputs end


class Ledger:
    def __init__(
        self, name: str, backend: str, lock: threading.RLock, now: Callable[[], float]
    ) -> None:
        self.name = name
        self._now = now
        self.backend = backend
        self._lock = lock  # the pool's: readers take it to copy, then work outside it
        self.events = EventBus()
        self.metrics = Metrics()
        self.recent: deque[Input] = deque(maxlen=RECENT_INPUTS)
        self._logged: dict[str, Input] = {}
        self.history = LoadHistory()
        self.next_sample = 0.0  # when the load is worth sampling again (``SAMPLE_EVERY``)
        self.decisions: deque[ScalingDecision] = deque(maxlen=200)
        self.warnings: deque[str] = deque(maxlen=20)

    def read_from(
        self,
        queues: InputQueues,
        fleet: Fleet,
        running: RunningAttempts,
        deadlines: Deadlines,
    ) -> None:
        """The pool's objects this ledger reads when front-ends ask."""
        self._queues, self._fleet, self._running, self._deadlines = (
            queues,
            fleet,
            running,
            deadlines,
        )

    # --- writing (under the pool's lock)

    def emit(self, kind: str, at: float, **fields: Any) -> None:
        if self.events.active:
            self.events.emit(Event(kind, self.name, at, **fields))

    def settled(self, inp: Input, status: InputStatus, value: Any) -> None:
        """Count ``inp``'s final status and keep it a while for the input list."""
        metrics = self.metrics
        if status is SUCCEEDED:
            metrics.succeeded += 1
        elif status is CANCELLED:
            metrics.cancelled += 1
        else:
            metrics.failed += 1
            inp.error = describe(value)
        self.recent.append(inp)

    def write_log(self, inp: Input, at: float, stream: str, text: str) -> None:
        log = inp.log
        if log is None:
            log = inp.log = InputLog(LOG_LINES_PER_INPUT)
            self._logged[inp.id] = inp
            if len(self._logged) > LOGGED_INPUTS:
                del self._logged[next(iter(self._logged))]
        lines = log.write(at, stream, text)
        if lines and self.events.active:
            for line in lines:
                self.emit("input_log", at, input_id=inp.id, data=line)

    def log_of_work(self, work_id: str, at: float, stream: str, text: str) -> None:
        """A line a running work wrote: to its inputs' logs (a batch's, each)."""
        attempt = self._running.active.get(work_id) or self._running.winding_down.get(work_id)
        if attempt is not None:
            for inp in attempt.inputs:
                self.write_log(inp, at, stream, text)
            return
        # Its input has ended (a callback or task it started prints late): the line still
        # belongs to that input, while the ledger keeps it.
        ended = self.find_input(work_id.partition("#")[0])
        if ended is not None:
            self.write_log(ended, at, stream, text)

    def sample(self, now: float) -> None:
        """Record the load now (the pool calls it at most every ``SAMPLE_EVERY`` seconds while
        inputs end, and whenever containers come or go), for views that draw it over time."""
        m = self.metrics
        self.history.record(
            LoadSample(
                now,
                self._running.in_flight,
                self._queues.queued,
                self._fleet.active_count(),
                m.succeeded,
                m.failed,
                m.cancelled,
            )
        )
        self.next_sample = now + SAMPLE_EVERY

    def record_scaling(self, now: float, action: str, reason: str, delta: int) -> None:
        """The fleet changed by ``delta`` containers (to how many run now), and why."""
        after = self._fleet.active_count()
        self.record_decision(ScalingDecision(now, action, after - delta, after, reason))

    def record_decision(self, decision: ScalingDecision) -> None:
        self.decisions.append(decision)
        self.emit("scaling", decision.at, data=decision)

    def warn(self, message: str, at: float) -> None:
        if message in self.warnings:
            return
        self.warnings.append(message)
        # In a notebook a print from this thread lands in whichever cell runs; the views
        # show warnings instead.
        if not _hooks.in_kernel():
            logger.warning(message)
        self.emit("warning", at, data=message)

    # --- reading (from any thread)

    def snapshot(self, settings: Settings) -> FunctionSnapshot:
        with self._lock:
            now = self._now()
            containers = self._fleet.snapshots(settings, self._running.winding_down_per_container())
            m = self.metrics
            counts = (
                self._queues.queued,
                self._running.in_flight,
                m.submitted,
                m.succeeded,
                m.failed,
                m.cancelled,
            )
            samples = list(m.queue_waits), list(m.run_times)
            throughput = m.throughput(now)
            decisions, warnings = tuple(self.decisions), tuple(self.warnings)
        # Sorting the samples happens outside the lock, so readers never stall the workload.
        queued, in_flight, submitted, succeeded, failed, cancelled = counts
        return FunctionSnapshot(
            name=self.name,
            backend=self.backend,
            taken_at=now,
            max_inputs=settings.max_inputs,
            target_inputs=settings.target,
            min_containers=settings.min_containers,
            max_containers=settings.max_containers,
            buffer_containers=settings.buffer_containers,
            scaledown_window=settings.scaledown_window,
            containers=containers,
            queued=queued,
            in_flight=in_flight,
            submitted=submitted,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            throughput=throughput,
            queue_wait=Percentiles.of(samples[0]),
            run_time=Percentiles.of(samples[1]),
            decisions=decisions,
            warnings=warnings,
        )

    def find_input(self, input_id: str) -> Input | None:
        with self._lock:
            found = self._running.find(input_id) or self._logged.get(input_id)
            if found is None:
                found = next((i for i in self.recent if i.id == input_id), None)
            if found is None:
                found = next((i for i in self._queues.live() if i.id == input_id), None)
            return found

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        """Running first, then the most recently finished, then the queue, up to ``limit``."""
        with self._lock:
            chosen = [m for m in self._running.inputs() if not m.settled]
            chosen += self._deadlines.waiting_retries()
            del chosen[limit:]
            chosen += itertools.islice(reversed(self.recent), max(0, limit - len(chosen)))
            chosen += itertools.islice(self._queues.live(), max(0, limit - len(chosen)))
            return [self.info(inp) for inp in chosen]

    def info(self, inp: Input) -> InputInfo:
        return InputInfo(
            id=inp.id,
            call_id=inp.call_id,
            function=self.name if inp.method is None else f"{self.name}.{inp.method}",
            status=str(inp.status),
            container_id=inp.container_id,
            queued_at=inp.queued_at,
            started_at=inp.started_at,
            finished_at=inp.finished_at,
            attempts=inp.attempt,
            error=inp.error,
            log_lines=len(inp.log.lines) if inp.log is not None else 0,
        )

    def logs(self, input_id: str) -> list[LogLine]:
        inp = self.find_input(input_id)
        if inp is None or inp.log is None:
            return []
        with self._lock:
            return list(inp.log.lines)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        with self._lock:
            logged = list(self._logged.values())
        found: list[tuple[str, LogLine]] = []
        needle = text.lower()
        for inp in logged:
            if inp.log is None:
                continue
            for line in list(inp.log.lines):
                if needle in line.text.lower():
                    found.append((inp.id, line))
                    if len(found) >= limit:
                        return found
        return found
