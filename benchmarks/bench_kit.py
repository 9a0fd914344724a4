"""What the engine benchmarks share: timings, rows and checks, the user functions, and
the runners that time concur_nb and its peers (``bench_engine.py``, ``bench_latency.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import concur_nb

try:
    import joblib
except ImportError:  # optional peer
    joblib = None

try:
    import dask.bag

    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False

perf = time.perf_counter


@dataclasses.dataclass(frozen=True)
class Timing:
    wall: float  # seconds
    cpu: float  # process CPU seconds, all threads: less sensitive to a busy machine than wall
    gcs: tuple[int, int, int] = (0, 0, 0)  # garbage collections per generation during the run


class _GcPauses:
    """The longest pause of the cyclic garbage collector since ``reset`` (it stops every
    thread: one full collection shows up in a p99 latency)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0
        gc.callbacks.append(self._on_gc)

    def reset(self) -> None:
        self.longest = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = perf()
        else:
            self.longest = max(self.longest, perf() - self._began)


GC_PAUSES = _GcPauses()


def _collections() -> tuple[int, int, int]:
    gen0, gen1, gen2 = (g["collections"] for g in gc.get_stats())
    return gen0, gen1, gen2


class Stopwatch:
    def __init__(self) -> None:
        GC_PAUSES.reset()
        self._gcs = _collections()
        self._wall, self._cpu = perf(), time.process_time()

    def stop(self) -> Timing:
        wall, cpu = perf() - self._wall, time.process_time() - self._cpu
        gcs = tuple(b - a for a, b in zip(self._gcs, _collections()))
        return Timing(wall, cpu, gcs)  # type: ignore[arg-type]


@dataclasses.dataclass
class Row:
    workload: str
    runner: str
    api: str
    timing: Timing
    inputs: int
    efficiency: float | None = None
    note: str = ""

    @property
    def wall(self) -> float:
        return self.timing.wall

    @property
    def us_per_input(self) -> float:
        return self.wall / self.inputs * 1e6


@dataclasses.dataclass
class Check:
    name: str
    target: str
    measured: str
    passed: bool


ROWS: list[Row] = []
CHECKS: list[Check] = []


def record(row: Row) -> Row:
    ROWS.append(row)
    eff = f"  eff {row.efficiency:.3f}" if row.efficiency is not None else ""
    print(
        f"  {row.workload:<6} {row.runner:<34} {row.wall:8.3f} s  "
        f"{row.us_per_input:9.2f} us/input  cpu {row.timing.cpu:6.2f} s{eff}  {row.note}",
        flush=True,
    )
    return row


def check(name: str, target: str, measured: str, passed: bool) -> None:
    CHECKS.append(Check(name, target, measured, passed))


def best_of(repeats: int, run: Callable[[], Timing]) -> Timing:
    times = []
    for _ in range(repeats):
        gc.collect()
        times.append(run())
    return min(times, key=lambda t: t.wall)


def run_async(make: Callable[[], Awaitable[Timing]]) -> Timing:
    """Run a coroutine that times itself (inside its loop)."""

    async def main() -> Timing:
        return await make()

    return asyncio.run(main())


# --- the user functions -----------------------------------------------------------------------


def noop(x: int) -> int:
    return x


async def anoop(x: int) -> int:
    return x


def make_sleeper(seconds: float) -> Callable[[int], int]:
    def sleeper(x: int) -> int:
        time.sleep(seconds)
        return x

    return sleeper


def make_async_sleeper(seconds: float) -> Callable[[int], Awaitable[int]]:
    async def asleeper(x: int) -> int:
        await asyncio.sleep(seconds)
        return x

    return asleeper


def concurrent_fn(fn: Any, max_inputs: int, name: str, **function_settings: Any) -> Any:
    """Register ``fn`` under ``name`` (a fresh pool each time)."""
    handle = concur_nb.concurrent(max_inputs=max_inputs)(fn)
    return concur_nb.function(name=name, **function_settings)(handle)


def time_sync_map(f: Any, n: int) -> Timing:
    watch = Stopwatch()
    out = list(f.map(range(n)))
    wall = watch.stop()
    assert len(out) == n and out[-1] == n - 1
    return wall


def time_aio_map(f: Any, n: int) -> Timing:
    async def go() -> Timing:
        watch = Stopwatch()
        out = [y async for y in f.map.aio(range(n))]
        wall = watch.stop()
        assert len(out) == n and out[-1] == n - 1
        return wall

    return run_async(go)


# --- peers ------------------------------------------------------------------------------------


def time_thread_pool(fn: Callable[[int], int], workers: int, n: int) -> Timing:
    watch = Stopwatch()
    with ThreadPoolExecutor(workers) as pool:
        out = list(pool.map(fn, range(n)))
    wall = watch.stop()
    assert len(out) == n
    return wall


def time_joblib(fn: Callable[[int], int], workers: int, n: int) -> Timing:
    assert joblib is not None
    watch = Stopwatch()
    out = joblib.Parallel(n_jobs=workers, backend="threading")(
        joblib.delayed(fn)(i) for i in range(n)
    )
    wall = watch.stop()
    assert len(out) == n
    return wall


def time_dask(fn: Callable[[int], int], workers: int, n: int) -> Timing:
    watch = Stopwatch()
    bag = dask.bag.from_sequence(range(n), npartitions=workers)
    out = bag.map(fn).compute(scheduler="threads", num_workers=workers)
    wall = watch.stop()
    assert len(out) == n
    return wall


def time_semaphore_gather(fn: Callable[[int], Awaitable[int]], limit: int, n: int) -> Timing:
    async def go() -> Timing:
        sem = asyncio.Semaphore(limit)

        async def one(x: int) -> int:
            async with sem:
                return await fn(x)

        watch = Stopwatch()
        out = await asyncio.gather(*(one(x) for x in range(n)))
        wall = watch.stop()
        assert len(out) == n
        return wall

    return run_async(go)


def time_worker_tasks(fn: Callable[[int], Awaitable[int]], workers: int, n: int) -> Timing:
    """A fixed set of worker tasks pulling from one shared iterator."""

    async def go() -> Timing:
        items: Iterator[int] = iter(range(n))
        out: list[int | None] = [None] * n

        async def worker() -> None:
            for x in items:
                out[x] = await fn(x)

        watch = Stopwatch()
        await asyncio.gather(*(worker() for _ in range(workers)))
        wall = watch.stop()
        assert out[-1] == n - 1
        return wall

    return run_async(go)


def traced_growth(run: Callable[[], object]) -> int:
    """Peak bytes allocated during ``run`` above what was allocated before (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


# --- workloads --------------------------------------------------------------------------------
