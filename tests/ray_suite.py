"""Ray containers on a real two-node cluster: run only inside ``tests/ray_namespace.py``.

Not collected on its own (the name does not match ``test_*.py``): ``tests/test_ray.py`` runs
this file in one pytest process inside a network namespace beside a head node (1 CPU) and a
worker node (1 CPU, two logical GPUs), and reports each test here as one of its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import ray

import concur_nb
from concur_nb import CallCancelledError, FunctionTimeoutError
from concur_nb._containers.loop_choice import is_uvloop
from tests.conftest import wait_until

# Functions here travel to the actors by value: the actors cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

if not os.environ.get("CONCUR_NB_RAY_NS"):
    pytest.exit("run tests/ray_suite.py through tests/test_ray.py (it needs the namespace)", 2)

UP = 60.0  # seconds a container may take to be placed and started on this 2-core machine


def backend(**options: Any) -> Any:
    return concur_nb.ray(**{"num_cpus": 0, **options})


def running(fn: Any, count: int) -> bool:
    return sum(c.status == "running" for c in fn.snapshot().containers) >= count


def max_overlap(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    level = peak = 0
    for _, step in edges:
        level += step
        peak = max(peak, level)
    return peak


def test_one_container_per_gpu_each_reporting_its_own_id() -> None:
    @concur_nb.function(backend=backend(num_gpus=1), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=2)
    def where(x: int) -> tuple[str | None, tuple[int, ...]]:
        time.sleep(0.05)
        return os.environ.get("CUDA_VISIBLE_DEVICES"), tuple(ray.get_gpu_ids())

    wait_until(lambda: running(where, 2), UP, "two GPU containers")
    containers = where.snapshot().containers
    assert sorted(tuple(c.info["gpu_ids"]) for c in containers) == [("0",), ("1",)]
    assert {c.info["cuda_visible_devices"] for c in containers} == {"0", "1"}
    assert all(c.gpus and c.host.startswith("ray:127.0.0.1 node ") for c in containers)
    gpu_node = {c.info["node_id"] for c in containers}
    assert len(gpu_node) == 1  # only the worker node has GPUs
    seen = set(where.map(range(20)))
    assert seen <= {("0", (0,)), ("1", (1,))} and len(seen) == 2


def test_a_container_ray_cannot_place_yet_is_pending_not_failed() -> None:
    @concur_nb.function(backend=backend(num_gpus=1), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=1)
    def hold(x: int) -> int:
        return x

    @concur_nb.function(backend=backend(num_gpus=1), max_containers=1)
    @concur_nb.concurrent(max_inputs=1)
    def late(x: int) -> int:
        return x + 1

    wait_until(lambda: running(hold, 2), UP, "both GPUs taken")
    call = late.spawn(1)
    wait_until(lambda: late.snapshot().containers, 10, "a container asked for")
    time.sleep(2.0)  # Ray had time to place it, had a GPU been free
    (pending,) = late.snapshot().containers
    assert pending.status == "starting"
    assert pending.info["status"] == "pending: waiting for Ray to place it (needs 1 GPU)"
    assert not late.snapshot().failed and not call.done()
    hold.shutdown()  # a GPU frees up: Ray places the pending actor
    assert call.get(timeout=UP) == 2


def test_cap_per_container_holds_through_a_burst_then_scale_up() -> None:
    @concur_nb.function(backend=backend(), max_containers=2)
    @concur_nb.concurrent(max_inputs=4, target_inputs=2)
    def span(x: int) -> tuple[int, float, float]:
        start = time.time()
        time.sleep(0.4)
        return os.getpid(), start, time.time()

    peak_alone = 0
    call = span.spawn_map(range(40))
    while not call.done():
        containers = span.snapshot().containers
        if sum(c.status == "running" for c in containers) == 1:
            peak_alone = max([peak_alone] + [c.in_use for c in containers])
        time.sleep(0.02)
    rows = call.get(timeout=UP)
    by_pid: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for pid, start, end in rows:
        by_pid[pid].append((start, end))
    assert peak_alone == 4  # burst to max_inputs on the one container while the next starts
    assert len(by_pid) == 2  # then a second container, past target_inputs
    assert all(max_overlap(spans) <= 4 for spans in by_pid.values())


def test_each_of_100_concurrent_inputs_logs_only_its_own_lines() -> None:
    @concur_nb.function(backend=backend())
    @concur_nb.concurrent(max_inputs=100)
    def chatty(n: int) -> str | None:
        for step in range(3):
            print(f"input {n} step {step}")
            time.sleep(0.01)
        return concur_nb.current_input_id()

    @concur_nb.function(backend=backend())
    @concur_nb.concurrent(max_inputs=100)
    async def chatty_async(n: int) -> str | None:
        for step in range(3):
            print(f"task {n} step {step}")
            await asyncio.sleep(0.01)
        return concur_nb.current_input_id()

    for fn, word in ((chatty, "input"), (chatty_async, "task")):
        ids = list(fn.map(range(100)))
        assert len(set(ids)) == 100
        for n, input_id in enumerate(ids):
            lines = [line.text for line in fn.logs(input_id)]
            assert lines == [f"{word} {n} step {s}" for s in range(3)]


def test_sync_and_async_cancellation_spare_the_siblings() -> None:
    @concur_nb.function(backend=backend())
    @concur_nb.concurrent(max_inputs=4)
    def spin(seconds: float) -> str:
        deadline = time.time() + seconds
        while time.time() < deadline:
            time.sleep(0.01)
        return "done"

    @concur_nb.function(backend=backend())
    @concur_nb.concurrent(max_inputs=4)
    async def nap(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    for fn in (spin, nap):
        victim, sibling = fn.spawn(60.0), fn.spawn(1.5)
        wait_until(lambda fn=fn: fn.snapshot().slots_in_use == 2, UP, "both running")
        started = time.monotonic()
        victim.cancel()
        with pytest.raises(CallCancelledError):
            victim.get(timeout=10)
        assert time.monotonic() - started < 5
        assert sibling.get(timeout=10) == "done"  # same container, untouched


def test_timeouts_and_retries() -> None:
    @concur_nb.function(backend=backend(), timeout=0.5)
    @concur_nb.concurrent(max_inputs=2)
    def slow(x: int) -> int:
        time.sleep(5)
        return x

    with pytest.raises(FunctionTimeoutError):
        slow.remote(1)

    marks = Path(os.environ["CONCUR_NB_RAY_TEMP"]) / "attempts"
    marks.mkdir()

    @concur_nb.function(
        backend=backend(), retries=concur_nb.Retries(max_retries=2, initial_delay=0.05)
    )
    @concur_nb.concurrent(max_inputs=4)
    def flaky(x: int) -> int:
        (marks / f"{x}-{time.monotonic_ns()}").touch()
        if len(list(marks.glob(f"{x}-*"))) < 3:
            raise RuntimeError("not yet")
        return x

    assert sorted(flaky.map(range(4))) == [0, 1, 2, 3]
    assert len(list(marks.iterdir())) == 12  # two failures and a success each, no more


def test_an_input_whose_arguments_cannot_be_pickled_fails_alone() -> None:
    @concur_nb.function(backend=backend(), max_containers=1)
    @concur_nb.concurrent(max_inputs=4)
    def echo(x: Any) -> Any:
        return x

    out = list(echo.map([1, threading.Lock(), 3], return_exceptions=True))
    assert out[0] == 1 and out[2] == 3
    assert "the input's arguments could not be pickled" in str(out[1])
    assert [c.status for c in echo.snapshot().containers] == ["running"]  # it lives on


def test_batching_hands_the_function_lists() -> None:
    @concur_nb.function(backend=backend())
    @concur_nb.concurrent(max_inputs=2)
    @concur_nb.batched(max_batch_size=4, wait_ms=200)
    def sizes(xs: list[int]) -> list[tuple[int, int]]:
        return [(x, len(xs)) for x in xs]

    out = list(sizes.map(range(10)))
    assert [x for x, _ in out] == list(range(10))
    assert all(1 <= n <= 4 for _, n in out) and max(n for _, n in out) == 4


def test_the_actors_loop_follows_the_uvloop_choice_made_in_the_kernel() -> None:
    async def loop_kind(_: int) -> str:
        return "uvloop" if is_uvloop(asyncio.get_running_loop()) else "asyncio"

    try:
        for choice, expected in ((False, "asyncio"), (True, "uvloop")):
            concur_nb.set_uvloop(choice)
            fn = concur_nb.function(backend=backend(), name=f"loop_kind_{choice}")(
                concur_nb.concurrent(max_inputs=2)(loop_kind)
            )
            try:
                assert fn.remote(0).split(".")[0] == expected
            finally:
                fn.shutdown()
    finally:
        concur_nb.set_uvloop(None)


def test_enter_and_exit_run_once_per_container() -> None:
    trace = Path(os.environ["CONCUR_NB_RAY_TEMP"]) / "lifecycle"
    trace.mkdir()

    @concur_nb.function(backend=backend(), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=4)
    class Model:
        @concur_nb.enter()
        def load(self) -> None:
            (trace / f"enter-{os.getpid()}-{time.monotonic_ns()}").touch()
            self.weight = 10

        @concur_nb.method()
        def predict(self, x: int) -> tuple[int, int]:
            time.sleep(0.05)
            return x * self.weight, os.getpid()

        @concur_nb.exit()
        def close(self) -> None:
            (trace / f"exit-{os.getpid()}-{time.monotonic_ns()}").touch()

    model = Model()
    wait_until(lambda: running(model.predict, 2), UP, "two containers")
    out = list(model.predict.map(range(40)))
    assert [v for v, _ in out] == [x * 10 for x in range(40)]
    pids = {pid for _, pid in out}
    Model.shutdown()  # type: ignore[attr-defined]
    enters = sorted(p.name.split("-")[1] for p in trace.glob("enter-*"))
    wait_until(lambda: len(list(trace.glob("exit-*"))) == 2, 15, "both exit hooks")
    exits = sorted(p.name.split("-")[1] for p in trace.glob("exit-*"))
    assert enters == exits == sorted(map(str, pids))  # once each, in each container
    assert len(enters) == 2


def test_ray_kill_of_a_container_mid_run_ends_every_input_exactly_once() -> None:
    @concur_nb.function(backend=backend(), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=4)
    def work(x: int) -> int:
        time.sleep(0.5)
        return x

    wait_until(lambda: running(work, 2), UP, "two containers")
    call = work.spawn_map(range(24))
    wait_until(lambda: all(c.in_use for c in work.snapshot().containers), 10, "both busy")
    victim = work.snapshot().containers[0]
    ray.kill(ray.get_actor(victim.info["actor"]))
    assert call.get(timeout=UP) == list(range(24))
    snap = work.snapshot()
    assert (snap.submitted, snap.succeeded, snap.failed, snap.cancelled) == (24, 24, 0, 0)
    assert any(f"container {victim.id} failed" in w for w in snap.warnings)
    assert max(i.attempts for i in work.inputs(100)) <= 2  # rescheduled once, bounded


def test_terminate_container_on_cancel_reschedules_the_siblings() -> None:
    @concur_nb.function(backend=backend(), max_containers=1)
    @concur_nb.concurrent(max_inputs=4)
    def work(seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    victim = work.spawn(60.0)
    siblings = [work.spawn(1.0) for _ in range(3)]
    wait_until(lambda: work.snapshot().slots_in_use == 4, UP, "all four running")
    victim.cancel(terminate_container=True)
    with pytest.raises(CallCancelledError):
        victim.get(timeout=10)
    assert [s.get(timeout=UP) for s in siblings] == ["done"] * 3


def test_soak_of_5000_inputs_with_failures_and_cancels_accounts_for_each() -> None:
    @concur_nb.function(backend=backend(), max_containers=2)
    @concur_nb.concurrent(max_inputs=100, target_inputs=50)
    async def jitter(x: int) -> int:
        await asyncio.sleep(random.random() * 0.01)
        if x % 37 == 0:
            raise ValueError(f"bad {x}")
        return x

    rng = random.Random(7)
    singles = [jitter.spawn(x) for x in range(5000, 5300)]
    bulk = jitter.spawn_map(range(4700))
    cancelled = {i for i in range(len(singles)) if rng.random() < 0.3}
    for i in sorted(cancelled):
        singles[i].cancel()
    ends = {"ok": 0, "error": 0, "cancelled": 0}
    for call in singles:
        try:
            call.get(timeout=UP)
            ends["ok"] += 1
        except CallCancelledError:
            ends["cancelled"] += 1
        except ValueError:
            ends["error"] += 1
    try:
        bulk.get(timeout=UP)
    except ValueError:
        pass
    wait_until(lambda: bulk.done(), UP, "the map to end")
    snap = jitter.snapshot()
    assert snap.submitted == 5000
    assert snap.succeeded + snap.failed + snap.cancelled == 5000
    assert snap.queued == 0 and snap.in_flight == 0
    bulk_failures = sum(1 for x in range(4700) if x % 37 == 0)
    assert snap.failed == bulk_failures + ends["error"]  # only the multiples of 37 fail
    assert snap.succeeded == 4700 - bulk_failures + ends["ok"]
    assert snap.cancelled == ends["cancelled"] and 0 < ends["cancelled"] <= len(cancelled)
    assert sum(ends.values()) == 300
    failed_ids = [i for i in jitter.inputs(5000) if i.status == "failed"]
    assert all("bad" in (i.error or "") for i in failed_ids)


def test_shutdown_leaves_no_actor_alive() -> None:
    @concur_nb.function(backend=backend(), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=2)
    def idle(x: int) -> int:
        return x

    wait_until(lambda: running(idle, 2), UP, "two containers")
    names = {c.info["actor"] for c in idle.snapshot().containers}
    assert names <= {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)}
    for handle in concur_nb.functions():
        handle.shutdown()
    alive = [
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["name"].startswith("concur_nb-")
    ]
    assert alive == []
    states = ray._private.state.actors()  # the GCS's table, with the dead ones
    ours = [a for a in states.values() if a.get("Name", "").startswith("concur_nb-")]
    assert ours and all(a["State"] == "DEAD" for a in ours)


def gpu_raylet_pid() -> int:
    """The pid of the raylet of the node with GPUs (this PID namespace's /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        listed = [a for a in argv if a.startswith(b"--static_resource_list=")]
        if argv[0].endswith(b"raylet") and listed and b",GPU," in listed[0]:
            return int(entry.name)
    raise AssertionError("no raylet with GPUs in this namespace")


def test_sigkill_of_a_nodes_raylet_mid_run_ends_every_input_exactly_once() -> None:
    # Last in this file: the GPU node is gone afterwards.
    @concur_nb.function(backend=concur_nb.ray(num_cpus=1), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=4)
    def work(x: int) -> int:
        time.sleep(0.5)
        return x

    # One CPU per node and one per container: Ray must put one container on each node.
    wait_until(lambda: running(work, 2), UP, "a container on each node")
    gpu_node = next(n for n in ray.nodes() if n["Alive"] and n["Resources"].get("GPU"))
    call = work.spawn_map(range(24))
    wait_until(lambda: all(c.in_use for c in work.snapshot().containers), 10, "both busy")
    (doomed,) = [c for c in work.snapshot().containers if c.info["node_id"] == gpu_node["NodeID"]]
    os.kill(gpu_raylet_pid(), 9)
    assert call.get(timeout=UP) == list(range(24))
    snap = work.snapshot()
    assert (snap.submitted, snap.succeeded, snap.failed, snap.cancelled) == (24, 24, 0, 0)
    assert any(f"container {doomed.id} failed" in w for w in snap.warnings)
    assert max(i.attempts for i in work.inputs(100)) <= 2
    # Its replacement waits for a CPU that no live node has free: pending, not failed.
    pending = [c for c in snap.containers if c.status == "starting"]
    assert [c.info["status"] for c in pending] == [
        "pending: waiting for Ray to place it (needs 1 CPU)"
    ]
