"""Generator functions: ``remote_gen`` streams each value as the input yields it, for sync and
async generators, with per-input logs and cancellation when the consumer stops early."""

from __future__ import annotations

import asyncio
import threading

import pytest

import concur_nb
import concur_nb.modal as modal

app = modal.App("generators")
gate = threading.Event()
cleaned_up: list[str] = []


@app.function()
@modal.concurrent(max_inputs=4)
def count(n: int):
    for i in range(n):
        print(f"yielding {i}")
        yield i


@app.function()
async def count_async(n: int):
    for i in range(n):
        await asyncio.sleep(0)
        yield i * 10


@app.function()
def gated():
    yield "first"
    gate.wait(5)  # the caller holds the second value back until it saw the first
    yield "second"


@app.function()
def endless():
    try:
        i = 0
        while True:
            yield i
            i += 1
    except modal.exception.InputCancellation:
        cleaned_up.append(modal.current_input_id() or "")
        raise


@app.function()
def fails_after_one():
    yield 1
    raise ValueError("boom")


def test_sync_generator_values_arrive_in_order() -> None:
    assert list(count.remote_gen(4)) == [0, 1, 2, 3]


def test_async_generator_streams_to_async_for() -> None:
    async def consume() -> tuple[list[int], list[int]]:
        from_async = [v async for v in count_async.remote_gen.aio(3)]
        from_sync = [v async for v in count.remote_gen.aio(2)]
        return from_async, from_sync

    assert asyncio.run(consume()) == ([0, 10, 20], [0, 1])


def test_values_stream_while_the_input_still_runs() -> None:
    gate.clear()
    stream = gated.remote_gen()
    assert next(stream) == "first"  # would hang if values came only at the end
    assert gated.inputs()[0].status == "running"
    gate.set()
    assert list(stream) == ["second"]


def test_each_input_keeps_its_own_logs() -> None:
    list(count.remote_gen(2))
    latest = count.inputs()[0]
    assert [line.text for line in count.logs(latest.id)] == ["yielding 0", "yielding 1"]


def test_stopping_early_cancels_the_input() -> None:
    stream = endless.remote_gen()
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    info = endless.inputs()[0]
    deadline = 50
    while info.status == "running" and deadline:
        threading.Event().wait(0.02)
        info, deadline = endless.inputs()[0], deadline - 1
    assert info.status == "cancelled"


def test_an_error_after_some_values_is_raised_after_them() -> None:
    seen = []
    with pytest.raises(ValueError, match="boom"):
        for value in fails_after_one.remote_gen():
            seen.append(value)
    assert seen == [1]


def test_generator_functions_refuse_the_other_verbs_as_on_modal() -> None:
    with pytest.raises(modal.exception.InvalidError, match="remote_gen"):
        count.remote(1)
    with pytest.raises(modal.exception.InvalidError, match="remote_gen"):
        count.map([1])

    @app.function()
    def plain(x: int) -> int:
        return x

    with pytest.raises(modal.exception.InvalidError, match="non-generator"):
        list(plain.remote_gen(1))


def test_local_runs_the_generator_itself() -> None:
    assert list(count.local(2)) == [0, 1]


def test_generator_methods_and_is_generator_on_method() -> None:
    @app.cls()
    class Streams:
        prefix: str = modal.parameter(default="p")

        @modal.method()
        def letters(self, word: str):
            yield from (f"{self.prefix}{c}" for c in word)

        @modal.method(is_generator=True)
        def built(self, n: int):
            return iter(range(n))  # not a generator function, yet it streams

    assert list(Streams().letters.remote_gen("ab")) == ["pa", "pb"]
    assert list(Streams(prefix="q").letters.remote_gen("c")) == ["qc"]
    assert list(Streams().built.remote_gen(3)) == [0, 1, 2]


def test_other_backends_are_refused_clearly() -> None:
    @app.function()
    def in_a_process():
        yield 1

    concur_nb.function(backend="process")(in_a_process)  # moved to a worker process
    with pytest.raises(modal.exception.InvalidError, match="in-process backends"):
        list(in_a_process.remote_gen())
    in_a_process.shutdown()


def test_an_async_consumer_stopping_early_cancels_an_async_input() -> None:
    cancelled = []

    @app.function()
    async def ticks():
        try:
            i = 0
            while True:
                await asyncio.sleep(0.001)
                yield i
                i += 1
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def take_three() -> list[int]:
        stream = ticks.remote_gen.aio()
        values = [await stream.__anext__() for _ in range(3)]
        await stream.aclose()
        return values

    assert asyncio.run(take_three()) == [0, 1, 2]
    for _ in range(200):  # the cancellation reaches the input's task a moment later
        if cancelled and ticks.inputs()[0].status != "running":
            break
        threading.Event().wait(0.01)
    assert ticks.inputs()[0].status == "cancelled"
    assert cancelled == [True]


def test_concurrent_consumers_each_get_their_own_stream() -> None:
    results: dict[int, list[int]] = {}

    def consume(n: int) -> None:
        results[n] = list(count.remote_gen(n))

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(10, 18)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {n: list(range(n)) for n in range(10, 18)}
