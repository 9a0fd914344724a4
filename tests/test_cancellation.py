"""Cancellation: queued inputs are dropped, running ones interrupted, siblings unharmed."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import concur_nb
from concur_nb import CallCancelledError, InputCancellation
from tests.conftest import wait_until


def test_running_async_input_gets_cancelled_error_and_siblings_finish() -> None:
    saw: list[str] = []
    started = threading.Event()

    @concur_nb.concurrent(max_inputs=4)
    async def nap(name: str, seconds: float) -> str:
        if seconds > 1:
            started.set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            saw.append(f"{name} cancelled")
            raise
        return name

    long = nap.spawn("long", 30)
    short = nap.spawn_map(["a", "b"], [0.2, 0.2])
    started.wait(5)
    long.cancel()
    with pytest.raises(CallCancelledError):
        long.get(timeout=5)
    assert short.get(timeout=5) == ["a", "b"]
    wait_until(lambda: saw == ["long cancelled"])


def test_running_sync_input_gets_input_cancellation_in_its_own_thread() -> None:
    saw: list[str] = []
    started = threading.Event()

    @concur_nb.concurrent(max_inputs=4)
    def crunch(name: str, steps: int) -> str:
        if steps > 100:
            started.set()
        try:
            for _ in range(steps):
                time.sleep(0.01)
        except InputCancellation:
            saw.append(f"{name} got InputCancellation")
            raise
        return name

    long = crunch.spawn("long", 3000)
    siblings = crunch.spawn_map(["a", "b", "c"], [20, 20, 20])
    started.wait(5)
    long.cancel()
    with pytest.raises(CallCancelledError):
        long.get(timeout=5)
    assert siblings.get(timeout=10) == ["a", "b", "c"]
    wait_until(lambda: saw == ["long got InputCancellation"])
    wait_until(lambda: crunch.snapshot().in_flight == 0, what="the cancelled thread's slot freed")


def test_cancellation_is_observable_cooperatively() -> None:
    started, checked = threading.Event(), threading.Event()

    @concur_nb.concurrent(max_inputs=2)
    def polite() -> None:
        started.set()
        try:
            while not concur_nb.input_cancelled():
                pass
            checked.set()
        except InputCancellation:
            checked.set()
            raise

    call = polite.spawn()
    started.wait(5)
    call.cancel()
    assert checked.wait(5)


def test_queued_inputs_are_dropped_and_never_run() -> None:
    ran: list[int] = []
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=1)
    def one_at_a_time(x: int) -> int:
        ran.append(x)
        release.wait(10)
        return x

    first = one_at_a_time.spawn(0)
    wait_until(lambda: ran == [0])
    queued = one_at_a_time.spawn_map(range(1, 6))
    queued.cancel()
    release.set()
    assert first.get(timeout=5) == 0
    with pytest.raises(CallCancelledError):
        queued.get(timeout=5)
    assert one_at_a_time.snapshot().cancelled == 5
    assert ran == [0]


def test_cancelled_input_is_never_retried() -> None:
    attempts: list[int] = []
    started = threading.Event()

    @concur_nb.function(retries=concur_nb.Retries(max_retries=3, initial_delay=0))
    @concur_nb.concurrent(max_inputs=2)
    async def once() -> None:
        attempts.append(1)
        started.set()
        await asyncio.sleep(30)

    call = once.spawn()
    started.wait(5)
    call.cancel()
    with pytest.raises(CallCancelledError):
        call.get(timeout=5)
    time.sleep(0.1)
    assert attempts == [1]


def test_cancel_one_input_by_id_from_the_function() -> None:
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=3)
    def hold(x: int) -> int:
        release.wait(10)
        return x

    call = hold.spawn_map(range(3))
    wait_until(lambda: hold.snapshot().in_flight == 3)
    victim = call.input_ids[1]
    assert hold.cancel_input(victim)
    release.set()
    with pytest.raises(CallCancelledError):
        call.get(timeout=5)
    statuses = {i.id: i.status for i in hold.inputs()}
    assert statuses[victim] == "cancelled"
    assert sorted(statuses.values()) == ["cancelled", "succeeded", "succeeded"]


def test_breaking_out_of_map_cancels_the_rest() -> None:
    @concur_nb.concurrent(max_inputs=2)
    async def slow(x: int) -> int:
        await asyncio.sleep(0.05 * x)
        return x

    for value in slow.map(range(40)):
        if value == 1:
            break
    wait_until(lambda: slow.snapshot().in_flight == 0)
    snap = slow.snapshot()
    assert snap.cancelled > 30
    assert snap.succeeded + snap.cancelled + snap.failed == 40
