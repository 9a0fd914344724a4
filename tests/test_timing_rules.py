"""Timing rules on a mock clock: scale-down, timeouts, retry backoff and batching windows run
without sleeping; the engine waits for the clock to be advanced."""

from __future__ import annotations

import asyncio
import threading

import pytest

import concur_nb
from concur_nb import FunctionTimeoutError
from concur_nb.testing import MockClock
from tests.conftest import wait_until


def test_idle_container_retires_after_scaledown_window_and_says_why(clock: MockClock) -> None:
    @concur_nb.function(scaledown_window=60, clock=clock)
    @concur_nb.concurrent(max_inputs=4)
    def echo(x: int) -> int:
        return x

    assert echo.remote(1) == 1
    assert len(echo.snapshot().containers) == 1
    clock.advance(59)
    assert len(echo.snapshot().containers) == 1
    assert [d.action for d in echo.snapshot().decisions] == ["scale_up"]
    clock.advance(1)
    # advance() returns once the engine has handled what fell due: the decision is made.
    assert echo.snapshot().decisions[-1].action == "scale_down"
    wait_until(lambda: not echo.snapshot().containers, what="container retired")
    actions = [(d.action, d.containers_after) for d in echo.snapshot().decisions]
    assert actions == [("scale_up", 1), ("scale_down", 0)]
    assert "idle for >= 60s" in echo.snapshot().decisions[-1].reason


def test_min_containers_stay_up_when_idle(clock: MockClock) -> None:
    @concur_nb.function(min_containers=1, max_containers=3, scaledown_window=10, clock=clock)
    @concur_nb.concurrent(max_inputs=2)
    def echo(x: int) -> int:
        return x

    list(echo.map(range(20)))
    clock.advance(100)
    wait_until(lambda: len(echo.snapshot().containers) == 1, what="down to min_containers")
    assert echo.snapshot().containers[0].status == "running"


def test_async_input_past_its_timeout_fails_with_function_timeout_error(clock: MockClock) -> None:
    started = threading.Event()

    @concur_nb.function(timeout=5, clock=clock)
    @concur_nb.concurrent(max_inputs=2)
    async def stuck() -> None:
        started.set()
        await asyncio.Event().wait()

    call = stuck.spawn()
    started.wait(5)
    clock.advance(4.9)
    assert not call.done()
    clock.advance(0.2)
    with pytest.raises(FunctionTimeoutError, match=r"timeout=5s"):
        call.get(timeout=10)
    assert stuck.snapshot().failed == 1


def test_sync_input_past_its_timeout_is_interrupted(clock: MockClock) -> None:
    started = threading.Event()
    stop = threading.Event()

    @concur_nb.function(timeout=2, clock=clock)
    @concur_nb.concurrent(max_inputs=2)
    def spin() -> str:
        started.set()
        while not stop.wait(0.01):  # short waits: the interruption lands between them
            pass
        return "finished"

    call = spin.spawn()
    started.wait(5)
    clock.advance(3)
    with pytest.raises(FunctionTimeoutError):
        call.get(timeout=10)
    stop.set()


def test_failed_input_is_retried_after_backoff_on_the_clock(clock: MockClock) -> None:
    attempts: list[float] = []

    @concur_nb.function(
        retries=concur_nb.Retries(max_retries=2, initial_delay=1.0, backoff_coefficient=3.0),
        clock=clock,
    )
    @concur_nb.concurrent(max_inputs=2)
    def flaky() -> str:
        attempts.append(clock.now())
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "ok"

    def waiting_to_retry() -> bool:
        return [i.status for i in flaky.inputs()] == ["retry_wait"]

    call = flaky.spawn()
    wait_until(waiting_to_retry, what="the first attempt failed")
    clock.advance(0.99)
    assert waiting_to_retry() and len(attempts) == 1
    clock.advance(0.01)
    wait_until(lambda: len(attempts) == 2, what="first retry after 1s")
    wait_until(waiting_to_retry, what="the second attempt failed")
    clock.advance(2.99)
    assert waiting_to_retry()
    assert len(attempts) == 2
    clock.advance(0.01)
    assert call.get(timeout=10) == "ok"
    assert attempts == [0.0, 1.0, 4.0]


def test_input_that_keeps_failing_raises_its_last_error_after_retries(clock: MockClock) -> None:
    @concur_nb.function(retries=1, clock=clock)
    @concur_nb.concurrent(max_inputs=2)
    def broken() -> None:
        raise ValueError("bad input")

    call = broken.spawn()
    wait_until(lambda: broken.inputs()[0].status == "retry_wait")
    clock.advance(1)
    with pytest.raises(ValueError, match="bad input"):
        call.get(timeout=10)
    assert broken.inputs()[0].attempts == 2


def test_partial_batch_runs_when_its_window_closes(clock: MockClock) -> None:
    batches: list[list[int]] = []

    @concur_nb.function(clock=clock)
    @concur_nb.batched(max_batch_size=4, wait_ms=500)
    def total(xs: list[int]) -> list[int]:
        batches.append(xs)
        return [x * 10 for x in xs]

    calls = [total.spawn(x) for x in (1, 2, 3)]
    clock.advance(0.499)
    assert batches == []
    clock.advance(0.001)
    assert [c.get(timeout=10) for c in calls] == [10, 20, 30]
    assert batches == [[1, 2, 3]]


def test_full_batch_runs_at_once_without_waiting(clock: MockClock) -> None:
    batches: list[list[int]] = []

    @concur_nb.function(clock=clock)
    @concur_nb.batched(max_batch_size=3, wait_ms=10_000)
    def total(xs: list[int]) -> list[int]:
        batches.append(xs)
        return xs

    assert list(total.map(range(6))) == list(range(6))
    assert batches == [[0, 1, 2], [3, 4, 5]]


def test_a_lone_input_still_reaches_a_batched_function_as_a_list(clock: MockClock) -> None:
    batches: list[list[str]] = []

    @concur_nb.function(clock=clock)
    @concur_nb.batched(max_batch_size=8, wait_ms=100)
    def lengths(words: list[str]) -> list[int]:
        batches.append(words)
        return [len(w) for w in words]

    call = lengths.spawn("abc")
    clock.advance(0.1)
    assert call.get(timeout=10) == 3
    assert batches == [["abc"]]


def test_advance_returns_once_the_engine_has_acted_on_what_fell_due(clock: MockClock) -> None:
    @concur_nb.function(clock=clock)
    @concur_nb.concurrent(max_inputs=4)
    @concur_nb.batched(max_batch_size=10, wait_ms=1000)
    def sizes(xs: list[int]) -> list[int]:
        return [len(xs)] * len(xs)

    call = sizes.spawn_map(range(3))
    wait_until(lambda: sizes.snapshot().containers[0].status == "running", what="ready")
    clock.advance(0.999)
    assert {i.status for i in sizes.inputs()} == {"queued"}  # a real "not yet"
    clock.advance(0.001)
    assert "queued" not in {i.status for i in sizes.inputs()}  # no waiting needed
    assert call.get(timeout=10) == [3, 3, 3]
