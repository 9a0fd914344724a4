"""The one thread that redraws a view, at a bounded rate, and only while there is work.

Events never redraw anything themselves: an engine event only *pokes* the refresher (two
attribute accesses), so a shown dashboard costs the workload almost nothing however many events
fly. While work runs, a thread ticks at most ``rate`` times a second; when a tick reports no
work left the thread ends, and the next poke starts a new one. An idle dashboard therefore holds
no thread, however many of them a notebook shows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Refresher:
    """Calls ``tick()`` at most ``rate`` times per second while it returns True.

    ``tick`` returns whether work is still going on; on False the refresher goes idle until
    ``poke()``. ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        tick: Callable[[], bool],
        rate: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "concur_nb-refresher",
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 refreshes per second, got {rate!r}")
        self._tick = tick
        self.interval = 1.0 / rate
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._idle = True  # no thread runs; the next poke starts one
        self._poked = False  # an event arrived since the current tick began
        self._last: float | None = None  # when the latest tick began, across threads
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.error: Exception | None = None

    @property
    def running(self) -> bool:
        """Whether a refresher thread is currently alive (work in progress)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def poke(self) -> None:
        """Something happened. Cheap enough to call for every engine event, from any thread."""
        self._poked = True
        if self._idle:
            self._wake()

    start = poke  # starting is just a first poke: one tick, then more while there is work

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the thread (if any) and ignore later pokes."""
        with self._lock:
            self._halt.set()
            self._idle = False  # never restart
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _wake(self) -> None:
        with self._lock:
            if not self._idle or self._halt.is_set():
                return
            self._idle = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._halt.is_set():
            if self._last is not None:  # never two ticks closer than the interval
                delay = self._last + self.interval - self._clock()
                if delay > 0 and self._halt.wait(delay):
                    return
            self._poked = False
            self._last = self._clock()
            if self._safe_tick() or self._poked:
                continue
            with self._lock:
                self._idle = True
            # A poke may have read _idle just before we set it; it set _poked first, so one of
            # us sees the other. If we see it and no new thread took over, keep going.
            if not self._poked:
                return
            with self._lock:
                if not self._idle or self._halt.is_set():
                    return
                self._idle = False

    def _safe_tick(self) -> bool:
        self.ticks += 1
        try:
            return self._tick()
        except Exception as exc:  # a broken redraw must not kill the workload; the view shows it
            self.error = exc
            return False
