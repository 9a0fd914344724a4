"""A bounded soak per backend: 10,000 inputs with random successes, exceptions, retries,
timeouts, single and whole-call cancels (and, out of process, a worker killed mid-run); every
input ends exactly once and nothing is left behind (threads, file descriptors, processes)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from typing import Any

import pytest

import concur_nb
from concur_nb import CallCancelledError, FunctionTimeoutError
from tests.conftest import wait_until

INPUTS = 10_000
CALLS = 20


def plan(seed: int) -> list[str]:
    rng = random.Random(seed)
    kinds = ["ok"] * 90 + ["fail"] * 5 + ["flaky"] * 3 + ["slow"] * 2
    return [rng.choice(kinds) for _ in range(INPUTS)]


def sync_job(i: int, kind: str) -> int:
    if kind == "fail":
        raise ValueError(f"job {i} failed")
    if kind == "flaky" and concur_nb.current_input_id() and i % 2 == 0:
        raise ConnectionError("flaky: fails on every attempt of even inputs")
    if kind == "slow":
        time.sleep(2)  # past the timeout; interrupted (threads) or killed with the attempt
    return i


async def async_job(i: int, kind: str) -> int:
    await asyncio.sleep(0)
    if kind == "slow":
        await asyncio.sleep(2)
    return sync_job(i, "ok" if kind == "slow" else kind)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("backend", ["thread", "asyncio", "process"])
def test_ten_thousand_inputs_under_faults_each_end_exactly_once(backend: str) -> None:
    async def awaits_nothing() -> None:
        pass

    # The engine's own threads and fds, and those a loop kind opens once per process (uvloop:
    # a pipe on its first loop), are there before counting.
    for warm_up in (
        concur_nb.concurrent(max_inputs=1)(lambda: None),
        concur_nb.concurrent(max_inputs=1)(awaits_nothing),
    ):
        warm_up.remote()
        warm_up.shutdown()
    threads_before, fds_before = threading.active_count(), open_fds()
    kinds = plan(seed=len(backend))
    fn: Any = async_job if backend == "asyncio" else sync_job
    options: dict[str, Any] = {"timeout": 0.5, "retries": 1, "max_containers": 2}
    if backend == "process":
        options["backend"] = "process"
    handle = concur_nb.function(**options)(concur_nb.concurrent(max_inputs=64)(fn))

    per_call = INPUTS // CALLS
    calls = [
        handle.spawn_map(range(k * per_call, (k + 1) * per_call), kinds[k * per_call :][:per_call])
        for k in range(CALLS)
    ]
    rng = random.Random(3)
    calls[5].cancel()  # a whole call
    for call in rng.sample(calls, 5):  # single inputs, queued or running
        for input_id in rng.sample(call.input_ids, 20):
            handle.cancel_input(input_id)
    if backend == "process":  # a worker killed mid-run: its inputs are rescheduled
        wait_until(lambda: any(c.info.get("pid") for c in handle.snapshot().containers))
        pid = next(c.info["pid"] for c in handle.snapshot().containers if c.info.get("pid"))
        os.kill(pid, signal.SIGKILL)

    ends = {"ok": 0, "error": 0, "timeout": 0, "cancelled": 0}
    for call in calls:
        assert call._call.wait(120), "a call never ended"
        for ok, value in zip(call._call.ok, call._call.values):
            if ok:
                ends["ok"] += 1
            elif isinstance(value, CallCancelledError):
                ends["cancelled"] += 1
            elif isinstance(value, FunctionTimeoutError):
                ends["timeout"] += 1
            else:
                ends["error"] += 1
    assert sum(ends.values()) == INPUTS
    assert all(ends.values()), ends
    snap = handle.snapshot()
    assert snap.submitted == INPUTS and snap.queued == 0
    assert (snap.succeeded, snap.cancelled) == (ends["ok"], ends["cancelled"])
    assert snap.failed == ends["error"] + ends["timeout"]
    handle.shutdown()
    wait_until(lambda: not handle.snapshot().containers, timeout=20, what="containers gone")
    wait_until(
        lambda: threading.active_count() <= threads_before,
        timeout=20,
        what=f"threads back to {threads_before}",
    )
    wait_until(lambda: open_fds() <= fds_before, timeout=20, what=f"fds back to {fds_before}")
    if backend == "process":
        assert not [p for p in os.listdir("/proc") if p.isdigit() and _child_of_us(int(p))]


def _child_of_us(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(fields[1]) == os.getpid() and fields[0] != "Z"
