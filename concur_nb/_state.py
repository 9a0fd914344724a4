"""What the front-ends read: events, snapshots and metrics.

Keeping these costs the workload little: counters, bounded buffers, and no per-event work when
nobody subscribes. Front-ends poll ``snapshot()`` at their own pace and may subscribe to the
event stream; subscriber callbacks run in the engine's threads and must be quick (set a flag,
append to a deque), never block.
"""

from __future__ import annotations

import dataclasses
import html
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any


def human_seconds(value: float | None) -> str:
    """A duration, human sized: ``0.0123`` -> ``"12.3 ms"``, ``None`` -> ``"-"``."""
    if value is None:
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


def _html_table(title: str, rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><td style="color:#777;padding-right:12px;text-align:left">{html.escape(k)}</td>'
        f'<td style="text-align:left">{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    return f"<b>{html.escape(title)}</b><table>{cells}</table>"


# --- per-input logs ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LogLine:
    at: float  # clock time the line was written
    stream: str  # "stdout" | "stderr" | "log"
    text: str  # one line, without its newline


class InputLog:
    """The captured lines of one input, bounded: past ``limit`` the oldest go and are counted."""

    __slots__ = ("_partial", "dropped", "lines")

    def __init__(self, limit: int) -> None:
        self.lines: deque[LogLine] = deque(maxlen=limit)
        self.dropped = 0
        self._partial: dict[str, str] = {}

    def write(self, at: float, stream: str, text: str) -> list[LogLine]:
        """Add ``text`` (any chunk of a stream) and return the complete lines it finished."""
        pending = self._partial.pop(stream, "") + text
        *complete, rest = pending.split("\n")
        if rest:
            self._partial[stream] = rest
        return [self._append(LogLine(at, stream, line)) for line in complete]

    def flush(self, at: float) -> list[LogLine]:
        """Turn unfinished partial lines into lines (the input ended)."""
        done = [self._append(LogLine(at, s, t)) for s, t in self._partial.items()]
        self._partial.clear()
        return done

    def _append(self, line: LogLine) -> LogLine:
        if len(self.lines) == self.lines.maxlen:
            self.dropped += 1
        self.lines.append(line)
        return line


# --- snapshots --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InputInfo:
    id: str
    call_id: str
    function: str
    status: str  # "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out"
    container_id: str | None
    queued_at: float
    started_at: float | None
    finished_at: float | None
    attempts: int
    error: str | None
    log_lines: int

    @property
    def duration(self) -> float | None:
        """Run time of the latest attempt (None until it has both started and finished)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def age_text(self, now: float | None = None) -> str:
        """``succeeded in 1.20 s``, ``running for 3.0 s``, ``queued for 2.0 s``."""
        now = time.monotonic() if now is None else now
        if self.duration is not None:
            return f"{self.status} in {human_seconds(self.duration)}"
        if self.started_at is not None and self.finished_at is None:
            return f"{self.status} for {human_seconds(max(0.0, now - self.started_at))}"
        if self.finished_at is not None:  # settled without ever starting (cancelled queued)
            return self.status
        return f"{self.status} for {human_seconds(max(0.0, now - self.queued_at))}"

    def __repr__(self) -> str:
        where = f" on {self.container_id}" if self.container_id else ""
        retry = f", attempt {self.attempts}" if self.attempts > 1 else ""
        error = f": {self.error}" if self.error else ""
        return f"<input {self.id} of {self.function}: {self.age_text()}{where}{retry}{error}>"

    def _repr_html_(self) -> str:
        return html.escape(repr(self))


@dataclasses.dataclass(frozen=True)
class ContainerSnapshot:
    id: str
    kind: str  # "thread" | "asyncio" | "process" | "ssh"
    status: str  # "starting" | "running" | "draining" | "stopped" | "failed"
    in_use: int
    target_inputs: int
    max_inputs: int
    host: str  # "local" or the SSH destination
    gpus: tuple[str, ...]
    started_at: float | None
    inputs_done: int
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ScalingDecision:
    at: float
    action: str  # "scale_up" | "scale_down" | "replace"
    containers_before: int
    containers_after: int
    reason: str


@dataclasses.dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p95: float | None
    p99: float | None
    samples: int

    @staticmethod
    def of(values: list[float]) -> Percentiles:
        if not values:
            return Percentiles(None, None, None, 0)
        ordered = sorted(values)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return Percentiles(pick(0.50), pick(0.95), pick(0.99), len(ordered))


@dataclasses.dataclass(frozen=True)
class FunctionSnapshot:
    name: str
    backend: str
    taken_at: float
    max_inputs: int
    target_inputs: int
    min_containers: int
    max_containers: int | None
    buffer_containers: int
    scaledown_window: float
    containers: tuple[ContainerSnapshot, ...]
    queued: int
    in_flight: int
    submitted: int
    succeeded: int
    failed: int
    cancelled: int
    throughput: float  # inputs finished per second, recent window
    queue_wait: Percentiles
    run_time: Percentiles
    decisions: tuple[ScalingDecision, ...]
    warnings: tuple[str, ...] = ()

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    @property
    def slots_in_use(self) -> int:
        return sum(c.in_use for c in self.containers)

    def _fields(self) -> list[tuple[str, str]]:
        live = sum(c.status in ("starting", "running", "draining") for c in self.containers)
        limit = "∞" if self.max_containers is None else str(self.max_containers)
        age = human_seconds(max(0.0, time.monotonic() - self.taken_at))
        return [
            ("backend", self.backend),
            ("max / target inputs", f"{self.max_inputs} / {self.target_inputs}"),
            ("containers", f"{live} of at most {limit}"),
            ("queued / in flight", f"{self.queued} / {self.in_flight}"),
            (
                "succeeded / failed / cancelled",
                f"{self.succeeded} / {self.failed} / {self.cancelled} of {self.submitted}",
            ),
            ("throughput", f"{self.throughput:.1f}/s"),
            (
                "run time p50 / p95",
                f"{human_seconds(self.run_time.p50)} / {human_seconds(self.run_time.p95)}",
            ),
            ("queue wait p95", human_seconds(self.queue_wait.p95)),
            ("taken", f"{age} ago"),
        ]

    def __repr__(self) -> str:
        body = " · ".join(f"{k} {v}" for k, v in self._fields())
        return f"<snapshot of {self.name}: {body}>"

    def _repr_html_(self) -> str:
        return _html_table(f"snapshot of {self.name}", self._fields())


# --- events -----------------------------------------------------------------------------------

EVENT_KINDS = (
    "input_queued",
    "input_started",
    "input_log",
    "input_finished",
    "container_started",
    "container_stopped",
    "scaling",
    "warning",
)


@dataclasses.dataclass(frozen=True)
class Event:
    kind: str  # one of EVENT_KINDS
    function: str
    at: float
    input_id: str | None = None
    container_id: str | None = None
    data: Any = None  # LogLine for input_log, status str for input_finished, ...


class EventBus:
    """Fan-out of events to subscribers; free when nobody listens (check ``active`` first)."""

    def __init__(self) -> None:
        self._subscribers: tuple[Callable[[Event], None], ...] = ()
        self._lock = threading.Lock()
        self.active = False  # whether anyone listens: a plain attribute, read once per input

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers = (*self._subscribers, callback)
            self.active = True

        def unsubscribe() -> None:
            with self._lock:
                self._subscribers = tuple(s for s in self._subscribers if s is not callback)
                self.active = bool(self._subscribers)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception:  # a broken front-end must never break the workload
                pass


class Metrics:
    """Counters and bounded samples of one function's inputs."""

    SAMPLES = 4096

    def __init__(self) -> None:
        self.submitted = 0
        self.succeeded = 0
        self.failed = 0
        self.cancelled = 0
        self.queue_waits: deque[float] = deque(maxlen=self.SAMPLES)
        self.run_times: deque[float] = deque(maxlen=self.SAMPLES)
        self._marks: deque[tuple[float, int]] = deque(maxlen=256)
        self.first_submit_at: float | None = None

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled

    def throughput(self, now: float, window: float = 5.0) -> float:
        """Inputs settled (succeeded or failed, not cancelled) per second, recent ``window``.

        Cancels are not work done: counting them made the rate leap a hundredfold on a cancel.
        """
        done = self.succeeded + self.failed
        if not self._marks or now - self._marks[-1][0] >= 0.25:  # many readers share marks
            self._marks.append((now, done))
        for at, count in self._marks:
            if now - at <= window and now - at >= 0.5:
                return (done - count) / (now - at)
        # No earlier reading to compare with: the average since work first arrived.
        if self.first_submit_at is None or now <= self.first_submit_at:
            return 0.0
        return done / (now - self.first_submit_at)


# --- load over time ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoadSample:
    """One function's load at clock time ``at``; the counts are running totals."""

    at: float
    in_flight: int
    queued: int
    containers: int
    succeeded: int
    failed: int
    cancelled: int


class LoadHistory:
    """A bounded time series of ``LoadSample``s: one writer (the pool), any number of readers.

    Appending to a deque is atomic; readers copy it under a lock shared with nothing hot, and
    retry if the writer moved it under them.
    """

    def __init__(self, limit: int = 36_000) -> None:  # an hour at 10 samples a second
        self._samples: deque[LoadSample] = deque(maxlen=limit)

    def record(self, sample: LoadSample) -> None:
        self._samples.append(sample)

    def latest(self) -> LoadSample | None:
        try:
            return self._samples[-1]
        except IndexError:
            return None

    def since(self, t: float | None = None) -> list[LoadSample]:
        """Samples taken at or after ``t`` (all of them for None), oldest first."""
        for _ in range(10):
            try:
                samples = list(self._samples)
                break
            except RuntimeError:  # "deque mutated during iteration": the writer appended
                continue
        else:
            samples = []
        if t is None:
            return samples
        lo, hi = 0, len(samples)
        while lo < hi:  # samples are in time order: bisect on ``at``
            mid = (lo + hi) // 2
            if samples[mid].at < t:
                lo = mid + 1
            else:
                hi = mid
        return samples[lo:]

    def __len__(self) -> int:
        return len(self._samples)
