"""Shared fixtures: every test's functions are shut down after it, so no thread outlives it."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import concur_nb
from concur_nb._handles import handles
from concur_nb.testing import MockClock

IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, what: str) -> None:
    """Skip a test of a real component when it is missing, except in CI where that fails."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing; CI must run every test of a real component")
    pytest.skip(f"{what} is missing")


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll until ``predicate()`` is true (for effects that land on another thread)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def _shut_down_new_functions() -> Iterator[None]:
    before = {id(h) for h in handles()}
    yield
    for handle in handles():
        if id(handle) not in before:
            handle.shutdown()


@pytest.fixture
def clock() -> MockClock:
    return MockClock()


@pytest.fixture
def held() -> Iterator[tuple[concur_nb.Function, threading.Event]]:
    """A function whose inputs wait until the test sets the event (then return 10 x)."""
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=8)
    def hold(x: int) -> int:
        release.wait(10)
        return x * 10

    yield hold, release
    release.set()  # let a cancelled input's thread end before the function shuts down
