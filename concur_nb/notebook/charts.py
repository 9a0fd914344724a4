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

    def __init__(self, history: History, height: int = 260) -> None:
        import plotly.graph_objects as go  # only the notebook front-end imports plotly

        self.history = history
        self._drawn = -1
        self.timeline: Any = go.FigureWidget(
            data=[
                go.Scatter(x=[], y=[], name="queue depth", mode="lines"),
                go.Scatter(x=[], y=[], name="slots in use", mode="lines"),
                go.Scatter(x=[], y=[], name="containers", mode="lines", yaxis="y2"),
            ],
            layout=go.Layout(
                height=height,
                margin=dict(l=50, r=50, t=30, b=40),
                title=dict(text="load over time", font=dict(size=13)),
                xaxis=dict(title="seconds"),
                yaxis=dict(title="inputs", rangemode="tozero"),
                yaxis2=dict(title="containers", overlaying="y", side="right", rangemode="tozero"),
                legend=dict(orientation="h", y=-0.25),
            ),
        )
        self.latency: Any = go.FigureWidget(
            data=[go.Histogram(x=[], name="run time (s)", nbinsx=40)],
            layout=go.Layout(
                height=height,
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
        t = list(h.t)
        with self.timeline.batch_update():
            self.timeline.data[0].update(x=t, y=list(h.queued))
            self.timeline.data[1].update(x=t, y=list(h.slots))
            self.timeline.data[2].update(x=t, y=list(h.containers))
        with self.latency.batch_update():
            self.latency.data[0].x = list(h.run_times)
        return True
