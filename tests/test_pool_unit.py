"""The pool against a fake backend: no threads, the test says when containers are ready, when
works end and when containers die; the mock clock and explicit ticks stand for time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concur_nb import CallCancelledError, ContainerError, FunctionTimeoutError, InvalidError
from concur_nb._containers.base import CANCELLED, ERROR, OK, Outcome, Target
from concur_nb._inputs import new_call_id
from concur_nb._outcomes import Call
from concur_nb._pool import Pool
from concur_nb._retries import Retries
from concur_nb._running import CONTAINER_DEATHS_ALLOWED
from concur_nb._settings import Settings
from concur_nb.testing import MockClock
from tests.fake_backend import FakeBackend, FakeContainer, FakeTimers


def make_pool(
    backend: FakeBackend | None = None, **settings: Any
) -> tuple[Pool, FakeBackend, MockClock]:
    clock = MockClock()
    backend = backend or FakeBackend()
    options: dict[str, Any] = {"max_inputs": 2, "max_containers": 1, "timeout": None}
    options.update(settings)
    target = Target("f", lambda x: x, is_class=False)
    pool = Pool("f", target, Settings(**options), backend, FakeTimers(), clock, {}, "fake")  # type: ignore[arg-type]
    return pool, backend, clock


def submit(pool: Pool, count: int) -> Call:
    call = Call(new_call_id(), count, streaming=False)
    pool.submit(call, None, [(i,) for i in range(count)], {})
    return call


def only(backend: FakeBackend) -> FakeContainer:
    (container,) = [c for c in backend.containers if not c.stopping]
    return container


def test_inputs_wait_for_a_ready_container_then_fill_it_to_max_inputs() -> None:
    pool, backend, _ = make_pool()
    call = submit(pool, 5)
    container = only(backend)
    assert container.works == {}  # starting: nothing is placed yet
    container.ready()
    assert len(container.works) == 2
    first = next(iter(container.works))
    following = container.finish(first, Outcome(OK, "a"))
    assert following is not None and len(container.works) == 2  # the freed slot took the next
    assert call.values[0] == "a"
    assert pool.snapshot().queued == 2


def test_a_cancelled_running_input_is_cancelling_until_its_container_reports_the_end() -> None:
    pool, backend, _ = make_pool(max_inputs=1)
    call = submit(pool, 2)
    container = only(backend)
    container.ready()
    (work_id,) = container.works
    pool.cancel(call.inputs[:1])
    assert isinstance(call.values[0], CallCancelledError)  # the caller is released at once
    assert container.cancelled == [work_id]
    snap = pool.snapshot()
    assert (snap.in_flight, snap.cancelled, snap.queued) == (0, 1, 1)
    assert snap.containers[0].info["cancelling"] == 1 and snap.containers[0].in_use == 1
    container.finish(work_id, Outcome(CANCELLED))
    assert call.inputs[1].status == "running"  # the slot is free only now
    assert "cancelling" not in pool.snapshot().containers[0].info


def test_a_timed_out_attempt_releases_its_caller_at_the_deadline_and_its_slot_when_it_ends() -> (
    None
):
    pool, backend, clock = make_pool(max_inputs=1, timeout=5)
    call = submit(pool, 2)
    container = only(backend)
    container.ready()
    (stuck,) = container.works
    clock.advance(4.9)
    pool.tick()
    assert not call.is_settled(0)
    clock.advance(0.2)
    pool.tick()
    assert isinstance(call.values[0], FunctionTimeoutError)
    assert container.cancelled == [stuck]
    assert call.inputs[1].status == "queued"  # the stuck code still holds the only slot
    container.finish(stuck, Outcome(CANCELLED))
    assert call.inputs[1].status == "running"
    assert pool.snapshot().failed == 1


def test_a_retry_after_a_timeout_runs_beside_the_stuck_attempt_under_its_own_work_id() -> None:
    pool, backend, clock = make_pool(max_inputs=2, timeout=5, retries=Retries(max_retries=1))
    call = submit(pool, 1)
    container = only(backend)
    container.ready()
    (stuck,) = container.works
    clock.advance(5)
    pool.tick()
    assert not call.is_settled(0)  # it will be retried
    clock.advance(Retries(max_retries=1).delay(1))
    pool.tick()
    assert set(container.works) == {stuck, f"{stuck}#2"}
    container.finish(f"{stuck}#2", Outcome(OK, 42))
    assert call.values[0] == 42
    container.finish(stuck, Outcome(ERROR, RuntimeError("late")))  # a late end is ignored
    assert call.values[0] == 42 and pool.snapshot().succeeded == 1


def test_a_first_run_winding_down_in_one_container_stays_counted_there_while_its_retry_runs() -> (
    None
):
    # An input is its own first attempt; its retry, started in another container, must not
    # move the first run (still stuck in C code where it started) along with it.
    pool, backend, clock = make_pool(
        max_inputs=1, min_containers=2, max_containers=2, timeout=5, retries=Retries(max_retries=1)
    )
    pool.start()
    first, second = backend.containers
    first.ready()
    second.ready()
    call = submit(pool, 1)
    (stuck,) = first.works
    clock.advance(5)
    pool.tick()  # timed out: it winds down in the first container, which stays full
    clock.advance(Retries(max_retries=1).delay(1))
    pool.tick()
    assert list(second.works) == [f"{stuck}#2"]
    cancelling = {c.id: c.info.get("cancelling", 0) for c in pool.snapshot().containers}
    assert cancelling == {first.id: 1, second.id: 0}
    first.die(ContainerError("worker process exited with code 3"))  # the stuck run goes too
    assert pool._running.winding_down == {} and not call.is_settled(0)
    second.finish(f"{stuck}#2", Outcome(OK, 42))
    assert call.values[0] == 42
    snap = pool.snapshot()
    assert (snap.succeeded, snap.in_flight, snap.queued) == (1, 0, 0)


def test_a_retry_whose_first_run_is_stuck_in_the_only_slot_gets_a_new_container() -> None:
    # The stuck run holds the slot for no input any more: the autoscaler counts it, so the
    # retry does not wait behind it (it might never end).
    pool, backend, clock = make_pool(
        max_inputs=1, max_containers=2, timeout=5, retries=Retries(max_retries=1)
    )
    call = submit(pool, 1)
    (first,) = backend.containers
    first.ready()
    (stuck,) = first.works
    clock.advance(5)
    pool.tick()
    clock.advance(Retries(max_retries=1).delay(1))
    pool.tick()
    assert len(backend.containers) == 2
    second = backend.containers[1]
    second.ready()
    assert list(second.works) == [f"{stuck}#2"]
    second.finish(f"{stuck}#2", Outcome(OK, 42))
    assert call.values[0] == 42


def test_an_input_that_keeps_killing_its_container_fails_past_the_bound_and_its_sibling_ends() -> (
    None
):
    pool, backend, _ = make_pool(max_inputs=2)
    call = submit(pool, 2)
    culprit, sibling = call.inputs
    deaths = 0
    while not culprit.settled:
        container = only(backend)
        container.ready()
        if sibling.status == "running" and culprit.status != "running":
            break
        deaths += 1
        container.die(ContainerError("worker process exited with code 3"))
    assert deaths == CONTAINER_DEATHS_ALLOWED + 1
    error = call.values[0]
    assert isinstance(error, ContainerError) and "exited with code 3" in str(error)
    assert f"{deaths} containers died" in str(error)
    container = only(backend)
    container.ready()
    (work_id,) = container.works  # the sibling, alone
    container.finish(work_id, Outcome(OK, "fine"))
    assert call.values[1] == "fine"


def test_a_work_the_container_cannot_take_fails_clearly_and_the_container_keeps_its_size() -> None:
    pool, backend, _ = make_pool(FakeBackend(refuse_after=2), max_inputs=4)
    call = submit(pool, 4)
    container = only(backend)
    container.ready()
    assert len(container.works) == 2
    error = call.values[2]
    assert isinstance(error, ContainerError) and "could not start" in str(error)
    assert call.inputs[3].status == "queued"
    container.finish(next(iter(container.works)), Outcome(OK, 0))
    assert call.inputs[3].status == "running"


def test_containers_that_cannot_start_are_retried_after_growing_pauses_then_fail_the_queue() -> (
    None
):
    error = ContainerError("no thread to start the container on")
    pool, backend, clock = make_pool(FakeBackend(start_error=error), max_inputs=1)
    call = submit(pool, 2)
    # The first start failed at once, its replacement too; then the pool waits before a third.
    assert len(backend.containers) == 2 and not call.is_done()
    clock.advance(0.2)
    pool.tick()
    assert len(backend.containers) == 2  # still pausing
    clock.advance(0.1)
    pool.tick()
    assert len(backend.containers) == 3  # the third failed too: the queue fails, clearly
    assert call.is_done() and all(v is error for v in call.values)
    assert "no thread" in pool.snapshot().warnings[-1]


def test_a_closed_pool_refuses_new_inputs_and_has_settled_every_earlier_one() -> None:
    pool, backend, _ = make_pool(max_inputs=1)
    call = submit(pool, 3)
    only(backend).ready()
    pool.close()
    assert call.is_done()
    assert all(isinstance(v, CallCancelledError) for v in call.values)
    with pytest.raises(InvalidError, match="shut down"):
        submit(pool, 1)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "ready", "ok", "error", "cancel", "die", "advance"]),
        st.integers(0, 50),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_every_input_ends_exactly_once_whatever_happens_in_whatever_order(
    operations: list[tuple[str, int]],
) -> None:
    pool, backend, clock = make_pool(
        max_inputs=3, target_inputs=2, max_containers=2, timeout=10, retries=Retries(max_retries=1)
    )
    calls: list[Call] = []
    settled: list[tuple[str, int]] = []
    original = Call.settle

    def counting(self: Call, index: int, ok: bool, value: Any) -> None:
        settled.append((self.id, index))
        original(self, index, ok, value)

    Call.settle = counting  # type: ignore[method-assign]
    try:
        for op, n in operations:
            live = [c for c in backend.containers if not c.stopping]
            works = [(c, w) for c in live for w in c.works]
            if op == "submit":
                calls.append(submit(pool, n % 5 + 1))
            elif op == "ready" and live:
                live[n % len(live)].ready()
            elif op in ("ok", "error") and works:
                container, work_id = works[n % len(works)]
                outcome = Outcome(OK, n) if op == "ok" else Outcome(ERROR, ValueError(n))
                container.finish(work_id, outcome)
            elif op == "cancel" and calls:
                pool.cancel(calls[n % len(calls)].inputs[: n % 3 + 1])
            elif op == "die" and live:
                live[n % len(live)].die(ContainerError("killed"))
            elif op == "advance":
                clock.advance(n / 5)
                pool.tick()
            snap = pool.snapshot()
            assert (
                snap.submitted
                == snap.queued
                + sum(1 for c in calls for i in c.inputs if not i.settled and i.status != "queued")
                + snap.finished
            )
        pool.close()
        for container in backend.containers:  # containers report the ends of what they ran
            for work_id in list(container.works):
                container.finish(work_id, Outcome(CANCELLED))
    finally:
        Call.settle = original  # type: ignore[method-assign]
    submitted = sum(len(c.inputs) for c in calls)
    assert len(settled) == len(set(settled)) == submitted
    assert all(c.is_done() for c in calls)
    snap = pool.snapshot()
    assert snap.finished == snap.submitted == submitted
    assert snap.in_flight == 0 and snap.queued == 0
    assert pool._running.cancelling == 0
