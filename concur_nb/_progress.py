"""The terminal's progress bar of a blocking call: a ``tqdm`` bar on stderr.

Shown only where someone watches a terminal: stderr is a TTY, ``CONCUR_NB_PROGRESS`` is not
"0", and we are not in a Jupyter kernel (there the call's view is the progress). The bar is
redrawn by its own daemon thread at most ``RATE`` times a second from the call's progress, so
the workload's threads never write to the terminal.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Protocol

from . import _hooks
from ._call_progress import CallProgress, ProgressReader

RATE = 2.0  # redraws a second: a terminal bar needs no more
_OFF = ("0", "false", "no", "off")


class Closable(Protocol):
    def close(self) -> None: ...


def wanted() -> bool:
    """Whether a blocking call here should show a terminal bar."""
    if os.environ.get("CONCUR_NB_PROGRESS", "1").strip().lower() in _OFF:
        return False
    if _hooks.in_kernel():
        return False
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


def start_terminal_progress(call: Any, title: str) -> Closable | None:
    """Start a bar for ``call`` (an engine ``Call``, or a ``FunctionCall``) titled ``title``.

    Returns None (and does nothing) unless a terminal is watching; else the running bar, to
    be closed with ``.close()`` when the wait ends.
    """
    if not wanted():
        return None
    return TerminalProgress(getattr(call, "_call", call), title)


class TerminalProgress:
    """One tqdm bar following one call until ``close()``."""

    def __init__(self, call: Any, title: str, rate: float = RATE) -> None:
        from tqdm import tqdm  # imported only when a terminal shows a bar

        self._reader = ProgressReader(call)
        first = self._reader.read()
        self._bar = tqdm(
            total=first.total,
            desc=title,
            unit="input",
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0,  # our thread paces the redraws
            smoothing=0.1,
            leave=True,
        )
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._interval = 1.0 / rate
        self._draw(first)
        self._thread = threading.Thread(target=self._run, name="concur_nb-progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.refresh()

    def refresh(self) -> CallProgress | None:
        with self._lock:
            if self._closed:
                return None
            progress = self._reader.read()
            self._draw(progress)
            return progress

    def _draw(self, p: CallProgress) -> None:
        bar = self._bar
        if bar.total != p.total:
            bar.total = p.total
        bar.n = p.done
        extra = [(p.failed, "failed"), (p.cancelled + p.cancelling, "cancelled")]
        bar.set_postfix_str(", ".join(f"{n} {w}" for n, w in extra if n), refresh=False)
        bar.refresh()

    def close(self) -> None:
        """Draw the final state and leave the bar on screen. Safe to call twice."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(2)
        with self._lock:
            if self._closed:
                return
            self._draw(self._reader.read())
            self._closed = True
            self._bar.close()
