"""The live dashboard of one concurrent function: a view over its snapshots, logs and events.

Example::

    call = f.spawn_map(range(1000))
    concur_nb.dashboard(f, call=call)   # last expression of a cell: shows it, live

One ``Refresher`` redraws it at most ``rate`` times a second while the function has inputs
queued or in flight (the input list, log and charts at most ``detail_rate`` times), each redraw
batched per widget with ``hold_sync``; when the work is done it stops and leaves a static
summary. Outside a widget front-end the same object shows as text or
HTML (``repr``, ``_repr_html_``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from .._state import Event, FunctionSnapshot, InputInfo, LogLine
from . import summary
from ._env import in_kernel
from ._protocol import Cancellable, Watchable
from .charts import Charts, History
from .refresher import Refresher


class Dashboard:
    """Live view of ``fn`` (a concurrent function, class, or anything with its read API)."""

    def __init__(
        self,
        fn: Watchable,
        *,
        call: Cancellable | None = None,
        rate: float = 10.0,
        detail_rate: float = 2.0,
        charts: bool = True,
        inputs_shown: int = 100,
        log_lines: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fn = fn
        self.call = call
        self._clock = clock
        self._detail_interval = 1.0 / detail_rate
        self._details_at = -float("inf")
        self._inputs_shown = inputs_shown
        self._log_lines = log_lines
        self._lock = threading.RLock()  # the refresher thread and widget callbacks both redraw
        self._selected: str | None = None
        self._log_key: tuple[Any, ...] = ()
        self._updating = False  # True while we set the input list ourselves
        self._unsubscribe: Callable[[], None] | None = None
        self._following = False
        self.snapshot: FunctionSnapshot | None = None
        self.history = History()
        self.refresher = Refresher(self._tick, rate, name=f"concur_nb-dashboard-{fn.name}")

        self.header = W.HTML()
        self.containers = W.HTML()
        self.inputs = W.Select(options=[], rows=8, layout=W.Layout(width="100%"))
        self.search = W.Text(placeholder="search logs", continuous_update=True)
        self.log = W.HTML(summary.log_html([]))
        self.cancel_input_button = W.Button(description="Cancel input", icon="times")
        self.cancel_all_button = W.Button(
            description="Cancel call" if call is not None else "Cancel all", icon="ban"
        )
        self.note = W.HTML()
        self.charts: Charts | None = None
        self._charts_wanted = charts
        self._chart_box = W.HBox(layout=W.Layout(flex_flow="row wrap"))  # narrow: they stack
        for widget, name in [
            (self.header, "cnb-header-box"),
            (self.containers, "cnb-containers-box"),
            (self.inputs, "cnb-inputs"),
            (self.search, "cnb-search"),
            (self.log, "cnb-log-box"),
            (self.cancel_input_button, "cnb-cancel-input"),
            (self.cancel_all_button, "cnb-cancel-all"),
        ]:
            widget.add_class(name)  # stable hooks for the browser test and for user CSS
        self.inputs.observe(self._on_select, "value")
        self.search.observe(self._on_search, "value")
        self.cancel_input_button.on_click(lambda _: self.cancel_selected())
        self.cancel_all_button.on_click(lambda _: self.cancel_all())

        self.widget = self._layout()
        self.widget.add_class("cnb-dashboard")
        self.refresh()

    def _layout(self) -> W.VBox:
        """Header, container rows, charts, then the input list beside the log viewer."""
        inputs_panel = W.VBox(
            [
                W.HTML("<b>inputs</b> (running first, then recent)"),
                self.inputs,
                W.HBox([self.cancel_input_button, self.cancel_all_button]),
            ],
            layout=W.Layout(width="45%"),
        )
        log_panel = W.VBox(
            [W.HTML("<b>logs</b>"), self.search, self.log], layout=W.Layout(width="55%")
        )
        return W.VBox(
            [
                self.header,
                self.containers,
                self._chart_box,
                W.HBox([inputs_panel, log_panel]),
                self.note,
            ]
        )

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> Dashboard:
        """Follow the function live, redrawing at most ``rate`` times a second while it works."""
        self._following = True
        self.refresher.start()
        if self._charts_wanted and self.charts is None:
            # The first plotly import in a process takes seconds: never make the cell (or a
            # blocking call's auto-dashboard) wait for it; the charts appear when ready.
            threading.Thread(
                target=self.ensure_charts, name="concur_nb-charts", daemon=True
            ).start()
        return self

    def poke(self) -> None:
        """Redraw soon, if the dashboard is live (a setting changed, a button was pressed)."""
        if self._following:
            self.refresher.poke()

    def ensure_charts(self) -> Charts | None:
        """Build the charts now if they are wanted and not built yet; return them."""
        with self._lock:
            if not self._charts_wanted or self.charts is not None:
                return self.charts
            self._charts_wanted = False
        try:
            charts = self._new_charts()
        except ImportError as exc:  # plotly's FigureWidget needs anywidget
            self.note.value = f"<i>charts unavailable: {exc}</i>"
            return None
        with self._lock:
            charts.draw()
            self._chart_box.children = (charts.timeline, charts.latency)
            self.charts = charts  # last: whoever sees it sees drawn charts
        return charts

    def _new_charts(self) -> Charts:
        """Charts, drawn once, importing plotly (and numpy) first if needed.

        Built off the cell's thread, the import can meet the same modules being imported by the
        cell (numpy, say): Python then hands this thread a partially initialized module to
        avoid a deadlock. That import is simply tried again once the other one is done.
        """
        for _ in range(20):
            try:
                charts = Charts(self.history)
                charts.draw()
                return charts
            except (ImportError, AttributeError) as exc:
                if "partially initialized" not in str(exc):
                    raise
                time.sleep(0.25)
        return Charts(self.history)

    def stop(self) -> None:
        """Stop following; the widgets keep their last state."""
        self._following = False
        self._drop_subscription()
        self.refresher.stop()

    def close(self) -> None:
        """Stop, and remove the widgets from the front-end."""
        self.stop()
        _close_tree(self.widget)

    @property
    def done(self) -> bool:
        """True when nothing is queued or in flight (the view is a static summary)."""
        snap = self.snapshot
        return snap is not None and not (snap.queued or snap.in_flight)

    # While work runs the refresher polls snapshots and nobody listens to events, so the engine
    # pays nothing per input (an event subscriber costs it a few microseconds per event). Only
    # an idle dashboard subscribes: the first event of new work wakes it, and it unsubscribes.

    def _tick(self) -> bool:
        snap = self._redraw(full=False)
        if snap.queued or snap.in_flight:
            self._drop_subscription()
            return True
        if not self._following:
            return False
        if self._unsubscribe is None:
            self._unsubscribe = self.fn.subscribe(self._on_event)
        # Work submitted between the snapshot and the subscription sent no event we saw.
        again = self.fn.snapshot()
        return bool(again.submitted != snap.submitted or again.queued or again.in_flight)

    def _on_event(self, event: Event) -> None:
        self._drop_subscription()  # engine thread: drop the subscription and poke, no redraw
        self.refresher.poke()

    def _drop_subscription(self) -> None:
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            unsubscribe()

    # --- drawing ----------------------------------------------------------------------------

    def refresh(self) -> FunctionSnapshot:
        """Redraw everything from a fresh snapshot, now. Safe from any thread."""
        return self._redraw(full=True)

    def _redraw(self, full: bool) -> FunctionSnapshot:
        with self._lock:
            snap = self.fn.snapshot()
            self.snapshot = snap
            now = self._clock()
            # The header and slot bars are cheap and move at `rate`. The input list, the log and
            # the charts are the dear part (and plotly's redraws the dearest): they move at
            # `detail_rate`, and on every redraw of an idle function, so the final one is whole.
            busy = bool(snap.queued or snap.in_flight)
            details = full or not busy or now - self._details_at >= self._detail_interval
            recent = self.fn.inputs(limit=self._inputs_shown) if details else []
            with _held(self.header, self.containers, self.inputs, self.log):
                self.header.value = summary.header_html(snap)
                self.containers.value = summary.containers_html(snap)
                if details:
                    self._draw_inputs(recent, snap.taken_at)
                    self._draw_log(recent)
            error = self.refresher.error
            if error is not None:
                self.note.value = f"<i>dashboard error: {type(error).__name__}: {error}</i>"
            if details:
                self._details_at = now
                self.history.add_finished(recent)
                self.history.record(snap)  # a slower series holds more minutes in its points
                if self.charts is not None:
                    self.charts.draw()
            return snap

    def _draw_inputs(self, recent: list[InputInfo], now: float) -> None:
        options = [(summary.input_label(i, now), i.id) for i in recent]
        selected = self._selected
        if selected is not None and all(i.id != selected for i in recent):
            # Keep the selection visible even after it scrolled out of the recent list.
            options.insert(0, (f"{selected} · (older)", selected))
        if options == list(self.inputs.options):
            return
        self._updating = True
        try:
            self.inputs.options = options
            self.inputs.value = selected
        finally:
            self._updating = False

    def _draw_log(self, recent: list[InputInfo], force: bool = False) -> None:
        selected, text = self._selected, self.search.value.strip()
        count = next((i.log_lines for i in recent if i.id == selected), -1)
        key = (selected, text, count, len(recent) if selected is None and text else 0)
        if key == self._log_key and not force:
            return  # nothing new to show: a finished input's log does not change
        self._log_key = key
        lines: list[tuple[str | None, LogLine]]
        if selected is not None:
            own = self.fn.logs(selected)
            if text:
                own = [line for line in own if text.lower() in line.text.lower()]
            lines = [(None, line) for line in own[-self._log_lines :]]
        elif text:
            lines = [(i, line) for i, line in self.fn.search_logs(text, limit=self._log_lines)]
        else:
            self.log.value = summary.log_html([], placeholder="select an input to see its logs")
            return
        self.log.value = summary.log_html(lines, search=text)

    # --- user actions (run on the kernel's thread when the front-end sends them) --------------

    def select(self, input_id: str | None) -> None:
        """Show the logs of ``input_id`` (what clicking it in the list does)."""
        with self._lock:
            self._selected = input_id
            if self.inputs.value != input_id and input_id in _values(self.inputs):
                self._updating = True
                try:
                    self.inputs.value = input_id
                finally:
                    self._updating = False
            self._draw_log(self.fn.inputs(limit=self._inputs_shown), force=True)

    def cancel_selected(self) -> None:
        if self._selected is not None:
            self.fn.cancel_input(self._selected)
            self.poke()

    def cancel_all(self) -> None:
        if self.call is not None:
            self.call.cancel()
        else:
            self.fn.cancel_all()
        self.poke()

    def _on_select(self, change: dict[str, Any]) -> None:
        if not self._updating:
            self.select(change["new"])

    def _on_search(self, change: dict[str, Any]) -> None:
        with self._lock:
            self._draw_log(self.fn.inputs(limit=self._inputs_shown), force=True)

    # --- display ----------------------------------------------------------------------------

    def text(self) -> str:
        return summary.text(self.snapshot or self.fn.snapshot())

    def html(self) -> str:
        return summary.html_summary(self.snapshot or self.fn.snapshot())

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget where a front-end can render it, and text/HTML for everything else."""
        with self._lock:
            self.refresh()
            bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
            bundle["text/plain"] = self.text()
            bundle["text/html"] = self.html()
        if in_kernel():
            self.start()  # shown in a notebook: go live
        return bundle


def dashboard(fn: Watchable, *, call: Cancellable | None = None, **options: Any) -> Dashboard:
    """A live dashboard of ``fn``; shown (and started) when it is a cell's value or displayed.

    Example::

        f.spawn_map(range(10_000))
        concur_nb.dashboard(f)
    """
    return Dashboard(fn, call=call, **options)


def _held(*widgets: W.Widget) -> contextlib.ExitStack:
    """One message per widget for all the trait changes made inside the block."""
    stack = contextlib.ExitStack()
    for widget in widgets:
        stack.enter_context(widget.hold_sync())
    return stack


def _values(select: W.Select) -> tuple[Any, ...]:
    return tuple(value for _, value in select.options)


def _close_tree(widget: W.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
