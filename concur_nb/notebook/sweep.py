"""Find good concurrency settings by experiment: run a workload at several ``max_inputs``.

Example::

    result = concur_nb.sweep(f, prompts, max_inputs=[1, 4, 16, 64], repeats=2)
    result.recommendation     # Recommendation(target_inputs=16, max_inputs=64, reason=...)
    result.table              # rows of throughput and run-time percentiles
    result.figure()           # throughput and p95 run time against max_inputs (plotly)

By default the sweep pins the function to one container, so the numbers answer the question
the settings are about: how many inputs should *one* container run at once. The function's
settings are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import html
import statistics
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .._state import Percentiles
from ._protocol import Watchable


@dataclasses.dataclass(frozen=True)
class Run:
    """One measured pass of the workload."""

    max_inputs: int
    repeat: int
    inputs: int
    failed: int
    seconds: float
    throughput: float  # inputs per second
    run_time: Percentiles  # per-input run time, from the engine's records


@dataclasses.dataclass(frozen=True)
class Row:
    """All repeats of one setting: the medians of their throughput and run-time percentiles."""

    max_inputs: int
    throughput: float
    p50: float | None
    p95: float | None
    p99: float | None
    failed: int
    repeats: int


@dataclasses.dataclass(frozen=True)
class Recommendation:
    target_inputs: int
    max_inputs: int
    reason: str


@dataclasses.dataclass(frozen=True)
class SweepResult:
    function: str
    runs: tuple[Run, ...]
    table: tuple[Row, ...]
    recommendation: Recommendation
    tolerance: float
    latency_bound: float | None

    def rows(self) -> list[dict[str, Any]]:
        """The table as plain dicts (e.g. for ``pandas.DataFrame(result.rows())``)."""
        return [dataclasses.asdict(row) for row in self.table]

    def figure(self) -> Any:
        """Throughput and p95 run time against ``max_inputs``, the recommendation marked."""
        import plotly.graph_objects as go

        xs = [r.max_inputs for r in self.table]
        p95_ms = [None if r.p95 is None else r.p95 * 1000 for r in self.table]
        fig = go.Figure(
            data=[
                go.Scatter(x=xs, y=[r.throughput for r in self.table], name="throughput (/s)"),
                go.Scatter(x=xs, y=p95_ms, name="p95 run time (ms)", yaxis="y2"),
            ],
            layout=go.Layout(
                title=dict(
                    text=f"sweep of {self.function}: recommended target_inputs="
                    f"{self.recommendation.target_inputs}, max_inputs="
                    f"{self.recommendation.max_inputs}"
                ),
                # The settings tried, and only those, as ticks: a log axis otherwise reads
                # "2 3 4 ... 10 2 3".
                xaxis=dict(
                    title="max_inputs",
                    type="log" if max(xs) > 8 * min(xs) else "linear",
                    tickvals=xs,
                    ticktext=[str(x) for x in xs],
                ),
                yaxis=dict(title="inputs per second", rangemode="tozero", tickformat=",.3~g"),
                yaxis2=dict(
                    title="p95 run time (ms)",
                    overlaying="y",
                    side="right",
                    rangemode="tozero",
                    tickformat=",.3~g",
                ),
                margin=dict(l=70, r=80, t=60, b=60),
                legend=dict(orientation="h", y=-0.25),
                height=380,
                title_font_size=13,
            ),
        )
        rec = self.recommendation
        fig.add_vline(x=rec.target_inputs, line_dash="dot", line_color="green")
        fig.add_vline(x=rec.max_inputs, line_dash="dash", line_color="red")
        return fig

    def text(self) -> str:
        head = f"{'max_inputs':>10}  {'throughput':>12}  {'p50':>9}  {'p95':>9}  {'failed':>6}"
        lines = [head]
        for r in self.table:
            lines.append(
                f"{r.max_inputs:>10}  {r.throughput:>10.1f}/s  {_s(r.p50):>9}  {_s(r.p95):>9}  "
                f"{r.failed:>6}"
            )
        rec = self.recommendation
        lines.append(
            f"recommended: target_inputs={rec.target_inputs}, max_inputs={rec.max_inputs}"
            f" — {rec.reason}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td>{r.max_inputs}</td><td>{r.throughput:.1f}/s</td><td>{_s(r.p50)}</td>"
            f"<td>{_s(r.p95)}</td><td>{_s(r.p99)}</td><td>{r.failed}</td></tr>"
            for r in self.table
        )
        rec = self.recommendation
        return (
            '<div class="cnb-sweep"><table><tr><th>max_inputs</th><th>throughput</th>'
            "<th>p50 run</th><th>p95 run</th><th>p99 run</th><th>failed</th></tr>"
            f"{cells}</table><p><b>recommended:</b> target_inputs={rec.target_inputs}, "
            f"max_inputs={rec.max_inputs} — {html.escape(rec.reason)}</p></div>"
        )

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        try:
            display(self.figure())
        except ImportError:  # pragma: no cover - plotly is part of the notebook extra
            pass


def recommend(
    table: Sequence[Row], tolerance: float = 0.05, latency_bound: float | None = None
) -> Recommendation:
    """Pick settings from a sweep's table.

    ``target_inputs``: the smallest setting within ``tolerance`` of the best throughput (more
    concurrency buys nothing past it) whose p95 run time is within ``latency_bound``.
    ``max_inputs``: the largest setting at or above it whose p95 run time stays within the
    bound (by default 1.5 x the target's p95): room to burst while new containers start.
    """
    if not table:
        raise ValueError("recommend() needs at least one row")
    rows = sorted(table, key=lambda r: r.max_inputs)
    within = [r for r in rows if latency_bound is None or _le(r.p95, latency_bound)]
    if not within:
        best_latency = min(rows, key=lambda r: r.p95 if r.p95 is not None else float("inf"))
        return Recommendation(
            best_latency.max_inputs,
            best_latency.max_inputs,
            f"no setting kept p95 run time within {_s(latency_bound)}; "
            f"max_inputs={best_latency.max_inputs} came closest (p95 {_s(best_latency.p95)})",
        )
    best = max(within, key=lambda r: r.throughput)
    knee = next(r for r in within if r.throughput >= (1 - tolerance) * best.throughput)
    bound = latency_bound
    if bound is None and knee.p95 is not None:
        bound = 1.5 * knee.p95
    burst = [r for r in rows if r.max_inputs >= knee.max_inputs and _le(r.p95, bound)]
    top = max(burst, key=lambda r: r.max_inputs) if burst else knee
    share = knee.throughput / best.throughput if best.throughput else 1.0
    reason = (
        f"max_inputs={knee.max_inputs} reaches {share:.0%} of the best throughput "
        f"({best.throughput:.1f}/s at max_inputs={best.max_inputs}, within {tolerance:.0%})"
    )
    if latency_bound is not None:
        reason += f" with p95 run time {_s(knee.p95)} <= {_s(latency_bound)}"
    if top.max_inputs > knee.max_inputs:
        reason += (
            f"; up to {top.max_inputs} keeps p95 run time within {_s(bound)}, "
            "so containers can burst there while new ones start"
        )
    if len(rows) > 1 and best.max_inputs == rows[-1].max_inputs:
        reason += (
            f"; the best throughput was at the largest setting tried ({best.max_inputs}): "
            "it may keep growing, so sweep larger values too"
        )
    return Recommendation(knee.max_inputs, top.max_inputs, reason)


def sweep(
    fn: Any,
    inputs: Iterable[Any],
    max_inputs: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
    repeats: int = 1,
    *,
    tolerance: float = 0.05,
    latency_bound: float | None = None,
    containers: int | None = 1,
    warmup: bool = True,
) -> SweepResult:
    """Run ``fn`` over ``inputs`` once per ``max_inputs`` setting (``repeats`` times each).

    ``containers`` pins ``max_containers`` during the sweep (None: leave autoscaling as it
    is). Returns the table, a recommendation with its reason, and a figure.
    """
    items = list(inputs)
    settings = sorted({int(m) for m in max_inputs})
    if not items:
        raise ValueError("sweep() needs at least one input to run")
    if not settings or settings[0] < 1:
        raise ValueError(f"max_inputs must be a list of settings >= 1, got {list(max_inputs)!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    watched: Watchable = fn
    original = _live_settings(watched)
    runs: list[Run] = []
    try:
        if containers is not None:
            watched.update(max_containers=containers, min_containers=min(1, containers))
        for setting in settings:
            watched.update(max_inputs=setting, target_inputs=setting)
            if warmup and setting == settings[0]:
                list(fn.map(items[:setting], return_exceptions=True))
            for repeat in range(repeats):
                runs.append(_measure(fn, items, setting, repeat))
    finally:
        watched.update(**original)
    table = tuple(
        _row(setting, [r for r in runs if r.max_inputs == setting]) for setting in settings
    )
    return SweepResult(
        function=watched.name,
        runs=tuple(runs),
        table=table,
        recommendation=recommend(table, tolerance, latency_bound),
        tolerance=tolerance,
        latency_bound=latency_bound,
    )


def _measure(fn: Any, items: list[Any], setting: int, repeat: int) -> Run:
    since = fn.snapshot().taken_at
    started = time.perf_counter()
    results = list(fn.map(items, return_exceptions=True))
    seconds = time.perf_counter() - started
    failed = sum(isinstance(r, BaseException) for r in results)
    run_times = [
        i.finished_at - i.started_at
        for i in fn.inputs(limit=len(items) + 64)
        if i.queued_at >= since and i.started_at is not None and i.finished_at is not None
    ]
    return Run(
        max_inputs=setting,
        repeat=repeat,
        inputs=len(items),
        failed=failed,
        seconds=seconds,
        throughput=len(items) / seconds if seconds > 0 else float("inf"),
        run_time=Percentiles.of(run_times),
    )


def _row(setting: int, runs: list[Run]) -> Row:
    # Medians over repeats: one noisy repeat (a GC pause, a neighbour) does not move them.
    def med(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    return Row(
        max_inputs=setting,
        throughput=statistics.median(r.throughput for r in runs),
        p50=med([r.run_time.p50 for r in runs]),
        p95=med([r.run_time.p95 for r in runs]),
        p99=med([r.run_time.p99 for r in runs]),
        failed=sum(r.failed for r in runs),
        repeats=len(runs),
    )


def _live_settings(fn: Watchable) -> dict[str, Any]:
    s = fn.settings
    return {
        "max_inputs": s.max_inputs,
        "target_inputs": s.target_inputs,
        "min_containers": s.min_containers,
        "max_containers": s.max_containers,
    }


def _le(value: float | None, bound: float | None) -> bool:
    return bound is None or value is None or value <= bound


def _s(value: float | None) -> str:
    from .summary import seconds

    return seconds(value)
