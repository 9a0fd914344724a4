"""Ray containers, measured beside bare Ray actors in one run, on one two-node cluster.

    .venv/bin/python benchmarks/bench_ray.py [--markdown benchmarks/results/ray.md]

It re-runs itself inside a network namespace with a two-node cluster (``tests/ray_namespace.py``:
Ray's processes must not reach past loopback here). Rows: the round trip of one tiny input
through a Ray container beside a bare call to an async actor; W3 (20,000 x ``asyncio.sleep
(0.05)``, 4 containers x 250) beside the same work on 4 bare async actors
(``max_concurrency=250``) and ``ray.get``; pipelined throughput of tiny inputs through one Ray
container beside pipelined bare actor calls.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cloudpickle

ROOT = Path(__file__).resolve().parent.parent
W3_INPUTS, W3_SLEEP, W3_CONTAINERS, W3_SLOTS = 20_000, 0.05, 4, 250
ROUND_TRIPS = 300
PIPELINED = 20_000
Row = tuple[str, str, str, str, str]  # metric, concur_nb, target, peer, peer / concur_nb


def tiny(x: int) -> int:
    return x


async def sleep_50ms(x: int) -> int:
    await asyncio.sleep(W3_SLEEP)
    return x


class Bare:
    """The peer: a plain async Ray actor."""

    async def tiny(self, x: int) -> int:
        return x

    async def sleep_50ms(self, x: int) -> int:
        await asyncio.sleep(W3_SLEEP)
        return x


def warm(fn: Any, count: int) -> None:
    deadline = time.monotonic() + 120
    while sum(c.status == "running" for c in fn.snapshot().containers) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} Ray containers did not start within 120 s")
        time.sleep(0.05)
    list(fn.map(range(100)))


def round_trips(call: Any) -> list[float]:
    times = []
    for i in range(ROUND_TRIPS):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return sorted(times)


def p(times: list[float], q: float) -> float:
    return times[min(int(len(times) * q), len(times) - 1)]


def measure() -> list[Row]:
    import ray

    import concur_nb

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    backend = concur_nb.ray(num_cpus=0)
    rows: list[Row] = []

    # Round trip of one tiny input.
    one = concur_nb.function(backend=backend, min_containers=1, max_containers=1)(
        concur_nb.concurrent(max_inputs=64)(tiny)
    )
    warm(one, 1)
    ours = round_trips(one.remote)
    bare_actor = ray.remote(Bare).options(num_cpus=0, max_concurrency=W3_SLOTS).remote()
    ray.get(bare_actor.tiny.remote(0))
    theirs = round_trips(lambda x: ray.get(bare_actor.tiny.remote(x)))
    ratio = p(ours, 0.5) / p(theirs, 0.5)
    rows.append(
        (
            "round trip p50 (p99), tiny input",
            f"{p(ours, 0.5) * 1e3:.2f} ms ({p(ours, 0.99) * 1e3:.1f})",
            "<= 1.2x bare",
            f"bare async actor {p(theirs, 0.5) * 1e3:.2f} ms ({p(theirs, 0.99) * 1e3:.1f})",
            f"{1 / ratio:.2f} (ours {ratio:.2f}x bare)",
        )
    )

    # Pipelined throughput through one container.
    start = time.perf_counter()
    assert list(one.map(range(PIPELINED))) == list(range(PIPELINED))
    ours_rate = PIPELINED / (time.perf_counter() - start)
    start = time.perf_counter()
    ray.get([bare_actor.tiny.remote(i) for i in range(PIPELINED)])
    bare_rate = PIPELINED / (time.perf_counter() - start)
    rows.append(
        (
            f"pipelined tiny inputs, one container ({PIPELINED:,})",
            f"{ours_rate:,.0f}/s",
            "",
            f"bare actor calls {bare_rate:,.0f}/s",
            f"{bare_rate / ours_rate:.2f}",
        )
    )
    one.shutdown()

    # W3: 20k x asyncio.sleep(0.05) on 4 x 250 slots; ideal 1.0 s.
    ideal = W3_INPUTS * W3_SLEEP / (W3_CONTAINERS * W3_SLOTS)
    w3 = concur_nb.function(
        backend=backend, min_containers=W3_CONTAINERS, max_containers=W3_CONTAINERS
    )(concur_nb.concurrent(max_inputs=W3_SLOTS)(sleep_50ms))
    warm(w3, W3_CONTAINERS)
    start = time.perf_counter()
    assert len(list(w3.map(range(W3_INPUTS)))) == W3_INPUTS
    ours_eff = ideal / (time.perf_counter() - start)
    w3.shutdown()
    actors = [
        ray.remote(Bare).options(num_cpus=0, max_concurrency=W3_SLOTS).remote()
        for _ in range(W3_CONTAINERS)
    ]
    ray.get([a.tiny.remote(0) for a in actors])
    start = time.perf_counter()
    refs = [actors[i % W3_CONTAINERS].sleep_50ms.remote(i) for i in range(W3_INPUTS)]
    ray.get(refs)
    bare_eff = ideal / (time.perf_counter() - start)
    rows.append(
        (
            f"W3 via Ray ({W3_INPUTS:,} x async 50 ms, {W3_CONTAINERS} x {W3_SLOTS})",
            f"{ours_eff:.2f}",
            ">= 0.85, >= bare",
            f"bare async actors + ray.get {bare_eff:.2f}",
            f"{bare_eff / ours_eff:.2f}",
        )
    )
    for actor in [bare_actor, *actors]:
        ray.kill(actor)
    return rows


def markdown(rows: list[Row], before: float, after: float) -> str:
    lines = [
        "# Ray containers (`benchmarks/bench_ray.py`)",
        "",
        f"{datetime.date.today().isoformat()}: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, Ray "
        f"{__import__('ray').__version__}, Linux; load average {before:.1f} before the run, "
        f"{after:.1f} after. A two-node cluster on this one machine, in a network namespace "
        "(`tests/ray_namespace.py`): head 1 CPU, worker 1 CPU and 2 logical GPUs; containers "
        "ask for `num_cpus=0`. Peers run on the same cluster in the same run.",
        "",
        "| metric | concur_nb | target | peer | peer/concur_nb |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if not os.environ.get("CONCUR_NB_RAY_NS"):
        wrapper = [sys.executable, str(ROOT / "tests" / "ray_namespace.py"), "--"]
        sys.exit(subprocess.call([*wrapper, sys.executable, *sys.argv]))
    before = os.getloadavg()[0]
    rows = measure()
    text = markdown(rows, before, os.getloadavg()[0])
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
