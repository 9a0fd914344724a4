"""A view's charts: load over time and run times, as inline SVG in two HTML widgets.

The SVG is drawn here (``svg.py``), with its data, before it is sent: a chart never reaches
the page empty, its axes are fitted to its data, and the same drawing is what a frozen summary
keeps. No plotly import, so a view appears at once and a kernel interrupt is not held up.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

from .._state import InputInfo


class History:
    """Run times of recent finished inputs, each taken once (for a function's histogram)."""

    def __init__(self, samples: int = 2000) -> None:
        self.run_times: deque[float] = deque(maxlen=samples)
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self.version = 0  # bumps on every change

    def add_finished(self, inputs: list[InputInfo]) -> None:
        """Take the run times of finished inputs not seen before."""
        for info in inputs:
            if info.finished_at is None or info.started_at is None or info.id in self._seen:
                continue
            if info.status == "cancelled":
                continue
            self._seen.add(info.id)
            self._seen_order.append(info.id)
            self.run_times.append(info.finished_at - info.started_at)
            self.version += 1
        while len(self._seen_order) > 4 * (self.run_times.maxlen or 0):
            self._seen.discard(self._seen_order.popleft())


class Drawable(Protocol):
    def timeline_svg(self) -> str: ...

    def latency_svg(self) -> str: ...


class Charts:
    """Two ``HTML`` widgets holding the SVG charts of a view's scope."""

    def __init__(self, scope: Drawable) -> None:
        import ipywidgets as W

        self.scope = scope
        # Each chart fills its box, at most its drawn size, down to 60% of it (a side panel).
        self.timeline: Any = W.HTML(
            scope.timeline_svg(), layout=W.Layout(flex="1 1 312px", max_width="520px")
        )
        self.latency: Any = W.HTML(
            scope.latency_svg(), layout=W.Layout(flex="1 1 216px", max_width="360px")
        )
        self.timeline.add_class("cnb-timeline-box")
        self.latency.add_class("cnb-latency-box")

    def draw(self) -> bool:
        """Redraw both; only a chart whose drawing changed sends a message. True if one did."""
        changed = False
        for widget, draw in (
            (self.timeline, self.scope.timeline_svg),
            (self.latency, self.scope.latency_svg),
        ):
            value = draw()
            if value != widget.value:
                widget.value = value
                changed = True
        return changed
