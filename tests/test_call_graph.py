"""Functions calling functions: the call graph, and cancels and timeouts that reach the calls
an input is waiting on."""

from __future__ import annotations

import threading

import pytest

import concur_nb
from concur_nb import CallCancelledError, FunctionTimeoutError
from concur_nb.testing import MockClock
from tests.conftest import wait_until


def test_a_calls_graph_shows_the_calls_its_inputs_made() -> None:
    @concur_nb.concurrent(max_inputs=4)
    def leaf(x: int) -> int:
        return x + 1

    @concur_nb.concurrent(max_inputs=4)
    def parent(x: int) -> int:
        return leaf.remote(x) + sum(leaf.map([x, x]))

    call = parent.spawn(1)
    assert call.get(timeout=10) == 6
    (root,) = call.get_call_graph()
    assert (root.function_name, root.status) == ("parent", "succeeded")
    assert [c.function_name for c in root.children] == ["leaf", "leaf", "leaf"]
    assert {c.status for c in root.children} == {"succeeded"}
    assert len({c.function_call_id for c in root.children}) == 2  # remote, then one map


def test_cancelling_a_parent_cancels_the_call_it_waits_on() -> None:
    started, release = threading.Event(), threading.Event()

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=1)
    def busy(x: int) -> int:
        started.set()
        release.wait(30)
        return x

    @concur_nb.concurrent(max_inputs=2)
    def parent() -> int:
        return busy.remote(2)  # waits behind the busy slot

    blocker = busy.spawn(1)
    assert started.wait(5)
    call = parent.spawn()
    wait_until(lambda: busy.snapshot().queued == 1, what="the child call queued")
    call.cancel()
    with pytest.raises(CallCancelledError):
        call.get(timeout=5)
    wait_until(lambda: busy.snapshot().queued == 0, what="the child call cancelled too")
    (root,) = call.get_call_graph()
    assert [c.status for c in root.children] == ["cancelled"]
    release.set()
    assert blocker.get(timeout=5) == 1


def test_a_recursive_call_into_a_full_function_times_out(clock: MockClock) -> None:
    @concur_nb.function(max_containers=1, timeout=3, clock=clock)
    @concur_nb.concurrent(max_inputs=1)
    def recurse(depth: int) -> int:
        return depth if depth == 0 else recurse.remote(depth - 1)

    call = recurse.spawn(1)

    def inner_waits() -> bool:
        snap = recurse.snapshot()
        return (snap.in_flight, snap.queued) == (1, 1)

    wait_until(inner_waits, what="the outer input runs, its inner call waits for a slot")
    clock.advance(3)
    with pytest.raises(FunctionTimeoutError):
        call.get(timeout=5)
    wait_until(lambda: recurse.snapshot().queued == 0, what="the inner call cancelled")
    wait_until(lambda: recurse.snapshot().slots_in_use == 0, what="the slot free again")
    assert recurse.remote(0) == 0
