"""A big call's inputs are made as they near the front of the queue (``_backlog``), and that
changes nothing a user sees: order, outcomes, counts, cancelling, shutdown, ids."""

from __future__ import annotations

from concur_nb import CallCancelledError, ContainerError
from concur_nb._backlog import MADE_AT_SUBMIT, MAKE_AHEAD
from concur_nb._containers.base import OK, Outcome
from concur_nb._inputs import OneArgEach, new_call_id
from concur_nb._outcomes import Call
from concur_nb._pool import Pool
from tests.fake_backend import FakeBackend, FakeContainer
from tests.test_pool_unit import make_pool, only

BIG = MADE_AT_SUBMIT + 5 * MAKE_AHEAD + 7


def submit_map(pool: Pool, count: int) -> Call:
    """As ``f.map(range(count))`` submits: one argument per input."""
    call = Call(new_call_id(), count, streaming=False)
    pool.submit(call, None, OneArgEach(range(count)), {})
    return call


def run_all(container: FakeContainer, made_at_most: int, call: Call) -> list[int]:
    """Finish works one by one (each returns its argument) until none is left; the arguments
    in the order the works started. No more than ``made_at_most`` records exist beyond the
    inputs already started, at any point."""
    started = [work.args[0] for work in container.works.values()]
    while container.works:
        work_id = next(iter(container.works))
        work = container.works[work_id]
        following = container.finish(work_id, Outcome(OK, work.args[0]))
        if following is not None:
            started.append(following.args[0])
        assert len(call.inputs) <= len(started) + made_at_most
    return started


def test_a_big_map_makes_its_inputs_as_they_reach_the_front_and_runs_them_in_order() -> None:
    pool, backend, _ = make_pool(max_inputs=4)
    call = submit_map(pool, BIG)
    assert len(call.inputs) == MADE_AT_SUBMIT  # the rest wait as arguments, not records
    assert pool.snapshot().queued == BIG  # but count as queued: the demand is all there
    only(backend).ready()
    assert pool.snapshot().queued == BIG - 4
    started = run_all(only(backend), MADE_AT_SUBMIT + MAKE_AHEAD, call)
    assert started == list(range(BIG))
    assert call.is_done() and call.values == list(range(BIG))
    assert [inp.index for inp in call.inputs] == list(range(BIG))
    assert len({inp.id for inp in call.inputs}) == BIG
    snap = pool.snapshot()
    assert (snap.submitted, snap.succeeded, snap.queued, snap.in_flight) == (BIG, BIG, 0, 0)


def test_a_call_queued_behind_a_backlog_waits_its_turn() -> None:
    pool, backend, _ = make_pool(max_inputs=2)
    big = submit_map(pool, BIG)
    small = submit_map(pool, 3)
    only(backend).ready()
    started = run_all(only(backend), BIG, big)
    assert started == [*range(BIG), 0, 1, 2]  # first come, first served
    assert big.is_done() and small.is_done() and small.values == [0, 1, 2]


def test_cancelling_a_call_ends_its_inputs_not_made_yet_as_cancelled() -> None:
    pool, backend, _ = make_pool(max_inputs=4)
    call = submit_map(pool, BIG)
    other = submit_map(pool, 2)
    only(backend).ready()
    pool.cancel_call(call, reason="stopped")
    assert call.is_done() and len(call.inputs) == BIG
    assert all(isinstance(v, CallCancelledError) for v in call.values)
    assert "stopped" in str(call.values[-1])
    snap = pool.snapshot()
    # The other call's two wait for the slots the cancelled inputs hold until their code ends.
    assert (snap.cancelled, snap.queued) == (BIG, 2)
    for work_id in list(only(backend).works):
        only(backend).finish(work_id, Outcome(OK, "late"))  # the cancelled ones' ends: ignored
    run_all(only(backend), 0, other)
    assert other.values == [0, 1]
    assert pool.snapshot().finished == BIG + 2


def test_every_id_of_a_big_call_can_be_read_before_its_inputs_reach_the_front() -> None:
    pool, backend, _ = make_pool(max_inputs=2)
    call = submit_map(pool, BIG)
    ids = [inp.id for inp in pool.inputs_of(call)]
    assert len(ids) == len(set(ids)) == BIG
    only(backend).ready()
    started = run_all(only(backend), BIG, call)  # made in place: the order is kept
    assert started == list(range(BIG)) and call.values == list(range(BIG))


def test_shutting_down_cancels_the_inputs_of_a_backlog_too() -> None:
    pool, backend, _ = make_pool(max_inputs=2)
    call = submit_map(pool, BIG)
    only(backend).ready()
    pool.close()
    assert call.is_done()
    assert all(isinstance(v, CallCancelledError) for v in call.values)
    assert pool.snapshot().queued == 0


def test_containers_that_cannot_start_fail_the_inputs_of_a_backlog_too() -> None:
    error = ContainerError("no thread to start the container on")
    pool, _, clock = make_pool(FakeBackend(start_error=error), max_inputs=1)
    call = submit_map(pool, BIG)
    clock.advance(0.3)  # past the pause before the third start, which fails the queue
    pool.tick()
    assert call.is_done() and all(v is error for v in call.values)
    assert pool.snapshot().queued == 0
