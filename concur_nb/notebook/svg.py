"""Charts as inline SVG: plain strings, drawn the same live and in a frozen summary.

An SVG in an HTML output needs no widget state, no JavaScript and no plotly, so a saved
notebook shows it on GitHub and in nbviewer exactly as it looked. Charts always carry a title
and axes fitted to their data (never an empty default range), and say so when there is no data
yet rather than drawing a blank box.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

MAX_POINTS = 400  # a line is thinned to this many points: more pixels than that add nothing
COLORS = ("#4c8be8", "#e8a33c", "#3aa655", "#b04ad6", "#d33")


@dataclass(frozen=True)
class Series:
    name: str
    x: Sequence[float]
    y: Sequence[float]
    color: str = COLORS[0]
    right: bool = False  # drawn against the right axis
    dash: bool = False
    step: bool = False  # counts that hold until the next sample: a staircase, not slopes


def nice_ticks(hi: float, count: int = 4, integer: bool = False) -> list[float]:
    """Ticks from 0 to at least ``hi`` at a 1-2-5 step: ``nice_ticks(7)`` -> 0, 2, 4, 6, 8."""
    if hi <= 0 or not math.isfinite(hi):
        hi = 1.0
    raw = hi / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    top = math.ceil(hi / step - 1e-9) * step
    return [round(i * step, 10) for i in range(round(top / step) + 1)]


def tick_label(value: float, step: float | None = None) -> str:
    """``1500`` -> ``1.5k``; ``0.25`` -> ``0.25``; no ``0.1769``-style noise. With ``step``
    (the distance between ticks), as many decimals as tell neighbouring ticks apart."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if value == int(value):
        return str(int(value))
    if step is not None and step > 0:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        if step * 10**decimals % 1 > 1e-6:  # a step of 2.5 x 10^-n needs one more
            decimals += 1
        return f"{value:.{decimals}f}"
    return f"{value:.2g}"


def thin(x: Sequence[float], y: Sequence[float]) -> tuple[list[float], list[float]]:
    """At most ``MAX_POINTS`` points, keeping the first and the last."""
    n = len(x)
    if n <= MAX_POINTS:
        return list(x), list(y)
    picks = sorted({round(i * (n - 1) / (MAX_POINTS - 1)) for i in range(MAX_POINTS)})
    return [x[i] for i in picks], [y[i] for i in picks]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_title: str = "seconds",
    y_title: str = "",
    right_title: str = "",
    width: int = 520,
    height: int = 220,
) -> str:
    """Lines over a shared x axis from 0; a right axis (whole numbers) for ``right`` series."""
    left = [s for s in series if not s.right and len(s.x)]
    right = [s for s in series if s.right and len(s.x)]
    pad_l, pad_r, pad_t, pad_b = 52, 52 if right else 16, 40, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    x_hi = max((max(s.x) for s in (*left, *right)), default=0.0)
    x_ticks = nice_ticks(x_hi or 1.0)
    y_ticks = nice_ticks(max((max(s.y) for s in left), default=0.0), integer=True)
    # Whole containers, with room above the top line so it does not hide in the frame.
    r_ticks = nice_ticks(max((max(s.y) for s in right), default=0.0) + 1, count=3, integer=True)

    def px(v: float) -> float:
        return pad_l + w * v / x_ticks[-1]

    def py(v: float, ticks: list[float]) -> float:
        return pad_t + h - h * v / ticks[-1]

    out = [_open(width, height, "cnb-chart cnb-timeline", title)]
    out.append(_title(width, title))
    for t in y_ticks:
        y = py(t, y_ticks)
        out.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(_text(pad_l - 6, y + 4, tick_label(t), anchor="end"))
    for t in r_ticks if right else []:
        out.append(_text(pad_l + w + 6, py(t, r_ticks) + 4, tick_label(t), anchor="start"))
    for t in x_ticks:
        out.append(_text(px(t), pad_t + h + 16, tick_label(t, x_ticks[1] - x_ticks[0])))
    out.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
    )
    out.append(_text(pad_l + w / 2, height - 3, x_title, size=11, color="#555"))
    if y_title:
        out.append(_vertical(13, pad_t + h / 2, y_title))
    if right and right_title:
        out.append(_vertical(width - 6, pad_t + h / 2, right_title))
    legend_x = float(pad_l)
    for s in (*left, *right):  # a series with no points yet is not in the legend
        out.append(
            f'<line x1="{legend_x}" x2="{legend_x + 14}" y1="{pad_t - 9}" y2="{pad_t - 9}" '
            f'stroke="{s.color}" stroke-width="2"{_dash(s)}/>'
        )
        out.append(_text(legend_x + 18, pad_t - 5, s.name, anchor="start", size=11))
        legend_x += 28 + 6.5 * len(s.name)
    for s in (*left, *right):
        ticks = r_ticks if s.right else y_ticks
        xs, ys = thin(s.x, s.y)
        pts: list[str] = []
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if s.step and i:
                pts.append(f"{px(x):.1f},{py(ys[i - 1], ticks):.1f}")
            pts.append(f"{px(x):.1f},{py(y, ticks):.1f}")
        if len(pts) == 1:  # one sample: a dot, not an invisible zero-length line
            out.append(
                f'<circle cx="{pts[0].split(",")[0]}" cy="{pts[0].split(",")[1]}" r="2.5" '
                f'fill="{s.color}"/>'
            )
        out.append(
            f'<polyline class="cnb-series" data-name="{html.escape(s.name)}" '
            f'data-points="{len(xs)}" points="{" ".join(pts)}" fill="none" '
            f'stroke="{s.color}" stroke-width="1.8"{_dash(s)}/>'
        )
    if not left and not right:
        out.append(_text(pad_l + w / 2, pad_t + h / 2, "no samples yet", color="#999"))
    out.append("</svg>")
    return "".join(out)


def histogram(
    values: Sequence[float],
    *,
    title: str,
    x_title: str = "seconds",
    bins: int = 24,
    width: int = 360,
    height: int = 220,
    unit: float = 1.0,
) -> str:
    """A histogram of ``values`` (shown divided by ``unit``) with axes fitted to them."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 40, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    out = [_open(width, height, "cnb-chart cnb-histogram", title), _title(width, title)]
    out.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
    )
    scaled = [v / unit for v in values if math.isfinite(v)]
    if unit == 1.0 and scaled and max(scaled) < 1 and x_title == "seconds":
        scaled, x_title = [v * 1000 for v in scaled], "milliseconds"  # 604 ms, not 0.604 s
    out.append(_text(pad_l + w / 2, height - 3, x_title, size=11, color="#555"))
    if not scaled:
        out.append(_text(pad_l + w / 2, pad_t + h / 2, "no input has finished yet", color="#999"))
        return "".join([*out, "</svg>"])
    lo, hi = min(scaled), max(scaled)
    if hi - lo < 1e-9:  # all alike: one bar in a range around it, not a sliver at an edge
        lo, hi = max(0.0, lo - max(lo * 0.2, 1e-3)), hi + max(hi * 0.2, 1e-3)
        bins = 5
    x_ticks = _range_ticks(lo, hi)
    lo, hi = x_ticks[0], x_ticks[-1]
    counts = [0] * bins
    for v in scaled:
        counts[min(bins - 1, int((v - lo) / (hi - lo) * bins))] += 1
    y_ticks = nice_ticks(max(counts), count=3, integer=True)
    bar_w = w / bins
    for i, c in enumerate(counts):
        if c:
            bh = h * c / y_ticks[-1]
            out.append(
                f'<rect class="cnb-bar-count" data-count="{c}" x="{pad_l + i * bar_w + 0.5:.1f}" '
                f'y="{pad_t + h - bh:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{bh:.1f}" '
                f'fill="{COLORS[0]}"/>'
            )
    for t in y_ticks:
        out.append(_text(pad_l - 6, pad_t + h - h * t / y_ticks[-1] + 4, tick_label(t), "end"))
    step = x_ticks[1] - x_ticks[0]
    for t in x_ticks:
        out.append(_text(pad_l + w * (t - lo) / (hi - lo), pad_t + h + 16, tick_label(t, step)))
    out.append("</svg>")
    return "".join(out)


def _range_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    span = hi - lo
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    ticks = [start]
    while ticks[-1] < hi - 1e-12:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def box(chart: str, width: int) -> str:
    """``chart`` in a flex item that is ``width`` wide at most and shrinks to 60% of it."""
    return f'<div style="flex:1 1 {int(width * 0.6)}px;max-width:{width}px">{chart}</div>'


def _open(width: int, height: int, cls: str, title: str) -> str:
    return (
        f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}" style="font-family:sans-serif;background:#fff;'
        # Its own size at most, narrower where the output is (a side panel): it scales.
        f'width:100%;max-width:{width}px;height:auto;display:block">'
    )


def _title(width: int, title: str) -> str:
    return _text(width / 2, 15, title, size=13, color="#222", weight="bold")


def _text(
    x: float,
    y: float,
    text: str,
    anchor: str = "middle",
    size: int = 10,
    color: str = "#666",
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{color}" font-weight="{weight}">{html.escape(text)}</text>'
    )


def _vertical(x: float, y: float, text: str) -> str:
    return (
        f'<text transform="translate({x:.1f},{y:.1f}) rotate(-90)" text-anchor="middle" '
        f'font-size="11" fill="#555">{html.escape(text)}</text>'
    )


def _dash(s: Series) -> str:
    return ' stroke-dasharray="4 3"' if s.dash else ""
