"""Snapshots rendered as text and HTML: pure functions, no widgets.

The live dashboard shows these inside widgets; outside a widget front-end (terminal IPython, a
script, nbconvert) the same text and HTML stand in for it, so nothing is lost.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from .._state import ContainerSnapshot, FunctionSnapshot, InputInfo, LogLine, human_seconds

LIVE_CONTAINER = ("starting", "running", "draining")


seconds = human_seconds  # one formatting of durations, shared with the engine's reprs


def live_containers(snap: FunctionSnapshot) -> list[ContainerSnapshot]:
    return [c for c in snap.containers if c.status in LIVE_CONTAINER]


def state_word(snap: FunctionSnapshot) -> str:
    """``running`` while inputs are queued or in flight, ``idle`` before any, ``done`` after."""
    if snap.queued or snap.in_flight:
        return "running"
    return "done" if snap.submitted else "idle"


def header_fields(snap: FunctionSnapshot) -> list[tuple[str, str]]:
    limit = "∞" if snap.max_containers is None else str(snap.max_containers)
    return [
        ("function", snap.name),
        ("backend", snap.backend),
        ("state", state_word(snap)),
        ("max/target inputs", f"{snap.max_inputs} / {snap.target_inputs}"),
        ("containers", f"{len(live_containers(snap))} / {limit}"),
        ("queued", str(snap.queued)),
        ("in flight", str(snap.in_flight)),
        ("done / failed / cancelled", f"{snap.succeeded} / {snap.failed} / {snap.cancelled}"),
        ("throughput", f"{snap.throughput:.1f}/s"),
        ("p50 / p95 run", f"{seconds(snap.run_time.p50)} / {seconds(snap.run_time.p95)}"),
        ("p95 queue wait", seconds(snap.queue_wait.p95)),
    ]


def container_line(c: ContainerSnapshot, width: int = 20) -> str:
    """``c1 running [#####|·····]  5/20 (target 16) local``: a text slot bar, target as ``|``."""
    cap = max(c.max_inputs, 1)
    filled = round(width * min(c.in_use, cap) / cap)
    mark = min(width - 1, round(width * c.target_inputs / cap))
    cells = ["#" if i < filled else "·" for i in range(width)]
    cells.insert(mark, "|")
    where = c.host + (f" gpu={','.join(c.gpus)}" if c.gpus else "")
    return (
        f"{c.id} {c.status:<8} [{''.join(cells)}] {c.in_use}/{c.max_inputs} "
        f"(target {c.target_inputs}) {where}"
    )


def text(snap: FunctionSnapshot) -> str:
    """The whole snapshot as plain text (the fallback of every display)."""
    lines = [" · ".join(f"{k}: {v}" for k, v in header_fields(snap))]
    lines += [f"  {container_line(c)}" for c in live_containers(snap)]
    lines += [f"  warning: {w}" for w in snap.warnings]
    if snap.decisions:
        d = snap.decisions[-1]
        lines.append(
            f"  last scaling: {d.action} {d.containers_before}->{d.containers_after} ({d.reason})"
        )
    return "\n".join(lines)


# --- HTML ----------------------------------------------------------------------------------------

_CELL = "padding:1px 8px 1px 0;text-align:left;white-space:nowrap"


def header_html(snap: FunctionSnapshot, title: str = "") -> str:
    head = f'<div style="margin-bottom:3px"><b>{html.escape(title)}</b></div>' if title else ""
    cells = "".join(
        f'<div style="display:inline-block;margin:0 14px 2px 0">'
        f'<span style="color:#777">{html.escape(k)}</span> <b>{html.escape(v)}</b></div>'
        for k, v in header_fields(snap)
    )
    warnings = "".join(
        f'<div style="color:#b35c00">⚠ {html.escape(w)}</div>' for w in snap.warnings
    )
    # data-* attributes let tests (and curious users) read the numbers without parsing text.
    return (
        f'<div class="cnb-header" data-state="{state_word(snap)}" data-queued="{snap.queued}" '
        f'data-in-flight="{snap.in_flight}" data-slots="{snap.slots_in_use}" '
        f'data-max-inputs="{snap.max_inputs}" data-finished="{snap.finished}" '
        f'data-scope="function" data-total="{snap.submitted}" data-succeeded="{snap.succeeded}" '
        f'data-failed="{snap.failed}" data-cancelled="{snap.cancelled}">'
        f"{head}{cells}{warnings}</div>"
    )


def slot_bar_html(c: ContainerSnapshot, width_px: int = 220) -> str:
    """A bar of ``in_use`` of ``max_inputs`` slots with a red mark at ``target_inputs``."""
    cap = max(c.max_inputs, 1)
    used = 100 * min(c.in_use, cap) / cap
    target = 100 * min(c.target_inputs, cap) / cap
    color = "#e8a33c" if c.in_use > c.target_inputs else "#4c8be8"
    return (
        f'<div class="cnb-bar" data-in-use="{c.in_use}" data-max="{c.max_inputs}" '
        f'data-target="{c.target_inputs}" title="{c.in_use} of {c.max_inputs} slots in use" '
        f'style="position:relative;display:inline-block;vertical-align:middle;'
        f'width:{width_px}px;height:12px;background:#e6e6e6;border-radius:2px">'
        f'<div style="width:{used:.1f}%;height:100%;background:{color};border-radius:2px"></div>'
        f'<div title="target_inputs={c.target_inputs}" style="position:absolute;'
        f'left:{target:.1f}%;top:-3px;height:18px;border-left:2px solid #d33"></div></div>'
    )


def containers_html(snap: FunctionSnapshot, shared: bool = False) -> str:
    """A row per live container; ``shared``: say they serve every call of the function."""
    rows = []
    for c in live_containers(snap):
        where = html.escape(c.host + (f" · gpu {', '.join(c.gpus)}" if c.gpus else ""))
        rows.append(
            f'<tr class="cnb-container" data-container="{html.escape(c.id)}" '
            f'data-status="{c.status}"><td style="{_CELL}">{html.escape(c.id)}</td>'
            f'<td style="{_CELL}">{c.status}</td><td style="{_CELL}">{slot_bar_html(c)}</td>'
            f'<td style="{_CELL}">{c.in_use} / {c.max_inputs} (target {c.target_inputs})</td>'
            f'<td style="{_CELL}">{c.inputs_done} done</td><td style="{_CELL}">{where}</td></tr>'
        )
    caption = (
        f'<caption style="text-align:left;color:#777">containers of {html.escape(snap.name)}, '
        "shared by all its calls</caption>"
        if shared
        else ""
    )
    if not rows:
        return '<div class="cnb-containers" style="color:#777">no containers running</div>'
    return (
        f'<table class="cnb-containers" style="border-collapse:collapse">{caption}'
        f"{''.join(rows)}</table>"
    )


def html_summary(snap: FunctionSnapshot) -> str:
    """Header and container rows as one static block (the non-widget fallback)."""
    return f'<div class="cnb-summary">{header_html(snap)}{containers_html(snap)}</div>'


def input_label(info: InputInfo, now: float) -> str:
    """One line of the input list: id, status, and how long it took or has run so far.

    A running input's time is shown in whole seconds, so its label changes at most once a
    second: the list stays still enough to click on while it refreshes.
    """
    if info.started_at is None and info.finished_at is not None:
        took = "never ran"  # cancelled (or failed) while still queued
    elif info.started_at is None:
        took = f"waiting {max(0.0, now - info.queued_at):.0f} s"
    elif info.finished_at is None:
        took = f"for {max(0.0, now - info.started_at):.0f} s"
    else:
        took = seconds(info.finished_at - info.started_at)
    extra = f" · {info.error}" if info.error else ""
    retry = f" · attempt {info.attempts}" if info.attempts > 1 else ""
    return f"{info.id} · {info.status} · {took}{retry}{extra}"[:160]


def log_html(
    lines: Iterable[tuple[str | None, LogLine]],
    search: str = "",
    placeholder: str = "(no log lines)",
) -> str:
    """Log lines in a box that stays scrolled to its end (tailing), matches of ``search`` marked.

    Each item is ``(input_id or None, line)``; the id is shown when lines of several inputs mix.
    """
    out = []
    needle = search.lower()
    for input_id, line in lines:
        body = html.escape(line.text)
        if needle:
            body = _mark(line.text, needle)
        color = "#b00" if line.stream == "stderr" else "inherit"
        who = f'<span style="color:#777">{html.escape(input_id)} </span>' if input_id else ""
        out.append(f'<div class="cnb-log-line" style="color:{color}">{who}{body}</div>')
    if not out:
        out.append(f'<div style="color:#777">{html.escape(placeholder)}</div>')
    # column-reverse keeps the box scrolled to the newest line without any JavaScript.
    return (
        '<div class="cnb-log" style="display:flex;flex-direction:column-reverse;max-height:260px;'
        "overflow:auto;font-family:monospace;font-size:12px;line-height:1.4;white-space:pre-wrap;"
        'border:1px solid #ddd;padding:4px"><div>' + "".join(out) + "</div></div>"
    )


def _mark(text: str, needle: str) -> str:
    lowered, pieces, start = text.lower(), [], 0
    while (at := lowered.find(needle, start)) >= 0:
        pieces.append(html.escape(text[start:at]))
        pieces.append(f"<mark>{html.escape(text[at : at + len(needle)])}</mark>")
        start = at + len(needle)
    pieces.append(html.escape(text[start:]))
    return "".join(pieces)


def status_table(snaps: Sequence[FunctionSnapshot]) -> str:
    """The text table of ``%concurrent_status``: one line per function."""
    head = (
        "function",
        "backend",
        "max/target",
        "containers",
        "queued",
        "in flight",
        "done",
        "failed",
        "cancelled",
        "throughput",
    )
    rows = [
        (
            s.name,
            s.backend,
            f"{s.max_inputs}/{s.target_inputs}",
            str(len(live_containers(s))),
            str(s.queued),
            str(s.in_flight),
            str(s.succeeded),
            str(s.failed),
            str(s.cancelled),
            f"{s.throughput:.1f}/s",
        )
        for s in snaps
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    )
