"""Placement and caps with real threads and event loops."""

from __future__ import annotations

import asyncio
import threading

import concur_nb
from tests.conftest import wait_until


class Gauge:
    """Counts inputs running at once, and the most ever seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_sync_inputs_never_exceed_max_inputs_and_none_waits_beside_a_free_slot() -> None:
    gauge, release = Gauge(), threading.Event()

    @concur_nb.concurrent(max_inputs=4)
    def hold(x: int) -> int:
        gauge.enter()
        release.wait(10)
        gauge.leave()
        return x

    call = hold.spawn_map(range(10))
    wait_until(lambda: gauge.now == 4)
    snap = hold.snapshot()
    assert (snap.in_flight, snap.queued, snap.slots_in_use) == (4, 6, 4)
    release.set()
    assert call.get(timeout=10) == list(range(10))
    assert gauge.peak == 4


def test_async_inputs_run_as_tasks_up_to_max_inputs_on_one_loop() -> None:
    loops: set[int] = set()
    gauge = Gauge()

    @concur_nb.concurrent(max_inputs=50)
    async def nap(x: int) -> int:
        loops.add(id(asyncio.get_running_loop()))
        gauge.enter()
        await asyncio.sleep(0.05)
        gauge.leave()
        return x

    assert list(nap.map(range(200))) == list(range(200))
    assert gauge.peak == 50
    assert len(loops) == 1


def test_lowering_max_inputs_mid_run_cancels_nothing_and_stops_new_starts() -> None:
    gauge, release = Gauge(), threading.Event()

    @concur_nb.concurrent(max_inputs=6)
    def hold(x: int) -> int:
        gauge.enter()
        release.wait(10)
        gauge.leave()
        return x

    call = hold.spawn_map(range(12))
    wait_until(lambda: gauge.now == 6)
    hold.update(max_inputs=2)
    assert gauge.now == 6  # nothing running was cancelled
    release.set()
    assert call.get(timeout=10) == list(range(12))
    assert hold.snapshot().cancelled == 0
    assert hold.settings.max_inputs == 2


def test_raising_max_inputs_mid_run_starts_queued_inputs_at_once() -> None:
    gauge, release = Gauge(), threading.Event()

    @concur_nb.concurrent(max_inputs=2)
    def hold(x: int) -> int:
        gauge.enter()
        release.wait(10)
        gauge.leave()
        return x

    call = hold.spawn_map(range(8))
    wait_until(lambda: gauge.now == 2)
    hold.update(max_inputs=5)
    wait_until(lambda: gauge.now == 5, what="slots follow the new max_inputs")
    release.set()
    call.get(timeout=10)


def test_containers_burst_to_max_inputs_while_new_ones_start() -> None:
    """With a slow cold start, the running container takes inputs up to max_inputs."""
    gauge, release, may_start = Gauge(), threading.Event(), threading.Event()
    started: list[int] = []

    @concur_nb.function(max_containers=2)
    @concur_nb.concurrent(max_inputs=4, target_inputs=2)
    class Worker:
        @concur_nb.enter()
        def load(self) -> None:
            started.append(1)
            if len(started) > 1:
                may_start.wait(10)  # the second container's cold start is slow

        @concur_nb.method()
        def work(self, x: int) -> int:
            gauge.enter()
            release.wait(10)
            gauge.leave()
            return x

    call = Worker().work.spawn_map(range(6))
    wait_until(lambda: gauge.now == 4, what="first container bursts to max_inputs")
    snap = Worker.snapshot()
    statuses = sorted(c.status for c in snap.containers)
    assert statuses == ["running", "starting"]
    assert [c.in_use for c in snap.containers if c.status == "running"] == [4]
    may_start.set()
    wait_until(lambda: gauge.now == 6, what="new container takes the queue")
    release.set()
    assert call.get(timeout=10) == list(range(6))


def test_inputs_fill_containers_to_target_before_bursting() -> None:
    release = threading.Event()

    @concur_nb.function(min_containers=2, max_containers=2)
    @concur_nb.concurrent(max_inputs=5, target_inputs=3)
    def hold(x: int) -> int:
        release.wait(10)
        return x

    wait_until(lambda: sum(c.status == "running" for c in hold.snapshot().containers) == 2)
    call = hold.spawn_map(range(6))
    wait_until(lambda: hold.snapshot().in_flight == 6)
    assert [c.in_use for c in hold.snapshot().containers] == [3, 3]
    more = hold.spawn_map(range(2))
    wait_until(lambda: hold.snapshot().in_flight == 8)
    # 3 + 3 up to target, then the two above target go to the least loaded: 4 + 4.
    assert [c.in_use for c in hold.snapshot().containers] == [4, 4]
    release.set()
    call.get(timeout=10)
    more.get(timeout=10)


def test_class_methods_share_containers_and_run_concurrently() -> None:
    both_running = threading.Barrier(2, timeout=5)
    events: list[str] = []

    @concur_nb.concurrent(max_inputs=4)
    class Service:
        @concur_nb.enter()
        def connect(self) -> None:
            events.append("enter")
            self.prefix = "svc"

        @concur_nb.method()
        def read(self, key: str) -> str:
            both_running.wait()
            return f"{self.prefix}:read:{key}"

        @concur_nb.method()
        async def write(self, key: str) -> str:
            await asyncio.to_thread(both_running.wait)
            return f"{self.prefix}:write:{key}"

        @concur_nb.exit()
        def close(self) -> None:
            events.append("exit")

    service = Service()
    reading = service.read.spawn("a")
    writing = service.write.spawn("b")
    assert reading.get(timeout=10) == "svc:read:a"
    assert writing.get(timeout=10) == "svc:write:b"
    assert len(Service.snapshot().containers) == 1
    assert events == ["enter"]
    Service.shutdown()
    assert events == ["enter", "exit"]


def test_functions_can_call_other_concurrent_functions() -> None:
    @concur_nb.concurrent(max_inputs=8)
    def square(x: int) -> int:
        return x * x

    @concur_nb.concurrent(max_inputs=8)
    def sum_of_squares(n: int) -> int:
        return sum(square.map(range(n)))

    @concur_nb.concurrent(max_inputs=8)
    async def async_sum(n: int) -> int:
        return sum([y async for y in square.map.aio(range(n))])

    assert list(sum_of_squares.map([3, 4])) == [5, 14]
    assert async_sum.remote(4) == 14


def test_map_with_unordered_outputs_and_return_exceptions() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def check(x: int) -> int:
        if x % 3 == 0:
            raise ValueError(f"bad {x}")
        return x

    out = list(check.map(range(9), order_outputs=False, return_exceptions=True))
    assert sorted(v for v in out if isinstance(v, int)) == [1, 2, 4, 5, 7, 8]
    assert sorted(str(e) for e in out if isinstance(e, ValueError)) == ["bad 0", "bad 3", "bad 6"]


def test_starmap_for_each_and_gather() -> None:
    seen: list[int] = []

    @concur_nb.concurrent(max_inputs=4)
    def add(a: int, b: int) -> int:
        seen.append(a + b)
        return a + b

    assert list(add.starmap([(1, 2), (3, 4)])) == [3, 7]
    add.for_each([1, 2], [10, 20])
    assert sorted(seen) == [3, 7, 11, 22]
    calls = [add.spawn(i, i) for i in range(3)]
    assert concur_nb.gather(*calls) == [0, 2, 4]

    async def main() -> list[int]:
        spawned = [await add.spawn.aio(i, 1) for i in range(3)]
        return await concur_nb.gather.aio(*spawned)

    assert asyncio.run(main()) == [1, 2, 3]


def test_local_runs_in_the_caller_without_the_engine() -> None:
    @concur_nb.concurrent(max_inputs=2)
    def whoami() -> str | None:
        return concur_nb.current_input_id()

    assert whoami.local() is None
    assert whoami.remote().startswith("in-")
