"""A call's progress: exclusive states that add up to what was submitted, and a sane rate."""

from __future__ import annotations

import random
import threading
import types

import concur_nb
from concur_nb._call_progress import CallProgress, ProgressReader, call_progress
from tests.conftest import wait_until


def _states(p: CallProgress) -> int:
    return p.queued + p.running + p.cancelling + p.succeeded + p.failed + p.cancelled


def test_states_add_up_to_the_call_through_random_cancels() -> None:
    gate = threading.Event()

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=8)
    def job(i: int) -> int:
        gate.wait(5)
        if i % 7 == 0:
            raise ValueError(i)
        return i

    call = job.spawn_map(range(300))
    reader = ProgressReader(call._call)
    rng = random.Random(3)
    wait_until(lambda: call_progress(call._call).running == 8)
    for step in range(40):
        for input_id in rng.sample(call.input_ids, 3):
            job.cancel_input(input_id)
        if step == 10:
            gate.set()
        exact, cheap = call_progress(call._call), reader.read()
        assert _states(exact) == exact.total == 300, exact
        assert _states(cheap) == cheap.total == 300, cheap
    call._call.wait(10)
    wait_until(lambda: call_progress(call._call).finished)
    final = call_progress(call._call)
    assert final.queued == final.running == final.cancelling == 0
    assert final.failed > 0 and final.cancelled > 0 and final.succeeded > 0
    assert final.succeeded + final.failed + final.cancelled == 300
    assert reader.read() == final
    assert final.finished_at is not None and final.started_at is not None
    assert "done of 300" in str(final)


def _inp(status: str, at: float, end: float | None = None, **extra: object) -> object:
    settled = status in ("succeeded", "failed", "cancelled", "timed_out")
    return types.SimpleNamespace(
        status=status, queued_at=at, started_at=at, finished_at=end, settled=settled, **extra
    )


def test_a_cancelled_input_still_running_counts_as_cancelling_not_twice() -> None:
    call = types.SimpleNamespace(
        inputs=[
            _inp("cancelled", 0.0, 1.0, cancelling=True),
            _inp("cancelled", 0.0, 1.0),
            _inp("running", 0.0),
            _inp("retry_wait", 0.0),
        ],
        values=[None] * 6,  # two more still being fed by a map
    )
    p = call_progress(call, now=2.0)
    assert (p.cancelling, p.cancelled, p.running, p.queued, p.total) == (1, 1, 1, 3, 6)
    assert p.finished_at is None


def test_rate_counts_settled_inputs_not_cancels() -> None:
    inputs = [_inp("succeeded", 0.0, 0.5 + i * 0.1) for i in range(10)]
    inputs += [_inp("cancelled", 0.0, 2.0) for _ in range(1000)]
    inputs += [_inp("queued", 0.0)]
    p = call_progress(types.SimpleNamespace(inputs=inputs), now=2.0)
    assert p.rate == 10 / 2.0  # ten done in two seconds; the 1000 cancels are not work done
    assert p.eta == 1 / p.rate


def test_the_tail_of_a_big_map_is_read_without_looking_at_every_queued_input() -> None:
    inputs = [_inp("succeeded", 0.0, 1.0)] * 10 + [_inp("running", 0.0)] * 5
    tail = [_inp("queued", 0.0) for _ in range(100_000)]
    for inp in tail[1000:]:
        # a reader that looked at these would fail: it must count them without reading them
        del inp.status
    call = types.SimpleNamespace(inputs=inputs + tail)
    p = ProgressReader(call).read(now=2.0)
    assert (p.succeeded, p.running, p.queued, p.total) == (10, 5, 100_000, 100_015)
