"""``modal.Dict`` and ``modal.Queue``: in-process, shared by inputs on threads and event loops,
with Modal's methods, blocking rules and ``.aio`` twins."""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

import concur_nb.modal as modal

app = modal.App("stores")


def test_a_named_dict_is_shared_and_missing_names_are_not_found() -> None:
    with pytest.raises(modal.exception.NotFoundError, match="create_if_missing=True"):
        modal.Dict.from_name("never-made")
    d = modal.Dict.from_name("shared-dict", create_if_missing=True)
    d["a"] = 1
    assert modal.Dict.from_name("shared-dict").get("a") == 1
    with pytest.raises(RuntimeError, match="from_name"):
        modal.Dict()


def test_dict_methods_behave_as_modals() -> None:
    with modal.Dict.ephemeral() as d:
        assert d.put("k", [1]) is True
        assert d.put("k", [2], skip_if_exists=True) is False
        value = d.get("k")
        value.append(99)  # a copy: the stored value does not change
        assert d["k"] == [1]
        d.update({"x": 1}, y=2)
        assert d.len() == 3 and d.contains("x") and "y" in d
        assert sorted(d.keys()) == ["k", "x", "y"]
        assert sorted(d.items()) == [("k", [1]), ("x", 1), ("y", 2)]
        assert d.pop("x") == 1 and d.pop("x", "gone") == "gone"
        with pytest.raises(KeyError):
            d.pop("x")
        d.clear()
        assert d.len() == 0 and d.get("k", "none") == "none"


def test_inputs_on_threads_and_tasks_update_one_dict() -> None:
    counts = modal.Dict.from_name("counts", create_if_missing=True)

    @app.function()
    @modal.concurrent(max_inputs=8)
    def record(i: int) -> None:
        counts.put(f"sync-{i}", i)

    @app.function()
    @modal.concurrent(max_inputs=8)
    async def record_async(i: int) -> None:
        await counts.put.aio(f"async-{i}", i)
        assert await counts.contains.aio(f"async-{i}")

    record.for_each(range(20))
    record_async.for_each(range(20))
    assert counts.len() == 40

    async def gather_values() -> list[int]:
        return [v async for v in counts.values.aio()]

    assert sorted(asyncio.run(gather_values())) == sorted([*range(20), *range(20)])


def test_queue_is_fifo_per_partition_and_nonblocking_get_returns_none() -> None:
    with modal.Queue.ephemeral() as q:
        q.put(1)
        q.put_many([2, 3])
        q.put("other", partition="p")
        assert q.len() == 3 and q.len(partition="p") == 1 and q.len(total=True) == 4
        assert [v for v in q.iterate()] == [1, 2, 3]  # iterate does not remove
        assert q.get() == 1
        assert q.get_many(5) == [2, 3]
        assert q.get(block=False) is None
        assert q.get_many(2, block=False) == []
        assert q.get(partition="p") == "other"
        with pytest.raises(modal.exception.InvalidError, match="between 1 and 64"):
            q.put(1, partition="")
        q.put(4)
        q.clear(all=True)
        assert q.len(total=True) == 0


def test_a_blocking_get_raises_queue_empty_after_its_timeout() -> None:
    with modal.Queue.ephemeral() as q, pytest.raises(queue.Empty):
        q.get(timeout=0.05)


def test_a_full_partition_refuses_a_nonblocking_put() -> None:
    with modal.Queue.ephemeral() as q:
        q.put_many(list(range(5000)))
        with pytest.raises(queue.Full):
            q.put(1, block=False)
        assert q.get() == 0
        q.put(5000, block=False)  # room again


def test_a_blocked_get_wakes_when_another_thread_puts() -> None:
    q = modal.Queue.from_name("handoff", create_if_missing=True)
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(q.get(timeout=5)))
    reader.start()
    q.put("hello")
    reader.join(5)
    assert got == ["hello"]


def test_producers_and_consumers_across_inputs_and_event_loops() -> None:
    jobs = modal.Queue.from_name("jobs", create_if_missing=True)

    @app.function()
    @modal.concurrent(max_inputs=4)
    def produce(i: int) -> None:
        jobs.put(i)

    @app.function()
    @modal.concurrent(max_inputs=4)
    async def consume(n: int) -> list[int]:
        return [await jobs.get.aio(timeout=5) for _ in range(n)]

    async def run() -> list[list[int]]:
        consumers = [consume.remote.aio(5) for _ in range(4)]
        produced = asyncio.get_running_loop().run_in_executor(
            None, lambda: produce.for_each(range(20))
        )
        results = await asyncio.gather(*consumers)
        await produced
        return results

    results = asyncio.run(run())
    assert sorted(v for part in results for v in part) == list(range(20))


def test_an_awaited_get_does_not_block_its_event_loop() -> None:
    async def run() -> tuple[object, int]:
        q = modal.Queue.from_name("async-wait", create_if_missing=True)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        tick_task = asyncio.ensure_future(ticker())
        waiter = asyncio.ensure_future(q.get.aio(timeout=5))
        await asyncio.sleep(0.02)
        threading.Thread(target=q.put, args=("done",)).start()
        value = await waiter
        tick_task.cancel()
        return value, ticks

    value, ticks = asyncio.run(run())
    assert value == "done" and ticks > 10


def test_async_iterate_waits_for_items_up_to_its_poll_timeout() -> None:
    async def run() -> list[int]:
        with modal.Queue.ephemeral() as q:
            await q.put_many.aio([1, 2])
            threading.Timer(0.02, q.put, args=(3,)).start()
            return [v async for v in q.iterate.aio(item_poll_timeout=0.3) if v != 3] + [
                await q.len.aio()
            ]

    # the iterator ends 0.3 s after the last item; it saw 3 arrive late (and left it in place)
    assert asyncio.run(asyncio.wait_for(run(), 5)) == [1, 2, 3]


def test_many_threads_lose_and_duplicate_nothing() -> None:
    with modal.Queue.ephemeral() as q, modal.Dict.ephemeral() as seen:
        per_producer, producers, consumers = 300, 4, 4
        taken: list[list[int]] = [[] for _ in range(consumers)]

        def produce(p: int) -> None:
            for i in range(per_producer):
                q.put(p * per_producer + i)

        def consume(c: int) -> None:
            while True:
                try:
                    value = q.get(timeout=0.5)
                except queue.Empty:
                    return
                taken[c].append(value)
                seen.put(value, c)

        threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
        threads += [threading.Thread(target=consume, args=(c,)) for c in range(consumers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        everything = sorted(v for part in taken for v in part)
        assert everything == list(range(producers * per_producer))
        assert seen.len() == producers * per_producer
