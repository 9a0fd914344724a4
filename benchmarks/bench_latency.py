"""W5: latency at a steady arrival rate, for three caller styles, concur_nb beside a
``ThreadPoolExecutor`` called the same way (run by ``bench_engine.py``; its method is in that
module's docstring)."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import statistics
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench_kit import (
    GC_PAUSES,
    Row,
    Stopwatch,
    Timing,
    check,
    concurrent_fn,
    perf,
    record,
)

import concur_nb
from concur_nb._context import current_work  # the engine's record of a running input (W5)

W5_SLEEP, W5_LIMIT, W5_RATE = 0.01, 50, 1000.0
W5_CHUNK = 250  # inputs per turn: concur_nb and the peer take turns of a quarter second


class _W5Record:
    """One run's timestamps, by input number: the caller's (arrival, woke up), the function's
    own (started, past its sleep), and for concur_nb the engine's ``Input`` (its clock's
    timestamps: queued, started, finished), taken inside the function so every caller style
    has it."""

    def __init__(self, n: int) -> None:
        self.arrived = [0.0] * n
        self.woke = [0.0] * n
        self.began = [0.0] * n
        self.slept = [0.0] * n
        self.inputs: list[Any] = [None] * n
        self.ids: list[str | None] = [None] * n  # what current_input_id() said in the input
        self.wall = self.cpu = self.longest_gc = 0.0
        self.gcs = (0, 0, 0)

    def add(self, timing: Timing, longest_gc: float) -> None:
        self.wall += timing.wall
        self.cpu += timing.cpu
        self.gcs = tuple(a + b for a, b in zip(self.gcs, timing.gcs))  # type: ignore[assignment]
        self.longest_gc = max(self.longest_gc, longest_gc)


@dataclasses.dataclass
class _W5Run:
    p50: float
    p99: float
    timing: Timing
    longest_gc: float
    worst: list[tuple[float, ...]]  # per input of the slowest 1%: its parts (see ``_W5_PARTS``)
    over: list[float]  # every input's overhead, for the p99 of all runs together


# The parts of an input's overhead (finish - arrival - sleep), caller's and function's clocks;
# for concur_nb the first and last split further by the engine's timestamps.
_W5_PARTS = ("to start", "past sleep", "to wake-up")
_W5_ENGINE_PARTS = ("submit", "queued", "to thread", "report", "wake")


def _w5_result(rec: _W5Record) -> _W5Run:
    n, sleep = len(rec.arrived), W5_SLEEP
    over = [rec.woke[i] - rec.arrived[i] - sleep for i in range(n)]
    order = sorted(range(n), key=over.__getitem__)
    worst = []
    for i in order[-max(1, n // 100) :]:
        parts: tuple[float, ...] = (
            rec.began[i] - rec.arrived[i],
            rec.slept[i] - rec.began[i] - sleep,
            rec.woke[i] - rec.slept[i],
        )
        inp = rec.inputs[i]
        if inp is not None and inp.started_at is not None and inp.finished_at is not None:
            parts += (
                inp.queued_at - rec.arrived[i],
                inp.started_at - inp.queued_at,
                rec.began[i] - inp.started_at,
                inp.finished_at - rec.slept[i],
                rec.woke[i] - inp.finished_at,
            )
        worst.append(parts)
    p99 = over[order[min(n - 1, int(0.99 * n))]]
    timing = Timing(rec.wall, rec.cpu, rec.gcs)
    return _W5Run(statistics.median(over), p99, timing, rec.longest_gc, worst, over)


def _others_busy() -> float | None:
    """CPU seconds the whole machine has been busy (Linux), to tell how much other processes
    took while a workload ran; None where /proc/stat is missing."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def where_the_worst_went(runs: list[_W5Run]) -> str:
    """Where the slowest 1% of inputs of every run spent their extra time, in ms (means): to
    the function's start, its sleep's overrun, from its end to the caller's wake-up; for
    concur_nb, the engine's timestamps split the first into submit (arrival to queued), queued
    (to placed in a slot), to thread (placed to the function's first line), and the last into
    report (the function's end to settled, in the engine) and wake (settled to the caller)."""
    worst = [parts for run in runs for parts in run.worst]
    width = min(len(parts) for parts in worst)

    def mean(k: int) -> float:
        return sum(parts[k] for parts in worst) / len(worst) * 1e3

    if width == len(_W5_PARTS) + len(_W5_ENGINE_PARTS):
        submit, queued, to_thread, report, wake = (mean(3 + k) for k in range(5))
        return (
            f"worst 1% ({len(worst)}): to start {mean(0):.2f} (submit {submit:.2f}, queued "
            f"{queued:.2f}, to thread {to_thread:.2f}), past sleep {mean(1):.2f}, to wake-up "
            f"{mean(2):.2f} (report {report:.2f}, wake {wake:.2f}) ms"
        )
    return (
        f"worst 1% ({len(worst)}): to start {mean(0):.2f}, past sleep {mean(1):.2f}, "
        f"to wake-up {mean(2):.2f} ms"
    )


def gc_pause_note(runs: list[_W5Run]) -> str:
    gen2 = sum(run.timing.gcs[2] for run in runs)
    longest = max(run.longest_gc for run in runs) * 1e3
    return f"; longest GC pause {longest:.1f} ms, {gen2} full collection(s) in {len(runs)} runs"


def _pooled_p99(runs: list[_W5Run]) -> float:
    over = sorted(x for run in runs for x in run.over)
    return over[min(len(over) - 1, int(0.99 * len(over)))]


def _w5_summary(runs: list[_W5Run]) -> tuple[float, str]:
    """The median p99 and the note: its spread over the runs, the p99 of all runs' inputs
    together, p50, where the worst went."""
    p99s = sorted(run.p99 for run in runs)
    p99 = statistics.median(p99s)
    p50 = statistics.median(run.p50 for run in runs)
    note = (
        f"overhead p99 {p99 * 1e3:.2f} ms (runs {p99s[0] * 1e3:.2f}-{p99s[-1] * 1e3:.2f}; "
        f"all runs together {_pooled_p99(runs) * 1e3:.2f}), p50 {p50 * 1e3:.2f} ms; "
        f"{where_the_worst_went(runs)}{gc_pause_note(runs)}"
    )
    return p99, note


Turn = Callable[[_W5Record, int, int], None]  # runs inputs [first, first + count) of a record


def w5(n: int, runs: int) -> None:
    """Latency at a steady arrival rate, for three caller styles.

    Per style, ``runs`` runs of ``n`` inputs for concur_nb and ``n`` for the peer, taking turns
    of ``W5_CHUNK`` inputs (a quarter second) within each run, so a busy stretch of a shared
    machine hits both alike. Each reports the median of its runs' p99s and their spread; the
    verdict is on the ratio of the medians, beside the median of the runs' own ratios.
    """
    sleep, limit, rate = W5_SLEEP, W5_LIMIT, W5_RATE
    print(
        f"W5: {n} inputs arriving at {rate:.0f}/s, each time.sleep({sleep}), {limit} at a time; "
        f"{runs} runs per runner, taking turns of {W5_CHUNK} inputs",
        flush=True,
    )
    now = _W5Record(limit)  # the record the function writes to: the runner whose turn it is

    def fn(x: int) -> str | None:
        began = perf()
        time.sleep(sleep)
        rec = now
        rec.slept[x] = perf()
        rec.began[x] = began
        work = current_work.get()  # the engine's record of this input (None in the peer)
        if work is not None:
            rec.inputs[x] = work.lead  # type: ignore[attr-defined]
        return concur_nb.current_input_id()  # None in the peer's threads

    def open_loop(start_one: Callable[[int], Awaitable[Awaitable[Any]]]) -> Turn:
        """An asyncio caller: input i starts at i/rate s, a task per input awaits it."""

        def turn(rec: _W5Record, first: int, count: int) -> None:
            async def wait(i: int, result: Awaitable[Any]) -> None:
                rec.ids[i] = await result
                rec.woke[i] = perf()

            async def main() -> None:
                waiters = []
                t0 = perf()
                for i in range(first, first + count):
                    if (delay := t0 + (i - first) / rate - perf()) > 0:
                        await asyncio.sleep(delay)
                    rec.arrived[i] = perf()
                    pending = await start_one(i)
                    waiters.append(asyncio.ensure_future(wait(i, pending)))
                await asyncio.gather(*waiters)

            asyncio.run(main())

        return turn

    def thread_per_waiter(spawn: Callable[[int], Callable[[], Any]]) -> Turn:
        """A plain-thread caller: a spawn at each arrival, a waiter thread per input."""

        def turn(rec: _W5Record, first: int, count: int) -> None:
            waiters = []
            t0 = perf()
            for i in range(first, first + count):
                while (delay := t0 + (i - first) / rate - perf()) > 0:
                    time.sleep(delay)
                rec.arrived[i] = perf()
                get = spawn(i)

                def wait(i: int = i, get: Callable[[], Any] = get) -> None:
                    rec.ids[i] = get()
                    rec.woke[i] = perf()

                thread = threading.Thread(target=wait, daemon=True)
                thread.start()
                waiters.append(thread)
            for thread in waiters:
                thread.join()

        return turn

    def client_threads(call: Callable[[int], Any]) -> Turn:
        """As a web server's or a client pool's threads call: each of ``limit`` threads takes
        the next arrival and makes a blocking call for it."""

        def turn(rec: _W5Record, first: int, count: int) -> None:
            t0 = perf() + 0.02  # the client threads start first

            def client(i: int) -> None:
                while (delay := t0 + (i - first) / rate - perf()) > 0:
                    time.sleep(delay)
                rec.arrived[i] = perf()
                rec.ids[i] = call(i)
                rec.woke[i] = perf()

            with ThreadPoolExecutor(limit) as clients:
                list(clients.map(client, range(first, first + count)))

        return turn

    # Each caller style runs against the peer (a ThreadPoolExecutor of ``limit`` threads) and
    # against concur_nb; a style's p99 is compared with the peer's in the same style.
    pool = ThreadPoolExecutor(limit)
    list(pool.map(time.sleep, [0.01] * limit))  # start its threads
    f = concurrent_fn(fn, limit, "w5_sleep")
    list(f.map(range(limit)))  # start the container and its threads

    async def peer_aio(i: int) -> Awaitable[Any]:
        return asyncio.get_running_loop().run_in_executor(pool, fn, i)

    async def ours_aio(i: int) -> Awaitable[Any]:
        call = await f.spawn.aio(i)
        return call.get.aio()

    styles: list[tuple[str, str, Turn, Turn]] = [
        (
            "spawn.aio+get.aio",
            "run_in_executor from asyncio",
            open_loop(ours_aio),
            open_loop(peer_aio),
        ),
        (
            "spawn+get, thread per waiter",
            "submit+result, thread per waiter",
            thread_per_waiter(lambda i: f.spawn(i).get),
            thread_per_waiter(lambda i: pool.submit(fn, i).result),
        ),
        (
            f"remote from {limit} client threads",
            f"submit().result() from {limit} client threads",
            client_threads(f.remote),
            client_threads(lambda i: pool.submit(fn, i).result()),
        ),
    ]
    for api, peer_api, ours_turn, peer_turn in styles:
        theirs: list[_W5Run] = []
        ours: list[_W5Run] = []
        busy_before, wall_before, cpu_before = _others_busy(), perf(), time.process_time()
        for r in range(runs):
            recs = {True: _W5Record(n), False: _W5Record(n)}
            gc.collect()  # each run starts with no full collection due (see the module doc)
            for first in range(0, n, W5_CHUNK):
                for mine in (r % 2 == 1, r % 2 == 0):  # A B A B ..., B A B A ... next run
                    now = recs[mine]
                    watch = Stopwatch()
                    (ours_turn if mine else peer_turn)(now, first, min(W5_CHUNK, n - first))
                    now.add(watch.stop(), GC_PAUSES.longest)
            theirs.append(_w5_result(recs[False]))
            ours.append(_w5_result(recs[True]))
            _w5_check_identity(recs[True])
        busy_after = _others_busy()
        peer_p99, peer_note = _w5_summary(theirs)
        p99, note = _w5_summary(ours)
        if busy_before is not None and busy_after is not None:
            others = busy_after - busy_before - (time.process_time() - cpu_before)
            note += f"; other processes used {others / (perf() - wall_before):.2f} CPUs meanwhile"
        for runner, label, results, row_note in (
            (f"ThreadPoolExecutor({limit})", peer_api, theirs, peer_note),
            (f"concur_nb max_inputs={limit}", api, ours, note),
        ):
            median_run = sorted(results, key=lambda run: run.p99)[len(results) // 2]
            record(Row("W5", runner, label, median_run.timing, n, None, row_note))
        paired = statistics.median(a.p99 / b.p99 for a, b in zip(ours, theirs))
        pooled = _pooled_p99(ours) / _pooled_p99(theirs)
        check(
            f"W5 p99 overhead vs ThreadPoolExecutor ({api})",
            "<= 1.25 x (medians)",
            f"{p99 * 1e3:.2f} vs {peer_p99 * 1e3:.2f} ms = {p99 / peer_p99:.2f} x "
            f"(median of the runs' ratios {paired:.2f} x; all runs together {pooled:.2f} x)",
            p99 <= 1.25 * peer_p99,
        )
    f.shutdown()
    pool.shutdown()


def _w5_check_identity(rec: _W5Record) -> None:
    """Every input saw its own id in ``current_input_id()``: the engine's record of it."""
    for i, seen in enumerate(rec.ids):
        inp = rec.inputs[i]
        if inp is None or seen != inp.id:
            raise AssertionError(f"W5 input {i}: current_input_id() said {seen!r}")
