"""The read side of a pool: what front-ends see of its inputs, logs, decisions and metrics.

The pool writes here under its lock as things happen; front-ends read snapshots, input lists
and logs at their own pace. Everything is bounded: recent inputs, logged inputs, lines per
input, decisions, warnings and samples.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from . import _hooks
from ._errors_text import describe
from ._inputs import CANCELLED, SUCCEEDED, Input, InputStatus
from ._state import (
    ContainerSnapshot,
    Event,
    EventBus,
    FunctionSnapshot,
    InputInfo,
    InputLog,
    LogLine,
    Metrics,
    Percentiles,
    ScalingDecision,
)

logger = logging.getLogger("concur_nb")

RECENT_INPUTS = 500  # finished inputs kept for the dashboard's input list
LOGGED_INPUTS = 2000  # inputs whose logs are kept for reading and search
LOG_LINES_PER_INPUT = 1000


class Ledger:
    def __init__(self, name: str) -> None:
        self.name = name
        self.events = EventBus()
        self.metrics = Metrics()
        self.recent: deque[Input] = deque(maxlen=RECENT_INPUTS)
        self._logged: dict[str, Input] = {}
        self.decisions: deque[ScalingDecision] = deque(maxlen=200)
        self.warnings: deque[str] = deque(maxlen=20)

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

    # --- reading

    def find_logged(self, input_id: str) -> Input | None:
        inp = self._logged.get(input_id)
        if inp is not None:
            return inp
        return next((i for i in self.recent if i.id == input_id), None)

    def logged(self) -> list[Input]:
        return list(self._logged.values())

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

    def input_list(
        self, running: Iterable[Input], waiting: Iterable[Input], limit: int
    ) -> list[Input]:
        """Running first, then the most recently finished, then the queue, up to ``limit``."""
        chosen = list(itertools.islice(running, limit))
        chosen += itertools.islice(reversed(self.recent), max(0, limit - len(chosen)))
        chosen += itertools.islice(waiting, max(0, limit - len(chosen)))
        return chosen


def search_logs(inputs: list[Input], text: str, limit: int) -> list[tuple[str, LogLine]]:
    found: list[tuple[str, LogLine]] = []
    needle = text.lower()
    for inp in inputs:
        if inp.log is None:
            continue
        for line in list(inp.log.lines):
            if needle in line.text.lower():
                found.append((inp.id, line))
                if len(found) >= limit:
                    return found
    return found


def function_snapshot(
    name: str,
    backend: str,
    now: float,
    settings: Any,
    containers: tuple[ContainerSnapshot, ...],
    counts: tuple[int, ...],
    samples: tuple[list[float], list[float]],
    throughput: float,
    ledger: Ledger,
) -> FunctionSnapshot:
    """A snapshot from what the pool copied under its lock; sorting the samples happens here,
    outside it, so readers never stall the workload."""
    queued, in_flight, submitted, succeeded, failed, cancelled = counts
    queue_waits, run_times = samples
    return FunctionSnapshot(
        name=name,
        backend=backend,
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
        queue_wait=Percentiles.of(queue_waits),
        run_time=Percentiles.of(run_times),
        decisions=tuple(ledger.decisions),
        warnings=tuple(ledger.warnings),
    )
