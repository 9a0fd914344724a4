"""FunctionCall with Modal 1.6's surface: get(timeout=, index=), num_inputs, iter, from_id,
gather; and map/for_each's keyword arguments."""

from __future__ import annotations

import asyncio
import gc

import pytest

import concur_nb
from concur_nb._errors import CallTimeoutError


def test_get_with_a_timeout_raises_a_timeout_error_and_the_work_goes_on(held: tuple) -> None:
    hold, release = held
    call = hold.spawn(1)
    with pytest.raises(CallTimeoutError, match="keeps running") as caught:
        call.get(timeout=0.01)
    assert isinstance(caught.value, TimeoutError)
    with pytest.raises(CallTimeoutError):
        call.get(timeout=0.01, index=0)
    release.set()
    assert call.get() == 10


def test_get_aio_with_a_timeout_does_not_cancel_the_call(held: tuple) -> None:
    hold, release = held
    call = hold.spawn(2)

    async def wait_briefly() -> None:
        with pytest.raises(CallTimeoutError):
            await call.get.aio(timeout=0.01)

    asyncio.run(wait_briefly())
    release.set()
    assert call.get() == 20  # not cancelled by the reader that gave up


def test_a_spawn_map_call_counts_reads_by_index_and_iterates_a_range(held: tuple) -> None:
    hold, release = held
    call = hold.spawn_map(range(5))
    assert call.num_inputs() == 5
    release.set()
    assert call.get(index=3) == 30
    assert list(call.iter(start=1, end=3)) == [10, 20]
    assert list(call.iter()) == [0, 10, 20, 30, 40]
    assert call.get() == [0, 10, 20, 30, 40]
    with pytest.raises(concur_nb.InvalidError, match="index"):
        call.get(index=5)

    async def read() -> list[int]:
        return [y async for y in call.iter.aio(start=4)] + [await call.get.aio(index=0)]

    assert asyncio.run(read()) == [40, 0]


def test_iter_raises_a_failed_inputs_exception_in_its_turn() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def check(x: int) -> int:
        if x == 2:
            raise ValueError("two")
        return x

    call = check.spawn_map(range(4))
    seen = []
    with pytest.raises(ValueError, match="two"):
        for y in call.iter():
            seen.append(y)
    assert seen == [0, 1]


def test_from_id_finds_a_call_made_in_this_process(held: tuple) -> None:
    hold, release = held
    call = hold.spawn(4)
    found = concur_nb.FunctionCall.from_id(call.object_id)
    assert found.object_id == call.object_id and not found.done()
    release.set()
    assert found.get() == 40
    with pytest.raises(concur_nb.InvalidError, match="fc-nope"):
        concur_nb.FunctionCall.from_id("fc-nope")


def test_from_id_forgets_calls_nobody_holds_and_the_registry_stays_bounded() -> None:
    from concur_nb import _function_call

    @concur_nb.concurrent(max_inputs=8)
    def double(x: int) -> int:
        return 2 * x

    dropped = double.spawn(1)
    dropped_id = dropped.object_id
    assert dropped.get() == 2
    del dropped
    gc.collect()
    with pytest.raises(concur_nb.InvalidError, match=dropped_id):
        concur_nb.FunctionCall.from_id(dropped_id)
    kept = double.spawn(2)
    for i in range(5000):  # each made, read and dropped
        assert double.spawn(i).get() == 2 * i
    assert len(_function_call._live_calls) <= 2 * 1024 + 1
    assert concur_nb.FunctionCall.from_id(kept.object_id).get() == 4
    double.shutdown()


def test_function_call_gather_collects_outputs_in_order(held: tuple) -> None:
    hold, release = held
    calls = [hold.spawn(i) for i in range(3)]
    release.set()
    assert concur_nb.FunctionCall.gather(*calls) == [0, 10, 20]
    assert asyncio.run(concur_nb.FunctionCall.gather.aio(*calls)) == [0, 10, 20]


def test_map_takes_kwargs_and_modals_wrap_flag_and_for_each_can_ignore_errors() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def add(x: int, y: int = 0) -> int:
        if x < 0:
            raise ValueError(x)
        return x + y

    assert list(add.map([1, 2], kwargs={"y": 10}, wrap_returned_exceptions=False)) == [11, 12]
    out = list(add.map([-1, 1], return_exceptions=True))
    assert isinstance(out[0], ValueError) and out[1] == 1
    add.for_each([-1, 2], ignore_exceptions=True)
    with pytest.raises(ValueError):
        add.for_each([-1, 2])
    with pytest.raises(ValueError):
        asyncio.run(add.for_each.aio([-1]))
    asyncio.run(add.for_each.aio([-1], ignore_exceptions=True))


def test_cancel_takes_modals_terminate_containers_spelling(held: tuple) -> None:
    hold, _ = held
    call = hold.spawn(1)
    call.cancel(terminate_containers=False)
    with pytest.raises(concur_nb.CallCancelledError):
        call.get(timeout=5)
