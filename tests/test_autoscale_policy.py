"""The autoscaling policy on its own: pure decisions from load, settings and a given time."""

from __future__ import annotations

from concur_nb._autoscale import ContainerLoad, decide
from concur_nb._settings import Settings


def running(cid: str, in_use: int, idle_since: float | None = None) -> ContainerLoad:
    return ContainerLoad(cid, "running", in_use, idle_since)


def test_demand_above_target_times_containers_starts_more() -> None:
    s = Settings(max_inputs=100, target_inputs=80)
    d = decide([running("a", 90)], demand=90, settings=s, now=0.0)
    assert d.start == 1
    assert "demand 90 > target_inputs=80 x 1" in d.reason


def test_demand_within_target_starts_nothing() -> None:
    s = Settings(max_inputs=100, target_inputs=80)
    assert not decide([running("a", 80)], demand=80, settings=s, now=0.0).changes_anything


def test_starting_containers_count_so_a_burst_does_not_start_twice() -> None:
    s = Settings(max_inputs=100, target_inputs=80)
    loads = [running("a", 100), ContainerLoad("b", "starting", 0, None)]
    assert decide(loads, demand=150, settings=s, now=0.0).start == 0


def test_scale_from_zero_starts_enough_for_the_demand() -> None:
    s = Settings(max_inputs=10, target_inputs=5)
    assert decide([], demand=23, settings=s, now=0.0).start == 5


def test_max_containers_caps_scale_up() -> None:
    s = Settings(max_inputs=10, max_containers=3)
    assert decide([], demand=1000, settings=s, now=0.0).start == 3


def test_min_containers_are_kept_with_no_demand() -> None:
    s = Settings(max_inputs=10, min_containers=2)
    d = decide([], demand=0, settings=s, now=0.0)
    assert d.start == 2
    assert "min_containers=2" in d.reason
    idle = [running("a", 0, idle_since=0.0), running("b", 0, idle_since=0.0)]
    assert not decide(idle, demand=0, settings=s, now=1e6).changes_anything


def test_buffer_containers_are_added_under_load() -> None:
    s = Settings(max_inputs=10, buffer_containers=2)
    assert decide([], demand=10, settings=s, now=0.0).start == 3
    assert decide([], demand=0, settings=s, now=0.0).start == 0


def test_idle_container_retires_only_after_the_scaledown_window() -> None:
    s = Settings(max_inputs=10, scaledown_window=60)
    loads = [running("a", 0, idle_since=100.0)]
    early = decide(loads, demand=0, settings=s, now=159.0)
    assert early.retire == ()
    assert early.next_check == 160.0
    due = decide(loads, demand=0, settings=s, now=160.0)
    assert due.retire == ("a",)
    assert "idle for >= 60s" in due.reason


def test_busy_containers_never_retire() -> None:
    s = Settings(max_inputs=10, scaledown_window=1)
    loads = [running("a", 3), running("b", 0, idle_since=0.0)]
    d = decide(loads, demand=3, settings=s, now=100.0)
    assert d.retire == ("b",)


def test_only_as_many_retire_as_the_demand_allows() -> None:
    s = Settings(max_inputs=10, scaledown_window=1)
    loads = [running("a", 0, 0.0), running("b", 0, 0.0), running("c", 0, 0.0)]
    d = decide(loads, demand=15, settings=s, now=100.0)  # 15 needs 2 containers
    assert len(d.retire) == 1


def test_wobbling_demand_around_a_boundary_does_not_flap() -> None:
    """Demand crossing target x n back and forth starts a container once and keeps it."""
    s = Settings(max_inputs=10, target_inputs=8, scaledown_window=30)
    loads = [running("a", 8)]
    up = decide(loads, demand=9, settings=s, now=0.0)
    assert up.start == 1
    loads = [running("a", 8), running("b", 0, idle_since=1.0)]
    decisions = [decide(loads, demand=d, settings=s, now=t) for t, d in enumerate([7, 9, 8, 9, 7])]
    assert not any(d.changes_anything for d in decisions)
