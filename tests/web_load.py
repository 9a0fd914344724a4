"""Helpers for the web endpoint tests: concurrent HTTP load on 127.0.0.1, and a gate that
holds requests inside the app so a test can look at what is in flight and what waits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

LOAD_TIMEOUT = 30.0  # seconds a whole load may take


def send_all(url: str, count: int, method: str = "GET", **request: Any) -> list[httpx.Response]:
    """``count`` requests at once to ``url`` (``?i=0..count-1``), all answered or an error."""

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=LOAD_TIMEOUT) as client:
            return await asyncio.gather(
                *(client.request(method, url, params={"i": i}, **request) for i in range(count))
            )

    return asyncio.run(run())


class Gauge:
    """Counts requests in flight per key (a container's app) and the peak of each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self.gate = threading.Event()  # requests wait here until the test opens it

    @contextmanager
    def running(self, key: int) -> Iterator[None]:
        with self._lock:
            self.now[key] = self.now.get(key, 0) + 1
            self.peak[key] = max(self.peak.get(key, 0), self.now[key])
        try:
            yield
        finally:
            with self._lock:
                self.now[key] -= 1

    def total(self) -> int:
        with self._lock:
            return sum(self.now.values())

    async def wait_gate(self) -> None:
        while not self.gate.is_set():
            await asyncio.sleep(0.005)

    def wait_gate_sync(self) -> None:
        assert self.gate.wait(LOAD_TIMEOUT), "the test never opened the gate"


@contextmanager
def load_in_background(
    gauge: Gauge, url: str, count: int, method: str = "GET", **request: Any
) -> Iterator[concurrent.futures.Future[list[httpx.Response]]]:
    """Send the load from another thread; the future holds the responses. The gauge's gate
    opens on the way out, whatever happened inside."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(send_all, url, count, method, **request)
        try:
            yield future
        finally:
            gauge.gate.set()
            future.result(LOAD_TIMEOUT)
