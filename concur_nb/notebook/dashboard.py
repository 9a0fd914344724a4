"""The live view of a call or of a function: widgets over the engine's state, refreshed
by one throttled thread.

Example::

    call = f.spawn_map(range(1000))
    Dashboard(f, call=call)   # that call: done of 1000, its inputs and logs; frozen when done
    Dashboard(f)              # the function: the totals of all its calls, live
    Dashboard(f, where="panel")  # the same, docked in a JupyterLab side panel

One ``Refresher`` redraws it at most ``rate`` times a second while there is work (the input
list, log and charts at most ``detail_rate`` times), each redraw batched per widget with
``hold_sync``. A call's view, once the call has ended, **freezes**: it becomes static HTML (final
counts, latency percentiles, SVG charts) that is also what a saved notebook keeps. Outside a
widget front-end the same object shows as text or HTML (``repr``, ``_repr_html_``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from .._errors import InvalidError
from .._state import Event, FunctionSnapshot, InputInfo, LogLine
from . import summary
from ._env import in_kernel
from ._protocol import Cancellable, Watchable
from .charts import Charts
from .refresher import Refresher
from .scope import CallScope, FunctionScope, engine_call
from .showing import freeze_at_cell_end, open_panel, publish, shown_calls

PLACES = ("cell", "panel")


class Dashboard:
    """Live view of ``fn`` (a concurrent function, class, or anything with its read API)."""

    def __init__(
        self,
        fn: Watchable,
        *,
        call: Cancellable | None = None,
        where: str = "cell",
        rate: float = 4.0,  # a counter and a bar need no more; each redraw costs ~1 ms
        detail_rate: float = 1.5,
        charts: bool = True,
        inputs_shown: int = 100,
        log_lines: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if where not in PLACES:
            raise InvalidError(
                f"Dashboard(where={where!r}): where must be 'cell' (under the cell) or 'panel' "
                "(a JupyterLab side panel, with the sidecar package)."
            )
        self.fn = fn
        self.call = call
        self.where = where
        engine = engine_call(call)
        self.scope: CallScope | FunctionScope = (
            CallScope(fn, call, engine) if engine is not None else FunctionScope(fn)
        )
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
        self._display_id: str | None = None
        self.frozen: str | None = None  # the static summary, once a call's view has frozen
        self.snapshot: FunctionSnapshot | None = None
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

        self.refresh()  # data first: the charts are drawn with it, never shown empty
        self.charts: Charts | None = Charts(self.scope) if charts else None
        self.widget = self._layout()
        self.widget.add_class("cnb-dashboard")
        self.widget.add_class(f"cnb-{self.scope.kind}-view")

    def _layout(self) -> W.VBox:
        """Header, container rows, charts, then the input list beside the log viewer (they
        stack when the output area is narrow)."""
        inputs_panel = W.VBox(
            [
                W.HTML("<b>inputs</b> (running first, then recent)"),
                self.inputs,
                W.HBox([self.cancel_input_button, self.cancel_all_button]),
            ],
            layout=W.Layout(flex="1 1 420px", min_width="360px"),
        )
        log_panel = W.VBox(
            [W.HTML("<b>logs</b>"), self.search, self.log],
            layout=W.Layout(flex="1 1 420px", min_width="360px"),
        )
        charts = () if self.charts is None else (self.charts.timeline, self.charts.latency)
        return W.VBox(
            [
                self.header,
                self.containers,
                W.HBox(charts, layout=W.Layout(flex_flow="row wrap")),
                W.HBox([inputs_panel, log_panel], layout=W.Layout(flex_flow="row wrap")),
                self.note,
            ]
        )

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> Dashboard:
        """Follow live, redrawing at most ``rate`` times a second while there is work."""
        if self.frozen is not None:
            return self
        self._following = True
        self.refresher.start()
        return self

    def poke(self) -> None:
        """Redraw soon, if the dashboard is live (a setting changed, a button was pressed)."""
        if self._following:
            self.refresher.poke()

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
        """True when what the view is bound to has no work left (a call's view: it ended)."""
        if self.scope.kind == "call":
            return self.scope.finished
        snap = self.snapshot
        return snap is not None and not (snap.queued or snap.in_flight)

    def freeze(self) -> str:
        """Turn a call's ended view into its static summary, in place; return that HTML.

        The widgets are replaced by one HTML block, and the output is re-published as plain
        HTML where the front-end still listens, so a saved notebook keeps the summary.
        """
        with self._lock:
            if self.frozen is not None:
                return self.frozen
            scope = self.scope
            assert isinstance(scope, CallScope), "only a call's view freezes"
            self.frozen = frozen = scope.frozen_html()
            self._following = False
            self._drop_subscription()
            block = W.HTML(frozen)
            block.add_class("cnb-frozen-box")
            self.widget.children = (block,)
            for widget in (self.header, self.containers, self.inputs, self.search, self.log):
                widget.close()
            if self._display_id is not None:
                publish(self._frozen_bundle(), self._display_id, update=True)
        self.refresher.stop()
        return frozen

    def publish_frozen(self) -> None:
        """Publish the frozen summary over the shown view again (at a cell's end, from the
        kernel's thread: a refresher thread's own update may have gone out between cells)."""
        with self._lock:
            if self.frozen is not None and self._display_id is not None:
                publish(self._frozen_bundle(), self._display_id, update=True)

    def _frozen_bundle(self) -> dict[str, Any]:
        assert self.frozen is not None and isinstance(self.scope, CallScope)
        return {"text/html": self.frozen, "text/plain": self.scope.frozen_text()}

    # While work runs the refresher polls snapshots and nobody listens to events, so the engine
    # pays nothing per input (an event subscriber costs it a few microseconds per event). Only
    # an idle dashboard subscribes: the first event of new work wakes it, and it unsubscribes.

    def _tick(self) -> bool:
        if self.frozen is not None:
            return False
        snap = self._redraw(full=False)
        if self.scope.kind == "call":
            if self.scope.finished:
                self._redraw(full=True)
                self.freeze()
                return False
            return True
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
            if self.frozen is not None:
                return snap
            now = self._clock()
            self.scope.update(snap, snap.taken_at)
            # The header and slot bars are cheap and move at `rate`. The input list, the log and
            # the charts are the dear part: they move at `detail_rate`, and on every redraw of
            # an idle view, so the final one is whole.
            busy = self.scope.busy(snap)
            details = full or not busy or now - self._details_at >= self._detail_interval
            recent = self.scope.inputs(self._inputs_shown) if details else []
            with _held(self.header, self.containers, self.inputs, self.log):
                self.header.value = self.scope.header_html(snap)
                self.containers.value = summary.containers_html(
                    snap, shared=self.scope.kind == "call"
                )
                if details:
                    self._draw_inputs(recent, snap.taken_at)
                    self._draw_log(recent)
            error = self.refresher.error
            if error is not None:
                self.note.value = f"<i>dashboard error: {type(error).__name__}: {error}</i>"
            if details:
                self._details_at = now
                charts = getattr(self, "charts", None)
                if charts is not None:
                    charts.draw()
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
        if self.frozen is not None and isinstance(self.scope, CallScope):
            return self.scope.frozen_text()
        snap = self.snapshot or self.fn.snapshot()
        if isinstance(self.scope, CallScope):
            return f"{self.scope.title()}: {self.scope.progress}"
        return f"{self.scope.title()}\n{summary.text(snap)}"

    def html(self) -> str:
        if self.frozen is not None:
            return self.frozen
        snap = self.snapshot or self.fn.snapshot()
        return (
            f'<div class="cnb-summary">{self.scope.header_html(snap)}'
            f"{summary.containers_html(snap)}</div>"
        )

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget where a front-end can render it, and text/HTML for everything else."""
        with self._lock:
            self.refresh()
            if self.scope.kind == "call" and self.scope.finished:
                self._redraw(full=True)
                self.freeze()
            if self.frozen is not None:
                return self._frozen_bundle()
            bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
            bundle["text/plain"] = self.text()
            bundle["text/html"] = self.html()
        if in_kernel():
            self.start()  # shown in a notebook: go live
        return bundle

    def _ipython_display_(self) -> None:
        """Shown in a notebook: under the cell with a display id (so the frozen summary can
        replace it), or in a side panel."""
        if self.where == "panel":
            self._show_in_panel()
            return
        # Under the lock from the bundle to its publishing: the refresher (started by
        # _repr_mimebundle_) may find the call ended at its first tick, and its freeze must
        # update a view already shown. Before, a freeze in between (a call ending as its view
        # appeared, on a loaded machine) went out first, and the live view it replaced never froze.
        with self._lock:
            bundle = self._repr_mimebundle_()
            if isinstance(self.scope, CallScope):
                shown_calls[self.scope.call_id] = None
                while len(shown_calls) > 1000:
                    del shown_calls[next(iter(shown_calls))]
            self._display_id = self._display_id or uuid.uuid4().hex
            publish(bundle, self._display_id, update=False)
            if self.frozen is None and isinstance(self.scope, CallScope):
                freeze_at_cell_end(self)

    def _show_in_panel(self) -> None:
        from IPython.display import display

        self.panel = open_panel(self.scope.title(), self.widget)
        self.refresh()
        if in_kernel():
            self.start()
        display({"text/plain": f"{self.scope.title()}: shown in a side panel"}, raw=True)


def dashboard(fn: Watchable, *, call: Cancellable | None = None, **options: Any) -> Dashboard:
    """A live view of ``call`` (or of ``fn``'s totals without one); shown (and started) when
    it is a cell's value or displayed.

    Example::

        call = f.spawn_map(range(10_000))
        concur_nb.dashboard(f, call=call)
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
