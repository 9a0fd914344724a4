"""Regressions found while splitting the API (issue 9) and hole 6 of issue 10."""

from __future__ import annotations

import asyncio
import threading
import time

import concur_nb
from concur_nb._outcomes import Call
from tests.conftest import wait_until


def test_a_class_method_handle_knows_closed_and_can_shut_down() -> None:
    @concur_nb.concurrent(max_inputs=2)
    class Model:
        @concur_nb.method()
        def predict(self, x: int) -> int:
            return x

    method = Model().predict
    assert method.closed is False
    assert method.remote(3) == 3
    method.shutdown()  # a method's containers are its class's
    assert method.closed and Model.closed


def test_two_threads_waiting_on_different_outputs_of_one_call_are_both_woken() -> None:
    call = Call("fc-two-readers", 2, streaming=False)
    woken: dict[int, float] = {}

    def read(index: int) -> None:
        assert call.wait_for(index, timeout=10)
        woken[index] = time.monotonic()

    first = threading.Thread(target=read, args=(0,))
    second = threading.Thread(target=read, args=(1,))
    first.start()
    time.sleep(0.05)  # the first reader waits before the second starts
    second.start()
    time.sleep(0.05)
    call.settle(0, True, "a")
    first.join(2)
    assert not first.is_alive(), "the first reader was not woken by its own output"
    assert 1 not in woken
    call.settle(1, True, "b")
    second.join(2)
    assert not second.is_alive()


def test_two_threads_reading_one_spawn_map_in_order_both_get_every_output() -> None:
    gates = [threading.Event() for _ in range(4)]

    @concur_nb.concurrent(max_inputs=4)
    def held(i: int) -> int:
        gates[i].wait(10)
        return i * 10

    call = held.spawn_map(range(4))
    got: dict[str, list[int]] = {}
    readers = [
        threading.Thread(target=lambda: got.__setitem__("iter", list(call.iter()))),
        threading.Thread(target=lambda: got.__setitem__("last", [call.get(index=3)])),
        threading.Thread(target=lambda: got.__setitem__("all", call.get())),
    ]
    for reader in readers:
        reader.start()
    wait_until(lambda: held.snapshot().in_flight == 4, what="all four running")
    for gate in reversed(gates):
        gate.set()
    for reader in readers:
        reader.join(5)
    assert got == {"iter": [0, 10, 20, 30], "last": [30], "all": [0, 10, 20, 30]}


class Doubler:
    """A callable object whose ``__call__`` is a coroutine function."""

    async def __call__(self, x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x


def test_an_object_with_an_async_call_runs_as_async_on_the_event_loop() -> None:
    doubler = concur_nb.concurrent(max_inputs=3)(Doubler())
    assert doubler.name == "Doubler"
    assert doubler.remote(21) == 42
    assert list(doubler.map([1, 2])) == [2, 4]
    assert doubler.backend_name == "asyncio"
    assert doubler.snapshot().containers[0].kind == "asyncio"


def test_an_object_with_an_async_call_runs_in_a_worker_process() -> None:
    class Tripler:
        async def __call__(self, x: int) -> int:
            await asyncio.sleep(0)
            return 3 * x

    tripler = concur_nb.function(backend="process", max_containers=1)(
        concur_nb.concurrent(max_inputs=2)(Tripler())
    )
    assert tripler.remote(7) == 21
