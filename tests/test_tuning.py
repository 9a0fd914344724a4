"""Tuning: sliders that reconfigure a running function live; sweeps that recommend settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from widget_comm import RecordingComm, install

import concur_nb
from concur_nb.notebook.sweep import Row, SweepResult, recommend, sweep
from concur_nb.notebook.tuning import Tuner, tune
from tests.conftest import wait_until


@pytest.fixture(autouse=True)
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    return install(monkeypatch)


@pytest.fixture
def gated() -> Iterator[tuple[object, threading.Event]]:
    """A one-container function whose inputs wait on a gate: slots in use are easy to read."""
    gate = threading.Event()

    @concur_nb.concurrent(max_inputs=2)
    @concur_nb.function(max_containers=1, name="gated")
    def held(x: int) -> int:
        gate.wait(30)
        return x

    yield held, gate
    gate.set()
    held.cancel_all()


def slider_moved(slider: object, value: object) -> None:
    """Deliver a slider move the way the front-end does: a state update on its comm."""
    comm = slider.comm  # type: ignore[attr-defined]
    assert isinstance(comm, RecordingComm)
    comm.receive({"value": value})


def test_moving_max_inputs_changes_the_slots_in_use_while_work_runs(gated: tuple) -> None:
    held, gate = gated
    tuner = tune(held)
    call = held.spawn_map(range(10))
    wait_until(lambda: held.snapshot().slots_in_use == 2, what="2 slots in use")
    slider_moved(tuner.max_inputs, 5)
    assert held.settings.max_inputs == 5
    wait_until(lambda: held.snapshot().slots_in_use == 5, what="5 slots in use after the move")
    assert "applied max_inputs=5" in tuner.message.value
    tuner.dashboard.refresh()
    assert 'data-slots="5"' in tuner.dashboard.header.value  # the dashboard beside it follows
    gate.set()
    assert call.get(timeout=30) == list(range(10))


def test_lowering_max_inputs_pulls_target_inputs_down_with_it(gated: tuple) -> None:
    held, _ = gated
    held.update(max_inputs=8, target_inputs=6)
    tuner = Tuner(held, dashboard=False)
    slider_moved(tuner.max_inputs, 3)
    assert (held.settings.max_inputs, held.settings.target_inputs) == (3, 3)
    assert tuner.target_inputs.value == 3


def test_max_containers_zero_means_no_limit(gated: tuple) -> None:
    held, _ = gated
    tuner = Tuner(held, dashboard=False)
    slider_moved(tuner.max_containers, 0)
    assert held.settings.max_containers is None
    slider_moved(tuner.max_containers, 3)
    assert held.settings.max_containers == 3


def test_a_rejected_value_is_put_back_and_the_reason_shown(gated: tuple) -> None:
    held, _ = gated
    tuner = Tuner(held, dashboard=False)
    before = held.settings.max_inputs
    tuner.apply("max_inputs", 0)
    assert held.settings.max_inputs == before and tuner.max_inputs.value == before
    assert "max_inputs" in tuner.message.value and "color:#b00" in tuner.message.value


def test_tuner_text_fallback_names_the_settings(gated: tuple) -> None:
    held, _ = gated
    assert repr(Tuner(held, dashboard=False)).startswith(
        "tune(gated): max_inputs=2 target_inputs=2"
    )


# --- sweep -------------------------------------------------------------------------------------


def row(m: int, throughput: float, p95: float) -> Row:
    return Row(m, throughput, p95 / 2, p95, p95, failed=0, repeats=1)


def test_recommends_the_smallest_setting_near_the_best_throughput_and_bursting_room() -> None:
    table = [
        row(1, 10, 0.1),
        row(4, 38, 0.11),
        row(16, 90, 0.12),
        row(32, 103, 0.16),
        row(64, 104, 0.4),
    ]
    rec = recommend(table, tolerance=0.05)
    assert (rec.target_inputs, rec.max_inputs) == (32, 32)
    rec = recommend(table, tolerance=0.05, latency_bound=0.3)
    assert (rec.target_inputs, rec.max_inputs) == (32, 32)
    rec = recommend(table, tolerance=0.15)
    assert (rec.target_inputs, rec.max_inputs) == (16, 32)  # 64's p95 is above 1.5 x 16's
    assert "reaches 87% of the best throughput" in rec.reason and "burst" in rec.reason


def test_a_best_at_the_edge_of_the_range_is_said_so() -> None:
    rec = recommend([row(2, 20, 0.1), row(4, 40, 0.1), row(8, 80, 0.1)])
    assert (rec.target_inputs, rec.max_inputs) == (8, 8)
    assert "largest setting tried (8)" in rec.reason and "sweep larger values" in rec.reason
    inside = recommend([row(2, 20, 0.1), row(4, 40, 0.1), row(8, 40, 0.1)])
    assert "largest setting tried" not in inside.reason


def test_a_tight_latency_bound_wins_over_throughput() -> None:
    table = [row(1, 10, 0.1), row(4, 38, 0.2), row(16, 100, 0.5)]
    rec = recommend(table, latency_bound=0.25)
    assert rec.target_inputs == 4 and "p95 run time 200.0 ms <= 250.0 ms" in rec.reason


def test_an_unreachable_latency_bound_is_said_so() -> None:
    rec = recommend([row(1, 10, 0.3), row(4, 38, 0.5)], latency_bound=0.1)
    assert rec.target_inputs == 1 and rec.reason.startswith("no setting kept p95 run time")


def test_sweep_measures_each_setting_recommends_and_restores_the_settings() -> None:
    @concur_nb.concurrent(max_inputs=3, target_inputs=2)
    @concur_nb.function(name="io_bound")
    def io_bound(x: int) -> int:
        time.sleep(0.02)  # waiting on I/O: more concurrency means more throughput
        return x

    result = sweep(io_bound, range(32), max_inputs=[1, 16], repeats=2)
    assert isinstance(result, SweepResult)
    assert [r.max_inputs for r in result.table] == [1, 16] and len(result.runs) == 4
    slow, fast = result.table
    assert fast.throughput > 3 * slow.throughput
    assert slow.p50 is not None and slow.p50 >= 0.02 and slow.failed == 0
    assert result.recommendation.target_inputs == 16
    assert (io_bound.settings.max_inputs, io_bound.settings.target_inputs) == (3, 2)
    assert io_bound.settings.max_containers is None
    figure = result.figure()
    assert [t.name for t in figure.data] == ["throughput (/s)", "p95 run time (ms)"]
    assert list(figure.layout.xaxis.tickvals) == [r.max_inputs for r in result.table]
    assert "recommended: target_inputs=16" in repr(result)
    assert "<table>" in result._repr_html_()
    assert result.rows()[0]["max_inputs"] == 1


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(inputs=[]), "at least one input"),
        (dict(inputs=[1], max_inputs=[0, 2]), "max_inputs must be"),
        (dict(inputs=[1], repeats=0), "repeats must be"),
    ],
)
def test_sweep_rejects_what_it_cannot_measure(kwargs: dict, message: str) -> None:
    @concur_nb.concurrent(max_inputs=1)
    @concur_nb.function(name="unused_sweep")
    def unused(x: int) -> int:
        return x

    with pytest.raises(ValueError, match=message):
        sweep(unused, **kwargs)
