"""What a view is bound to: one call (its progress, inputs, history from its start; it ends)
or a function (the totals of all its calls; it never ends). Pure reading and rendering: the
``Dashboard`` owns the widgets and the refreshing.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable
from typing import Any

from .._call_progress import CallProgress, ProgressReader, info_of, load_curve
from .._state import FunctionSnapshot, InputInfo, LoadHistory, LoadSample, Percentiles
from . import summary, svg
from .charts import History
from .summary import seconds


def engine_call(call: Any) -> Any:
    """The engine-side call behind a ``FunctionCall`` (None for other handles)."""
    engine = getattr(call, "_call", None)
    return engine if engine is not None and hasattr(engine, "inputs") else None


class _Samples:
    """The function's load over time: the engine's history where it keeps one, else our own
    samples, one per redraw, from the snapshots we take anyway."""

    def __init__(self, fn: Any) -> None:
        self._engine: Callable[..., list[LoadSample]] | None = getattr(fn, "history", None)
        self._own = LoadHistory(limit=20_000)

    def record(self, snap: FunctionSnapshot) -> None:
        if self._engine is None:
            self._own.record(
                LoadSample(
                    at=snap.taken_at,
                    in_flight=snap.in_flight,
                    queued=snap.queued,
                    containers=len(summary.live_containers(snap)),
                    succeeded=snap.succeeded,
                    failed=snap.failed,
                    cancelled=snap.cancelled,
                )
            )

    def since(self, t: float | None) -> list[LoadSample]:
        if self._engine is not None:
            try:
                return list(self._engine(since=t))
            except Exception:  # an engine without it after all: fall back to ours
                self._engine = None
        return self._own.since(t)


class FunctionScope:
    """A function's view: its totals, its recent inputs, its load since the view opened."""

    kind = "function"

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.samples = _Samples(fn)
        self.history = History()  # run times of recent inputs
        self.origin: float | None = None

    def update(self, snap: FunctionSnapshot, now: float) -> None:
        if self.origin is None:
            self.origin = snap.taken_at
        self.samples.record(snap)

    def busy(self, snap: FunctionSnapshot) -> bool:
        return bool(snap.queued or snap.in_flight)

    @property
    def finished(self) -> bool:
        return False  # a function can always get more work

    def title(self) -> str:
        return f"function {self.fn.name} · totals of all its calls"

    def header_html(self, snap: FunctionSnapshot) -> str:
        return summary.header_html(snap, title=self.title())

    def inputs(self, limit: int) -> list[InputInfo]:
        recent = self.fn.inputs(limit=limit)
        self.history.add_finished(recent)
        return list(recent)

    def timeline_svg(self) -> str:
        samples = self.samples.since(self.origin)
        origin = self.origin if self.origin is not None else 0.0
        x = [s.at - origin for s in samples]
        return svg.line_chart(
            [
                svg.Series("in flight", x, [s.in_flight for s in samples], svg.COLORS[0]),
                svg.Series("queued", x, [s.queued for s in samples], svg.COLORS[1]),
                svg.Series(
                    "containers",
                    x,
                    [s.containers for s in samples],
                    svg.COLORS[2],
                    right=True,
                    dash=True,
                    step=True,
                ),
            ],
            title=f"{self.fn.name}: load since this view opened",
            y_title="inputs",
            right_title="containers",
        )

    def latency_svg(self) -> str:
        return svg.histogram(
            list(self.history.run_times), title=f"{self.fn.name}: run time of recent inputs"
        )


class CallScope:
    """A call's view: its own progress, inputs and history from its start; it ends."""

    kind = "call"

    def __init__(self, fn: Any, call: Any, engine: Any) -> None:
        self.fn = fn
        self.call = call
        self.engine = engine
        self.call_id: str = getattr(call, "object_id", None) or engine.id
        self.reader = ProgressReader(engine)
        self.samples = _Samples(fn)
        self.progress: CallProgress = self.reader.read()
        # What happened before this view appeared, rebuilt once from the inputs' times.
        self._curve = _thinned(load_curve(engine.inputs))
        self._since_curve = self._curve[-1][0] if self._curve else None
        self._live: list[tuple[float, int, int, int]] = []

    def update(self, snap: FunctionSnapshot, now: float) -> None:
        p = self.progress = self.reader.read(now)
        self.samples.record(snap)
        at = p.finished_at if p.finished_at is not None else now
        if self._since_curve is None or at > self._since_curve:
            self._live.append((at, p.queued, p.running + p.cancelling, p.succeeded + p.failed))
            if len(self._live) > 4 * svg.MAX_POINTS:  # an hour at 10 Hz: keep it cheap to draw
                self._live = _thinned(self._live)

    def busy(self, snap: FunctionSnapshot) -> bool:
        return not self.finished

    @property
    def finished(self) -> bool:
        return self.progress.finished

    def title(self) -> str:
        return f"call {self.call_id} of {self.fn.name}"

    def header_html(self, snap: FunctionSnapshot) -> str:
        return call_header_html(self.progress, self.title())

    def inputs(self, limit: int) -> list[InputInfo]:
        name = self.fn.name
        return [info_of(inp, name) for inp in self.reader.recent_inputs(limit)]

    def _points(self, exact: bool) -> list[tuple[float, int, int, int]]:
        if exact:  # the final chart: rebuilt from every input, whatever the view saw
            return _thinned(load_curve(self.engine.inputs)) or self._curve + self._live
        return self._curve + self._live

    def timeline_svg(self, exact: bool = False) -> str:
        origin = self.progress.started_at or 0.0
        points = self._points(exact)
        x = [p[0] - origin for p in points]
        samples = self.samples.since(origin)
        end = self.progress.finished_at
        if end is not None:
            samples = [s for s in samples if s.at <= end]
        return svg.line_chart(
            [
                svg.Series("queued", x, [p[1] for p in points], svg.COLORS[1], step=True),
                svg.Series("running", x, [p[2] for p in points], svg.COLORS[0], step=True),
                # drawn last, on top: where it meets another line, it is the one seen
                svg.Series("done", x, [p[3] for p in points], svg.COLORS[2], step=True),
                svg.Series(
                    "containers",
                    [s.at - origin for s in samples],
                    [s.containers for s in samples],
                    svg.COLORS[3],
                    right=True,
                    dash=True,
                    step=True,
                ),
            ],
            title=f"call {self.call_id}: inputs over time",
            x_title="seconds since the call started",
            y_title="inputs",
            right_title="containers",
        )

    def latency_svg(self, exact: bool = False) -> str:
        times = self.reader.run_times
        # Live, the latest 1,000 tell the shape (binning all of a big call twice a second
        # cost more than the rest of the view); the summary bins them all.
        recent = (
            list(times) if exact else list(itertools.islice(times, max(0, len(times) - 1000), None))
        )
        return svg.histogram(recent, title=f"call {self.call_id}: run time per input")

    def frozen_html(self) -> str:
        """The call's summary once it has ended: static HTML, the same forever after."""
        return frozen_html(self.progress, self.title(), self.call_id, self._percentiles()) + (
            f'<div class="cnb-frozen-charts" style="display:flex;flex-wrap:wrap;gap:8px">'
            f"{svg.box(self.timeline_svg(exact=True), 520)}"
            f"{svg.box(self.latency_svg(exact=True), 360)}</div></div>"
        )

    def frozen_text(self) -> str:
        p = self.progress
        return f"{self.title()}: {p} in {seconds(p.elapsed)} ({p.rate:.1f}/s)"

    def _percentiles(self) -> tuple[Percentiles, Percentiles]:
        waits = [
            inp.started_at - inp.queued_at
            for inp in self.engine.inputs
            if inp.started_at is not None
        ]
        return Percentiles.of(list(self.reader.run_times)), Percentiles.of(waits)


def _thinned(points: list[tuple[float, int, int, int]]) -> list[tuple[float, int, int, int]]:
    """At most twice the points a chart draws (first and last kept)."""
    limit = 2 * svg.MAX_POINTS
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def progress_bar_html(p: CallProgress, width_px: int = 320) -> str:
    """A bar of the call: succeeded, failed, cancelled, running, in that order, of ``total``."""
    total = max(p.total, 1)
    parts = [
        (p.succeeded, "#3aa655", "succeeded"),
        (p.failed, "#d33", "failed"),
        (p.cancelled + p.cancelling, "#999", "cancelled"),
        (p.running, "#9cc3f5", "running"),
    ]
    segments = "".join(
        f'<div title="{n} {what}" style="width:{100 * n / total:.2f}%;background:{color}"></div>'
        for n, color, what in parts
        if n
    )
    return (
        f'<div class="cnb-progress" style="display:flex;width:{width_px}px;height:12px;'
        f'background:#e6e6e6;border-radius:2px;overflow:hidden;vertical-align:middle">'
        f"{segments}</div>"
    )


def _data(p: CallProgress) -> str:
    return (
        f'data-total="{p.total}" data-succeeded="{p.succeeded}" data-failed="{p.failed}" '
        f'data-cancelled="{p.cancelled}" data-cancelling="{p.cancelling}" '
        f'data-running="{p.running}" data-queued="{p.queued}" data-done="{p.done}"'
    )


def call_header_html(p: CallProgress, title: str) -> str:
    """The live head of a call's view: counts of N, a bar, rate and ETA."""
    state = "done" if p.finished else "running"
    eta = f" · ETA {seconds(p.eta)}" if p.eta is not None else ""
    return (
        f'<div class="cnb-header cnb-call-header" data-scope="call" data-state="{state}" '
        f'{_data(p)}><div style="margin-bottom:3px"><b>{html.escape(title)}</b> · {state}</div>'
        f'<div style="display:flex;gap:12px;align-items:center;flex-wrap:wrap">'
        f"{progress_bar_html(p)}<span class='cnb-counts'>{html.escape(str(p))}</span>"
        f"<span>{p.rate:.1f}/s{eta} · {seconds(p.elapsed or 0.0)} so far</span></div></div>"
    )


def frozen_html(
    p: CallProgress, title: str, call_id: str, pct: tuple[Percentiles, Percentiles]
) -> str:
    """The head of a frozen summary (its caller closes the outer ``div`` after the charts)."""
    run, wait = pct
    rows = [
        ("inputs", str(p)),
        ("took", f"{seconds(p.elapsed)} · {p.rate:.1f} inputs/s"),
        (
            "run time p50 / p95 / p99",
            f"{seconds(run.p50)} / {seconds(run.p95)} / {seconds(run.p99)}",
        ),
        ("queue wait p50 / p95", f"{seconds(wait.p50)} / {seconds(wait.p95)}"),
    ]
    cells = "".join(
        f'<tr><td style="color:#777;padding-right:12px;text-align:left">{html.escape(k)}</td>'
        f'<td style="text-align:left"><b>{html.escape(v)}</b></td></tr>'
        for k, v in rows
    )
    return (
        f'<div class="cnb-frozen" data-call="{html.escape(call_id)}" {_data(p)}>'
        f"<div><b>{html.escape(title)}</b> · finished</div>"
        f"{progress_bar_html(p)}<table>{cells}</table>"
    )
