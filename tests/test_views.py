"""Views tell the truth: a call's view shows that call and freezes when it ends; a function's
view says it shows totals; charts are drawn with data and fitted axes; reprs are readable."""

from __future__ import annotations

import itertools
import re
import threading
import time

import pytest
from widget_comm import RecordingComm, install

import concur_nb
from concur_nb._state import LoadHistory, LoadSample
from concur_nb.notebook import svg
from concur_nb.notebook.dashboard import Dashboard
from tests.conftest import wait_until


@pytest.fixture(autouse=True)
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    return install(monkeypatch)


def attrs(html: str) -> dict[str, str]:
    """The data-* attributes of the first element of ``html``."""
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', html.split(">", 1)[0]))


def test_a_call_s_view_counts_that_call_only_and_freezes_when_it_ends() -> None:
    gate = threading.Event()

    @concur_nb.function(max_containers=1, name="views_call")
    @concur_nb.concurrent(max_inputs=10)
    def work(x: int) -> int:
        gate.wait(10)
        return x

    other = work.spawn_map(range(50))  # the same function, busy with another call
    call = work.spawn_map(range(20))
    view = Dashboard(work, call=call)
    head = attrs(view.header.value)
    assert head["scope"] == "call" and head["total"] == "20"
    assert int(head["queued"]) + int(head["running"]) == 20
    assert "call " + call.object_id in view.header.value
    gate.set()
    call.get(timeout=20)
    view._tick()
    assert view.frozen is not None
    frozen = attrs(view.frozen)
    assert (frozen["total"], frozen["succeeded"], frozen["cancelled"]) == ("20", "20", "0")
    assert "20 done of 20" in view.frozen and "<svg" in view.frozen and "p95" in view.frozen
    assert [type(w).__name__ for w in view.widget.children] == ["HTML"]
    assert view.widget.children[0].value == view.frozen
    assert view._repr_mimebundle_() == {"text/html": view.frozen, "text/plain": view.text()}
    before = view.frozen
    other.get(timeout=20)
    list(work.map(range(30)))  # more work for the function: the call's summary never changes
    view._tick()
    view.refresh()
    assert view.frozen == before and view.widget.children[0].value == before
    assert not view.refresher.running


def test_a_function_s_view_shows_its_totals_and_says_so() -> None:
    @concur_nb.function(name="views_fn")
    @concur_nb.concurrent(max_inputs=4)
    def f(x: int) -> int:
        return x

    list(f.map(range(5)))
    list(f.map(range(7)))
    view = Dashboard(f)
    assert "totals of all its calls" in view.header.value
    assert attrs(view.header.value)["total"] == "12"
    assert view.text().startswith("function views_fn · totals")
    with pytest.raises(concur_nb.InvalidError, match=r"where='side'.*'cell'.*'panel'"):
        Dashboard(f, where="side")


def test_a_cancelled_call_s_summary_adds_up() -> None:
    gate = threading.Event()

    @concur_nb.function(max_containers=1, name="views_cancel")
    @concur_nb.concurrent(max_inputs=4)
    def held(x: int) -> int:
        gate.wait(10)
        return x

    call = held.spawn_map(range(100))
    view = Dashboard(held, call=call)
    wait_until(lambda: held.snapshot().in_flight == 4)
    call.cancel()
    gate.set()
    wait_until(lambda: (view._tick(), view.frozen is not None)[1], what="the frozen summary")
    assert view.frozen is not None
    c = {k: int(v) for k, v in attrs(view.frozen).items() if v.isdigit()}
    assert c["total"] == 100
    assert c["succeeded"] + c["failed"] + c["cancelled"] == 100
    assert c["cancelled"] >= 96 and c["queued"] == c["running"] == c["cancelling"] == 0


def test_throughput_counts_settled_inputs_not_cancels() -> None:
    gate = threading.Event()

    @concur_nb.function(max_containers=1, name="views_rate")
    @concur_nb.concurrent(max_inputs=2)
    def held(x: int) -> int:
        gate.wait(10)
        return x

    call = held.spawn_map(range(2000))
    wait_until(lambda: held.snapshot().in_flight == 2)
    time.sleep(0.6)  # the rate compares readings at least half a second apart
    held.snapshot()
    call.cancel()
    gate.set()
    wait_until(lambda: held.snapshot().in_flight == 0)
    assert held.snapshot().cancelled >= 1998
    assert held.snapshot().throughput < 10  # was thousands a second: cancels counted as work


def test_load_history_keeps_order_bounds_and_serves_readers_while_written() -> None:
    history = LoadHistory(limit=1000)
    stop = threading.Event()
    seen: list[int] = []

    def read() -> None:
        while not stop.is_set():
            samples = history.since(50.0)
            assert all(s.at >= 50.0 for s in samples)
            assert all(a.at <= b.at for a, b in itertools.pairwise(samples))
            seen.append(len(samples))

    readers = [threading.Thread(target=read) for _ in range(3)]
    for r in readers:
        r.start()
    for i in range(5000):
        history.record(LoadSample(float(i), i % 7, 0, 1, i, 0, 0))
    stop.set()
    for r in readers:
        r.join()
    assert len(history) == 1000 and history.since(None)[0].at == 4000.0
    assert [s.at for s in history.since(4997.5)] == [4998.0, 4999.0]
    assert seen


def test_charts_have_titles_points_and_axes_fitted_to_their_data() -> None:
    line = svg.line_chart(
        [svg.Series("done", [0.0, 0.5, 1.2], [0, 10, 20])], title="call fc-1", y_title="inputs"
    )
    assert "call fc-1" in line and 'data-points="3"' in line
    assert ">1.5<" in line and ">20<" in line  # the axes reach the data, not a default range
    same = svg.histogram([0.5] * 20, title="run time")
    assert 'data-count="20"' in same and ">400<" in same and ">600<" in same  # in ms
    assert "no input has finished yet" in svg.histogram([], title="run time")
    assert svg.nice_ticks(0.1769)[-1] == 0.2 and svg.tick_label(0.1769) == "0.18"
    assert svg.nice_ticks(3, integer=True) == [0.0, 1.0, 2.0, 3.0]


def test_snapshots_and_inputs_print_as_short_human_text() -> None:
    @concur_nb.function(name="views_repr")
    @concur_nb.concurrent(max_inputs=2)
    def f(x: int) -> int:
        time.sleep(0.01)
        return x

    list(f.map(range(3)))
    text = repr(f.snapshot())
    assert text.startswith("<snapshot of views_repr:") and "taken_at" not in text
    assert "3 / 0 / 0 of 3" in text and " ago>" in text
    assert "<table>" in f.snapshot()._repr_html_()
    [latest] = f.inputs(limit=1)
    assert re.fullmatch(
        r"<input in-\w+ of views_repr: succeeded in \d+\.\d ms on \S+>", repr(latest)
    )
