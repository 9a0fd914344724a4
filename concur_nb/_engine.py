"""The engine: one background thread with an event loop that runs every pool's timers.

Work itself never passes through here (callers and containers place inputs directly, under
each pool's lock); this thread only wakes when something is due: a timeout, a retry's backoff,
a batching window, a scale-down. Cells can therefore start work and return at once, and the
kernel's own loop is never nested.
"""

from __future__ import annotations

import asyncio
import atexit
import math
import threading
import weakref
from typing import Any

from ._scheduler import Pool


class Engine:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pools: weakref.WeakSet[Pool] = weakref.WeakSet()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._registry: list[weakref.ref[Any]] = []

    # --- lifecycle ------------------------------------------------------------------------

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
                    target=loop.run_forever, name="concur_nb-engine", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def add_pool(self, pool: Pool) -> None:
        self._ensure_loop()
        self._pools.add(pool)
        if not pool.clock.is_real:
            ref = weakref.ref(pool)

            def on_time_jump() -> None:
                alive = ref()
                if alive is not None:
                    self.poke(alive)

            pool.clock.add_listener(on_time_jump)

    def register(self, handle: Any) -> None:
        """Remember a user-facing function handle for ``concur_nb.functions()``."""
        with self._lock:
            self._registry = [r for r in self._registry if r() is not None]
            self._registry.append(weakref.ref(handle))

    def handles(self) -> list[Any]:
        with self._lock:
            alive = [r() for r in self._registry]
        return [h for h in alive if h is not None]

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel all work, retire every container, and stop the engine thread."""
        for pool in list(self._pools):
            pool.shutdown(timeout)
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()

    # --- timers ---------------------------------------------------------------------------

    def poke(self, pool: Pool) -> None:
        """Tick ``pool`` soon on the engine thread (something became due earlier)."""
        loop = self._ensure_loop()
        try:
            loop.call_soon_threadsafe(self._tick, pool)
        except RuntimeError:  # loop closed during interpreter shutdown
            pass

    def _tick(self, pool: Pool) -> None:
        key = id(pool)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        due = pool.tick()
        if due is None or not pool.clock.is_real or math.isinf(due):
            return
        delay = max(0.0, due - pool.clock.now())
        loop = asyncio.get_running_loop()  # not self._loop: shutdown may have cleared it
        self._timers[key] = loop.call_later(delay, self._tick, pool)


engine = Engine()
atexit.register(engine.shutdown, 5.0)
