"""Per-input identity and logs hold for the tasks and callbacks an async input starts, on the
standard asyncio loop and on uvloop: every line lands in the log of the input that made it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

import concur_nb
from concur_nb._containers import loop_choice
from concur_nb._containers.loop_choice import is_uvloop
from tests.conftest import require

LOOPS = ["asyncio", "uvloop"]


@pytest.fixture(params=LOOPS)
def loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Containers started in the test run on this kind of loop."""
    kind: str = request.param
    monkeypatch.delenv(loop_choice.ENV, raising=False)
    if kind == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            require(False, "uvloop (pip install 'concur-nb[fast]')")
    concur_nb.set_uvloop(kind == "uvloop")
    yield kind
    concur_nb.set_uvloop(None)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records of the logger ``async_identity``, at INFO, kept as they are made."""
    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    log = logging.getLogger("async_identity")
    keep = Keep()
    log.setLevel(logging.INFO)
    log.addHandler(keep)
    yield kept
    log.removeHandler(keep)
    log.setLevel(logging.NOTSET)


log = logging.getLogger("async_identity")


def expected_lines(n: int) -> list[str]:
    """What input ``n`` writes: a print and a log record from each of its tasks and callbacks."""
    places = [f"sub {k}" for k in range(4)] + ["soon", "later"]
    lines = [f"{n} {place}" for place in places]
    lines += [f"INFO async_identity: {n} {place} (logged)" for place in places]
    return sorted(lines)


def test_tasks_and_callbacks_an_input_starts_log_to_that_input(
    loop_kind: str, records: list[logging.LogRecord]
) -> None:
    inputs = 100

    @concur_nb.concurrent(max_inputs=inputs)
    async def spawner(n: int) -> tuple[str | None, list[str | None], str]:
        loop = asyncio.get_running_loop()
        seen: list[str | None] = []  # the input id as each task and callback sees it

        def say(place: str) -> None:
            print(f"{n} {place}")
            log.info("%s %s (logged)", n, place)
            seen.append(concur_nb.current_input_id())

        async def sub(k: int) -> int:
            await asyncio.sleep(0.001 * (k % 3))  # the inputs' steps interleave on the loop
            say(f"sub {k}")
            await asyncio.sleep(0)
            return k

        tasks = [asyncio.create_task(sub(k)) for k in range(2)]
        assert await asyncio.gather(sub(2), sub(3)) == [2, 3]
        assert await asyncio.gather(*tasks) == [0, 1]

        soon, later = loop.create_future(), loop.create_future()

        def callback(place: str, done: asyncio.Future[None]) -> None:
            say(place)
            done.set_result(None)

        loop.call_soon(callback, "soon", soon)
        loop.call_later(0.002, callback, "later", later)
        await asyncio.gather(soon, later)
        return concur_nb.current_input_id(), seen, "uvloop" if is_uvloop(loop) else "asyncio"

    results = list(spawner.map(range(inputs)))
    assert {kind for *_, kind in results} == {loop_kind}
    ids = [input_id for input_id, *_ in results]
    assert len(set(ids)) == inputs and None not in ids
    for n, (input_id, seen, _) in enumerate(results):
        assert seen == [input_id] * 6, f"input {n}"
        assert sorted(line.text for line in spawner.logs(input_id)) == expected_lines(n)
    by_input: dict[str | None, list[str]] = {}
    for record in records:
        by_input.setdefault(getattr(record, "input_id", None), []).append(record.getMessage())
    assert set(by_input) == set(ids)
    for n, input_id in enumerate(ids):
        assert len(by_input[input_id]) == 6
        assert all(message.startswith(f"{n} ") for message in by_input[input_id])


def test_a_callback_that_runs_after_its_input_ended_still_knows_its_input(
    loop_kind: str,
) -> None:
    """A ``call_soon`` or ``call_later`` callback, a task left running, or an
    ``asyncio.to_thread`` call given up on belongs to the input that started it, even once the
    input has returned (each gets a context with that input fixed in it)."""
    places = ("call_soon", "call_later", "task")
    expected = [(n, place) for n in range(8) for place in places] + [
        (0, "to_thread"),
        (1, "to_thread"),
    ]
    ran: list[tuple[int, str, str | None]] = []
    all_ran = threading.Semaphore(0)
    left_behind: list[asyncio.Task[None]] = []  # a task nobody holds may be collected
    release_threads = threading.Event()

    # Two slots for eight inputs: the late ones run while their slot runs a later input.
    @concur_nb.concurrent(max_inputs=2)
    async def leaves_work_behind(n: int) -> str | None:
        loop = asyncio.get_running_loop()

        def late(place: str) -> None:
            ran.append((n, place, concur_nb.current_input_id()))
            all_ran.release()

        async def lingering() -> None:
            await asyncio.sleep(0.025)
            late("task")

        def in_a_thread() -> None:
            release_threads.wait(10)  # until every input has returned
            late("to_thread")

        loop.call_later(0.025, late, "call_later")
        left_behind.append(loop.create_task(lingering()))
        if n < 2:  # the first two: their threads start at once (a queued one would not run)
            try:  # given up on in the input's own task: the thread goes on after it returned
                async with asyncio.timeout(0.001):
                    await asyncio.to_thread(in_a_thread)
            except TimeoutError:
                pass
        await asyncio.sleep(0.01)
        loop.call_soon(late, "call_soon")  # runs once the slot has moved on
        return concur_nb.current_input_id()

    ids = list(leaves_work_behind.map(range(8)))
    release_threads.set()
    for _ in expected:
        assert all_ran.acquire(timeout=10)
    assert sorted(ran) == sorted((n, place, ids[n]) for n, place in expected)


def test_a_callback_that_prints_after_its_input_ended_adds_to_that_inputs_log(
    loop_kind: str,
) -> None:
    """Its line is not lost: it lands in the log of the input that scheduled it."""
    all_ran = threading.Semaphore(0)

    @concur_nb.concurrent(max_inputs=2)
    async def prints_late(n: int) -> str | None:
        def late() -> None:
            print(f"{n} late")
            all_ran.release()

        asyncio.get_running_loop().call_later(0.02, late)
        await asyncio.sleep(0.01)
        return concur_nb.current_input_id()

    ids = list(prints_late.map(range(4)))
    for _ in range(4):
        assert all_ran.acquire(timeout=10)
    for n, input_id in enumerate(ids):
        assert [line.text for line in prints_late.logs(input_id)] == [f"{n} late"]
