"""Every input ends exactly once under faults: containers that die under an input, spawns
racing a shutdown, attempts stuck in C code past their timeout, exceptions that cannot be
printed, and a shutdown with many stuck functions."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

import concur_nb
from concur_nb import CallCancelledError, ContainerError, FunctionTimeoutError, InvalidError
from concur_nb._shutdown import shutdown_all
from concur_nb.testing import MockClock
from tests.conftest import wait_until


def test_an_input_that_kills_its_worker_fails_after_a_bounded_number_of_deaths() -> None:
    @concur_nb.function(backend="process", max_containers=1)
    @concur_nb.concurrent(max_inputs=4)
    def work(x: int) -> int:
        if x == 0:
            os._exit(3)
        return x * 10

    call = work.spawn_map(range(4))
    deadline = time.monotonic() + 60
    while not call.done():
        assert time.monotonic() < deadline, "the call never ended"
        time.sleep(0.05)
    crash = call._call.values[0]
    assert isinstance(crash, ContainerError)
    assert "4 containers died" in str(crash)
    assert call._call.values[1:] == [10, 20, 30]  # the siblings were rescheduled and finished


def test_spawns_racing_a_shutdown_either_raise_or_end() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def echo(x: int) -> int:
        return x

    calls: list[concur_nb.FunctionCall] = []
    refused = [0]
    go = threading.Event()

    def spawner() -> None:
        go.wait()
        for i in range(400):
            try:
                calls.append(echo.spawn(i))
            except InvalidError:
                refused[0] += 1

    threads = [threading.Thread(target=spawner) for _ in range(4)]
    for t in threads:
        t.start()
    go.set()
    time.sleep(0.002)
    echo.shutdown()
    for t in threads:
        t.join()
    for call in calls:
        try:
            call.get(timeout=5)
        except CallCancelledError:
            pass
    assert len(calls) + refused[0] == 1600


def test_a_timeout_releases_the_caller_of_an_attempt_stuck_in_c_code(clock: MockClock) -> None:
    started, release = threading.Event(), threading.Event()

    @concur_nb.function(timeout=2, clock=clock, max_containers=1)
    @concur_nb.concurrent(max_inputs=1)
    def stuck(x: int) -> int:
        if x == 1:
            started.set()
            release.wait()  # blocked in C: the interruption lands only when it returns
        return x

    call = stuck.spawn(1)
    assert started.wait(5)
    clock.advance(1.9)
    assert not call.done()
    clock.advance(0.2)
    with pytest.raises(FunctionTimeoutError):
        call.get(timeout=1)  # at the timeout, not when the code returns
    (container,) = stuck.snapshot().containers
    assert container.info["cancelling"] == 1 and container.in_use == 1
    following = stuck.spawn(2)
    assert not following.done()  # the stuck code still holds the only slot
    release.set()
    assert following.get(timeout=5) == 2


def test_terminate_container_on_an_in_process_function_cancels_only_that_input() -> None:
    release = threading.Event()
    running = threading.Semaphore(0)

    @concur_nb.concurrent(max_inputs=4)
    def wait(x: int) -> int:
        running.release()
        while not release.wait(0.01):
            pass
        return x

    a, b = wait.spawn(1), wait.spawn(2)
    assert running.acquire(timeout=5) and running.acquire(timeout=5)
    a.cancel(terminate_container=True)
    with pytest.raises(CallCancelledError):
        a.get(timeout=5)
    release.set()
    assert b.get(timeout=5) == 2


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this message cannot be read")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_exception_whose_str_raises_still_ends_its_input(kind: str) -> None:
    if kind == "sync":

        @concur_nb.concurrent(max_inputs=2)
        def fail(x: int) -> int:
            raise Unprintable()

    else:

        @concur_nb.concurrent(max_inputs=2)
        async def fail(x: int) -> int:
            raise Unprintable()

    with pytest.raises(Unprintable):
        fail.spawn(1).get(timeout=5)
    with pytest.raises(Unprintable):
        fail.spawn(2).get(timeout=5)  # the container is still there to run the next one
    (info, *_) = fail.inputs()
    assert info.error is not None and info.error.startswith("Unprintable")


def test_one_bound_for_the_whole_shutdown_names_the_abandoned_inputs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)
    functions = []
    for i in range(6):

        @concur_nb.function(name=f"stuck{i}")
        @concur_nb.concurrent(max_inputs=1)
        def stuck() -> None:
            started.release()
            release.wait()  # stuck in C: cancellation cannot interrupt it

        functions.append(stuck)
        stuck.spawn()
    for _ in functions:
        assert started.acquire(timeout=5)
    try:
        with caplog.at_level(logging.WARNING, logger="concur_nb"):
            began = time.monotonic()
            abandoned = shutdown_all(timeout=1.0)
            took = time.monotonic() - began
        assert len(abandoned) == 6
        assert took < 3.0  # one bound for all, not one per function (6 s)
        assert "6 input(s) still running" in caplog.text
    finally:
        release.set()
    wait_until(lambda: all(not f.snapshot().containers for f in functions), what="all stopped")
