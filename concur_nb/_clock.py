"""Injectable time: every timing rule in the engine asks a clock, never ``time`` directly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """What the engine needs from a clock."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever time jumps (mock clocks only; real time never jumps)."""
        ...

    @property
    def is_real(self) -> bool: ...


class MonotonicClock:
    """Real time from ``time.monotonic``."""

    is_real = True
    now = staticmethod(time.monotonic)  # read per input: the builtin itself, no Python frame

    def add_listener(self, callback: Callable[[], None]) -> None:
        pass
