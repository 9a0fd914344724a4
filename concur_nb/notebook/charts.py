"""Plotly charts of a function over time: queue depth, slots in use, containers; run-time histogram.

``History`` is plain data fed from snapshots (testable without plotly); ``Charts`` draws it
into two ``FigureWidget``s, updated in one batch per redraw.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from .._state import FunctionSnapshot, InputInfo
from .summary import live_containers


class History:
    """Bounded time series of a function's load, and recent run times for the histogram."""

    def __init__(self, points: int = 1200, samples: int = 2000) -> None:
        self.t: deque[float] = deque(maxlen=points)
        self.queued: deque[int] = deque(maxlen=points)
        self.slots: deque[int] = deque(maxlen=points)
        self.containers: deque[int] = deque(maxlen=points)
        self.run_times: deque[float] = deque(maxlen=samples)
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._origin: float | None = None
        self.version = 0  # bumps on every change, so a redraw can skip when nothing moved

    def record(self, snap: FunctionSnapshot) -> None:
        if self._origin is None:
            self._origin = snap.taken_at
        self.t.append(round(snap.taken_at - self._origin, 3))
        self.queued.append(snap.queued)
        self.slots.append(snap.slots_in_use)
        self.containers.append(len(live_containers(snap)))
        self.version += 1

    def add_finished(self, inputs: list[InputInfo]) -> None:
        """Take the run times of finished inputs not seen before."""
        for info in inputs:
            if info.finished_at is None or info.started_at is None or info.id in self._seen:
                continue
            self._seen.add(info.id)
            self._seen_order.append(info.id)
            self.run_times.append(info.finished_at - info.started_at)
            self.version += 1
        while len(self._seen_order) > 4 * (self.run_times.maxlen or 0):
            self._seen.discard(self._seen_order.popleft())


class Charts:
    """Two plotly ``FigureWidget``s: load over time, and a histogram of run times."""

    def __init__(self, history: History, height: int = 260, width: int = 520) -> None:
        import plotly.graph_objects as go  # only the notebook front-end imports plotly
        from plotly.subplots import make_subplots

        self.history = history
        self._drawn = -1
        # Queue depth can be thousands while slots are tens and containers a few: each gets a
        # scale of its own (queue above; slots left and containers right below).
        layout = make_subplots(
            rows=2,
            cols=1,
            shared_xaxes=True,
            vertical_spacing=0.08,
            specs=[[{}], [{"secondary_y": True}]],
        )
        layout.add_trace(go.Scatter(x=[], y=[], name="queue depth", mode="lines"), row=1, col=1)
        layout.add_trace(go.Scatter(x=[], y=[], name="slots in use", mode="lines"), row=2, col=1)
        layout.add_trace(
            go.Scatter(x=[], y=[], name="containers", mode="lines", line=dict(dash="dot")),
            row=2,
            col=1,
            secondary_y=True,
        )
        layout.update_layout(
            height=height,
            width=width,
            margin=dict(l=50, r=50, t=30, b=40),
            title=dict(text="load over time", font=dict(size=13)),
            legend=dict(orientation="h", y=-0.2),
        )
        layout.update_yaxes(rangemode="tozero", row=1, col=1, title_text="queued")
        layout.update_yaxes(rangemode="tozero", row=2, col=1, title_text="slots")
        layout.update_yaxes(
            rangemode="tozero", row=2, col=1, secondary_y=True, title_text="containers"
        )
        layout.update_xaxes(title_text="seconds", row=2, col=1)
        self.timeline: Any = go.FigureWidget(layout)
        self.latency: Any = go.FigureWidget(
            data=[go.Histogram(x=[], name="run time (s)", nbinsx=40)],
            layout=go.Layout(
                height=height,
                width=int(width * 0.7),
                margin=dict(l=50, r=20, t=30, b=40),
                title=dict(text="run time per input", font=dict(size=13)),
                xaxis=dict(title="seconds"),
                yaxis=dict(title="inputs"),
            ),
        )

    def draw(self) -> bool:
        """Push the history into the figures (one batched message each); False if unchanged."""
        h = self.history
        if h.version == self._drawn:
            return False
        self._drawn = h.version
        t = _array(h.t)
        top = max(h.containers, default=0) + 1
        with self.timeline.batch_update():
            self.timeline.data[0].update(x=t, y=_array(h.queued))
            self.timeline.data[1].update(x=t, y=_array(h.slots))
            self.timeline.data[2].update(x=t, y=_array(h.containers))
            # whole containers only: ticks at integers, never 0.35 of one
            self.timeline.layout.yaxis3.update(range=[0, top], dtick=max(1, top // 5))
        with self.latency.batch_update():
            self.latency.data[0].x = _array(h.run_times)
        return True


def _array(values: deque[Any]) -> Any:
    """A numpy array when numpy is there: plotly validates one ~6x faster than a list."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - plotly works without numpy, only slower
        return list(values)
    return numpy.fromiter(values, dtype=float, count=len(values))
