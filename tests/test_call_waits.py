"""How a caller is woken when its input ends: one future per async wait, and a thread
container that wakes callers only after it reported the end (the pool's lock let go)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import concur_nb
from concur_nb import _wakes
from concur_nb._containers.base import OK, Outcome, Work
from concur_nb._containers.threads import ThreadSlots
from concur_nb._errors import CallTimeoutError
from concur_nb._outcomes import Call
from concur_nb._wakes import held_wakes


@pytest.fixture
def held() -> Iterator[tuple[concur_nb.Function, threading.Event]]:
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=8)
    def hold(x: int) -> int:
        release.wait(10)
        return x * 10

    yield hold, release
    release.set()
    hold.shutdown()


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


class _Host:
    """A host whose ``finished`` settles the work's call, as the pool does under its lock,
    and notes whether the caller was already woken when it returned."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.woken_inside: bool | None = None
        self.reported = threading.Event()

    def log(self, work_id: str, stream: str, text: str) -> None:
        pass

    def finished(self, work: Work, outcome: Outcome, on_loop: bool) -> Work | None:
        self.call.settle(0, outcome.kind == OK, outcome.value)
        self.woken_inside = not self.call._done.locked()
        self.reported.set()
        return None


def test_a_thread_container_wakes_the_caller_after_it_reported_the_end() -> None:
    call = Call("fc-test", 1, streaming=False)
    host = _Host(call)
    slots = ThreadSlots("t", lambda work: lambda x: x + 1, host, host.finished)
    try:
        slots.submit(Work("in-1", call.id, None, (41,), {}, False))
        assert call.wait(5)
        assert host.reported.wait(5)
        assert host.woken_inside is False  # held back while the host held its lock
        assert call.values == [42]
    finally:
        slots.stop(5)


def test_held_wakes_run_in_order_and_one_failing_does_not_lose_the_rest() -> None:
    ran: list[int] = []

    def broken() -> None:
        raise RuntimeError("a broken wake-up")

    block = held_wakes()
    with pytest.raises(RuntimeError, match="broken"), block:
        assert _wakes.held.wakes is not None
        _wakes.held.wakes.append((ran.append, (1,)))
        _wakes.held.wakes.append((broken, ()))
        _wakes.held.wakes.append((ran.append, (2,)))
        assert ran == []
    assert ran == [1, 2]
    assert _wakes.held.wakes is None
    with block:  # reusable: nothing left from the last block
        pass
    assert ran == [1, 2]


def test_a_held_wakes_block_inside_another_leaves_the_wakes_to_the_outer_one() -> None:
    ran: list[str] = []
    with held_wakes():
        with held_wakes():
            assert _wakes.held.wakes is not None
            _wakes.held.wakes.append((ran.append, ("inner",)))
        assert ran == []  # still held: the outer block is not over
        assert _wakes.held.wakes is not None
    assert ran == ["inner"]
    assert _wakes.held.wakes is None


def test_a_call_settled_outside_held_wakes_wakes_its_caller_at_once() -> None:
    call = Call("fc-now", 1, streaming=False)
    call.settle(0, True, "done")
    assert not call._done.locked()
    assert call.wait(0)
