"""How a caller is woken when its input ends: one future per async wait."""

from __future__ import annotations

import asyncio
import threading

import pytest

from concur_nb._errors import CallTimeoutError
from concur_nb._outcomes import Call


def test_readers_that_give_up_leave_nothing_behind_and_the_next_reader_gets_the_output(
    held: tuple,
) -> None:
    hold, release = held
    call = hold.spawn(3)

    async def give_up_then_wait() -> int:
        for _ in range(20):
            with pytest.raises(CallTimeoutError):
                await call.get.aio(timeout=0.001)
        reader = asyncio.ensure_future(call.get.aio())
        await asyncio.sleep(0.01)
        reader.cancel()  # a reader cancelled by its own caller: the work goes on
        with pytest.raises(asyncio.CancelledError):
            await reader
        assert call._call._futures == ()  # no wait registered by a reader that gave up
        later = asyncio.ensure_future(call.get.aio())
        await asyncio.sleep(0.01)
        release.set()
        return await later

    assert asyncio.run(give_up_then_wait()) == 30


def test_cancelling_a_task_awaiting_remote_aio_cancels_its_input(held: tuple) -> None:
    hold, _ = held

    async def cancel_the_caller() -> None:
        task = asyncio.ensure_future(hold.remote.aio(4))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_the_caller())
    statuses = {info.status for info in hold.inputs()}
    assert statuses == {"cancelled"}


def test_loops_in_two_threads_awaiting_one_call_both_wake(held: tuple) -> None:
    hold, release = held
    call = hold.spawn(5)
    got: list[int] = []
    waiting = threading.Barrier(3)

    def read() -> None:
        async def main() -> int:
            pending = asyncio.ensure_future(call.get.aio())
            await asyncio.sleep(0)  # registered on this loop before the release below
            waiting.wait(5)
            return await pending

        got.append(asyncio.run(main()))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    waiting.wait(5)
    release.set()
    for reader in readers:
        reader.join(5)
    assert got == [50, 50]


def test_a_settled_call_wakes_its_caller_at_once() -> None:
    call = Call("fc-now", 1, streaming=False)
    call.settle(0, True, "done")
    assert not call._done.locked()
    assert call.wait(0)
