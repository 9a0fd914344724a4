"""Nothing is lost: every submitted input ends as a result, an exception, or cancelled."""

from __future__ import annotations

import asyncio
import random

import concur_nb
from concur_nb import CallCancelledError, FunctionTimeoutError
from tests.conftest import wait_until


def test_thousands_of_inputs_with_failures_timeouts_and_cancellations_are_all_accounted() -> None:
    rng = random.Random(7)
    plan = [rng.choice(["ok", "ok", "ok", "fail", "slow"]) for _ in range(3000)]

    @concur_nb.function(timeout=0.2, max_containers=3)
    @concur_nb.concurrent(max_inputs=200, target_inputs=150)
    async def job(i: int, kind: str) -> int:
        await asyncio.sleep(rng.random() * 0.01)
        if kind == "fail":
            raise RuntimeError(f"job {i} failed")
        if kind == "slow":
            await asyncio.sleep(5)
        return i

    calls = [job.spawn_map(range(k, 3000, 10), plan[k::10]) for k in range(10)]
    calls[3].cancel()
    calls[7].cancel()
    outcomes: dict[str, int] = {"ok": 0, "fail": 0, "timeout": 0, "cancelled": 0}
    for call in calls:
        call._call.wait(30)
        for ok, value in zip(call._call.ok, call._call.values):
            if ok:
                outcomes["ok"] += 1
            elif isinstance(value, CallCancelledError):
                outcomes["cancelled"] += 1
            elif isinstance(value, FunctionTimeoutError):
                outcomes["timeout"] += 1
            else:
                assert isinstance(value, RuntimeError)
                outcomes["fail"] += 1
    assert sum(outcomes.values()) == 3000
    assert all(count > 0 for count in outcomes.values()), outcomes
    wait_until(lambda: job.snapshot().in_flight == 0)
    snap = job.snapshot()
    assert (snap.succeeded, snap.failed, snap.cancelled) == (
        outcomes["ok"],
        outcomes["fail"] + outcomes["timeout"],
        outcomes["cancelled"],
    )
    assert snap.queued == 0 and snap.submitted == 3000
