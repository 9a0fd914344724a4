"""The loop-lag warning blames an async input only when that input's own code blocked the
event loop: never for the engine's own burst of thousands of task starts."""

from __future__ import annotations

import asyncio
import time

import concur_nb
from tests.conftest import wait_until


def test_a_burst_of_ten_thousand_short_async_inputs_gets_no_lag_warning() -> None:
    @concur_nb.concurrent(max_inputs=10_000)
    async def nap(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    started = time.monotonic()
    for _ in range(3):  # three bursts: each starts 10,000 tasks at once on one loop
        assert sum(nap.map(range(10_000))) == sum(range(10_000))
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # a warning is given when a stall ends, a look or two later
    assert not nap.snapshot().warnings, f"after {elapsed:.1f}s: {nap.snapshot().warnings}"


def test_an_async_input_that_sleeps_in_c_for_a_third_of_a_second_is_warned_about() -> None:
    @concur_nb.concurrent(max_inputs=4)
    async def blocks(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    assert blocks.remote(0.3) == 0.3
    wait_until(lambda: blocks.snapshot().warnings, timeout=5, what="loop-lag warning")
    (warning,) = blocks.snapshot().warnings
    assert "an async input blocked the event loop" in warning
    assert "asyncio.to_thread" in warning
    blocked = float(warning.split(" for ")[1].split("s")[0])
    assert 0.2 <= blocked <= 0.6, warning


def test_an_input_still_blocking_is_reported_before_it_ends(tmp_path: object) -> None:
    @concur_nb.concurrent(max_inputs=2)
    async def stuck(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    call = stuck.spawn(3.0)
    wait_until(lambda: stuck.snapshot().warnings, timeout=2.9, what="loop-lag warning")
    assert "so far" in stuck.snapshot().warnings[0]
    assert call.get(timeout=10) == 3.0
