"""Helpers for deterministic tests of code that uses concur_nb.

Example::

    clock = MockClock()
    fn = concur_nb.function(scaledown_window=60, clock=clock)(...)
    clock.advance(61)  # the idle container retires, without sleeping
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class MockClock:
    """A clock that only moves when told to.

    The engine waits for ``advance`` instead of sleeping, so timeouts, retries' backoff,
    batching windows and scale-down run instantly and deterministically.
    """

    is_real = False

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake everything that waits on this clock."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance({seconds!r}))")
        with self._lock:
            self._now += seconds
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    def add_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)


__all__ = ["MockClock"]
