"""The timer thread: one background event loop that ticks pools when something is due.

Work itself never passes through here (callers and containers place inputs directly, under
each pool's lock); this thread only wakes when a timeout, a retry's backoff, a batching window
or an autoscaler check is due. Cells can therefore start work and return at once, and the
kernel's own loop is never nested. It knows the ``Timed`` protocol, not the pool.

Under a mock clock nothing is timed on the loop: advancing the clock ticks every pool on it,
and ``advance()`` returns once those ticks ran, so "nothing happened yet" is a real assertion.
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from collections.abc import Callable
from typing import Protocol


class Timed(Protocol):
    def tick(self) -> float | None:
        """Do what is due now; return when the next thing will be due (clock time)."""

    def now(self) -> float:
        """The time on this object's clock."""

    def watch_time(self, callback: Callable[[], None]) -> bool:
        """Call ``callback()`` whenever this object's clock jumps; True if it may (a mock
        clock), False for real time, which never jumps and is timed on the loop instead."""


class TimerThread:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._members: weakref.WeakSet[Timed] = weakref.WeakSet()
        self._mock: weakref.WeakSet[Timed] = weakref.WeakSet()
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                loop.call_soon(ready.set)
                thread = threading.Thread(
                    target=loop.run_forever, name="concur_nb-timers", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def add(self, timed: Timed) -> None:
        self._ensure_loop()
        self._members.add(timed)
        ref = weakref.ref(timed)

        def on_time_jump() -> None:
            alive = ref()
            if alive is not None:
                self.poke(alive, wait=True)

        if timed.watch_time(on_time_jump):
            self._mock.add(timed)

    def members(self) -> list[Timed]:
        return list(self._members)

    def poke(self, timed: Timed, wait: bool = False) -> None:
        """Tick ``timed`` soon on the timer thread; with ``wait``, return once it has."""
        loop = self._ensure_loop()
        done = (
            threading.Event() if wait and threading.current_thread() is not self._thread else None
        )
        try:
            loop.call_soon_threadsafe(self._tick, timed, done)
        except RuntimeError:  # loop closed during interpreter shutdown
            return
        if done is not None:
            done.wait(5.0)

    def _tick(self, timed: Timed, done: threading.Event | None = None) -> None:
        key = id(timed)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        try:
            due = timed.tick()
        finally:
            if done is not None:
                done.set()
        if due is None or math.isinf(due) or timed in self._mock:
            return
        delay = max(0.0, due - timed.now())
        loop = asyncio.get_running_loop()  # not self._loop: stop() may have cleared it
        self._timers[key] = loop.call_later(delay, self._tick, timed)

    def stop(self, timeout: float) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()


timers = TimerThread()
