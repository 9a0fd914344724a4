"""The live dashboard: it shows what the snapshots say, redraws at a bounded rate, stops when
the work is done, and falls back to text and HTML without a widget front-end."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
from typing import Any

import pytest
from frontend_stub import StubFunction, container, info
from widget_comm import RecordingComm, install

import concur_nb
from concur_nb.notebook import auto, summary
from concur_nb.notebook.dashboard import Dashboard, dashboard
from concur_nb.notebook.refresher import Refresher
from tests.conftest import wait_until


@pytest.fixture(autouse=True)
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    return install(monkeypatch)


def busy_stub() -> StubFunction:
    f = StubFunction("fetch", max_containers=4)
    f.containers = [
        container("c1", 5),
        container("c2", 8, status="starting", host="gpu-box", gpus=("0",)),
    ]
    f.queued, f.in_flight = 7, 13
    f.counts.update(submitted=30, succeeded=8, failed=1, cancelled=1)
    f.input_list = [
        info("in-1"),
        info("in-2"),
        info("in-3", status="failed", error="ValueError: x"),
    ]
    return f


def data(html: str, attr: str) -> list[str]:
    return re.findall(rf'data-{attr}="([^"]*)"', html)


# --- what it shows ---------------------------------------------------------------------------


def test_header_shows_settings_load_counts_and_latency() -> None:
    d = Dashboard(busy_stub(), charts=False)
    header = d.header.value
    for expected in ["fetch", "thread", "8 / 6", "2 / 4", "8 / 1 / 1", "12.5/s", "200.0 ms"]:
        assert expected in header
    assert data(header, "queued") == ["7"] and data(header, "in-flight") == ["13"]
    assert data(header, "state") == ["running"]


def test_each_container_row_has_a_slot_bar_with_its_target_marked() -> None:
    d = Dashboard(busy_stub(), charts=False)
    rows = d.containers.value
    assert data(rows, "container") == ["c1", "c2"]
    assert data(rows, "in-use") == ["5", "8"] and data(rows, "target") == ["6", "6"]
    assert "left:75.0%" in rows  # the target mark sits at 6 of 8 slots
    assert "starting" in rows and "gpu-box" in rows and "gpu 0" in rows


def test_input_list_and_selecting_an_input_shows_only_its_logs() -> None:
    f = busy_stub()
    f.add_log("in-1", "one says hello")
    f.add_log("in-2", "two says bye")
    d = Dashboard(f, charts=False)
    assert [value for _, value in d.inputs.options] == ["in-1", "in-2", "in-3"]
    assert "ValueError: x" in d.inputs.options[2][0]
    d.inputs.value = "in-2"  # what a click in the list does
    assert "two says bye" in d.log.value and "hello" not in d.log.value
    f.add_log("in-2", "two again")  # the log tails while the input runs
    d.refresh()
    assert "two again" in d.log.value
    assert d.inputs.value == "in-2"  # a redraw keeps the selection


def test_search_box_filters_the_selected_log_or_searches_every_input() -> None:
    f = busy_stub()
    f.add_log("in-1", "alpha match", "beta")
    f.add_log("in-2", "gamma match")
    d = Dashboard(f, charts=False)
    d.search.value = "match"
    assert "in-1 " in d.log.value and "in-2 " in d.log.value  # no selection: every input
    assert "<mark>match</mark>" in d.log.value
    d.inputs.value = "in-1"
    assert "alpha" in d.log.value and "gamma" not in d.log.value and "beta" not in d.log.value


def test_cancel_buttons_cancel_the_selected_input_and_the_whole_function() -> None:
    f = busy_stub()
    d = Dashboard(f, charts=False)
    d.inputs.value = "in-3"
    d.cancel_input_button.click()
    d.cancel_all_button.click()
    assert f.cancelled_inputs == ["in-3"] and f.cancel_all_calls == 1


def test_cancel_call_button_cancels_only_the_given_call() -> None:
    class Call:
        cancelled = 0

        def cancel(self) -> None:
            self.cancelled += 1

        def done(self) -> bool:
            return False

    f, call = busy_stub(), Call()
    d = Dashboard(f, call=call, charts=False)
    assert d.cancel_all_button.description == "Cancel call"
    d.cancel_all_button.click()
    assert call.cancelled == 1 and f.cancel_all_calls == 0


def test_charts_draw_load_over_time_and_a_run_time_histogram() -> None:
    f = busy_stub()
    f.input_list.append(info("in-4", status="succeeded", started_at=1.0, finished_at=1.25))
    ticks = itertools.count()
    d = Dashboard(f, detail_rate=2, clock=lambda: float(next(ticks)))  # a second per redraw
    assert d.charts is not None  # drawn with data before the view is shown
    f.now, f.queued = 11.0, 2
    d._tick()  # while busy, the refresher redraws charts at most detail_rate times a second...
    f.queued = f.in_flight = 0
    d.refresh()  # ...and always on the final redraw
    timeline = d.charts.timeline.value
    assert "totals" in d.header.value or "function fetch" in d.header.value
    points = dict(re.findall(r'data-name="([^"]+)" data-points="(\d+)"', timeline))
    assert points == {"in flight": "3", "queued": "3", "containers": "3"}  # one per redraw
    assert "fetch: load since this view opened" in timeline
    bars = [int(c) for c in data(d.charts.latency.value, "count")]
    assert sum(bars) == 2  # 0.25 s and 1.0 s (in-3 failed after 1 s)


def test_while_busy_the_header_moves_every_tick_and_the_details_at_their_own_rate() -> None:
    f = busy_stub()
    now = [0.0]
    d = Dashboard(f, charts=False, detail_rate=2, clock=lambda: now[0])
    labels = []
    for tick in range(1, 11):  # one second of redraws at 10 Hz
        now[0] = tick / 10
        f.queued = 100 - tick
        f.input_list = [info(f"in-{tick}")]
        d._tick()
        assert f'data-queued="{100 - tick}"' in d.header.value
        labels.append(d.inputs.options[0][1])
    assert labels == ["in-1"] * 4 + ["in-5"] * 5 + ["in-10"]  # twice a second


# --- how it redraws --------------------------------------------------------------------------


def test_a_redraw_sends_one_message_per_changed_widget_and_none_when_nothing_changed(
    comms: list[RecordingComm],
) -> None:
    f = busy_stub()
    d = Dashboard(f, charts=False)
    header = d.header.comm
    assert isinstance(header, RecordingComm)
    before = {id(c): len(c.messages) for c in comms}
    d.refresh()
    assert all(len(c.messages) == before[id(c)] for c in comms)  # nothing changed
    f.queued, f.containers = 3, [container("c1", 2), container("c2", 6), container("c3", 1)]
    f.counts["succeeded"] = 9
    d.refresh()
    assert len(header.messages) == before[id(header)] + 1  # hold_sync batches the changes
    assert len(d.containers.comm.messages) == before[id(d.containers.comm)] + 1
    assert 'data-queued="3"' in header.updates()[-1]["value"]


def test_refresher_never_ticks_faster_than_its_rate() -> None:
    stamps: list[float] = []
    enough = threading.Event()

    def tick() -> bool:
        stamps.append(r._last or 0.0)  # when the refresher began this tick, by its own clock
        if len(stamps) >= 6:
            enough.set()
        return True  # always busy: the rate is the only brake

    r = Refresher(tick, rate=50)
    r.start()
    for _ in range(100):
        r.poke()  # pokes never add ticks
    assert enough.wait(10)
    r.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= r.interval * 0.99


def test_refresher_holds_no_thread_when_idle_and_wakes_on_the_next_poke() -> None:
    work = {"left": 2}
    ticks = []

    def tick() -> bool:
        ticks.append(work["left"])
        work["left"] = max(0, work["left"] - 1)
        return work["left"] > 0

    r = Refresher(tick, rate=200)
    r.start()
    wait_until(lambda: not r.running and work["left"] == 0, what="the refresher to go idle")
    seen = len(ticks)
    work["left"] = 1
    r.poke()
    wait_until(lambda: len(ticks) > seen and not r.running, what="a tick after the poke")
    r.stop()


def test_refresher_survives_a_broken_redraw_and_reports_it() -> None:
    def tick() -> bool:
        raise RuntimeError("boom")

    r = Refresher(tick, rate=100)
    r.start()
    wait_until(lambda: r.error is not None and not r.running, what="the error")
    assert str(r.error) == "boom"


def test_a_busy_dashboard_polls_and_only_an_idle_one_listens_for_new_work() -> None:
    f = busy_stub()
    d = Dashboard(f, charts=False, rate=1000).start()
    wait_until(lambda: d.refresher.ticks >= 3)
    assert f.subscribers == []  # while work runs the engine pays nothing per event
    f.queued = f.in_flight = 0
    wait_until(lambda: not d.refresher.running, what="the refresher to go idle")
    assert len(f.subscribers) == 1  # idle: waiting for the first event of new work
    idle_ticks = d.refresher.ticks
    f.queued = 5
    for _ in range(1000):
        f.emit("input_queued")  # a burst of events...
    wait_until(lambda: 'data-queued="5"' in d.header.value, what="the redraw of new work")
    assert f.subscribers == []
    f.queued = 0
    wait_until(lambda: not d.refresher.running, what="idle again")
    assert d.refresher.ticks - idle_ticks < 50  # ...costs a few redraws, not a thousand
    d.stop()
    assert f.subscribers == []


def test_work_that_starts_while_the_dashboard_goes_idle_is_not_missed() -> None:
    f = busy_stub()
    f.queued = f.in_flight = 0
    d = Dashboard(f, charts=False)
    real_subscribe = f.subscribe

    def subscribe_late(callback: Any) -> Any:
        f.counts["submitted"] += 1  # work arrives after the snapshot, before the subscription
        f.queued = 1
        return real_subscribe(callback)

    f.subscribe = subscribe_late  # type: ignore[method-assign]
    d.start()
    wait_until(lambda: 'data-queued="1"' in d.header.value, what="the late work on screen")
    d.stop()


# --- with the real engine --------------------------------------------------------------------


def test_live_dashboard_follows_real_work_and_leaves_a_summary_when_done() -> None:
    gate = threading.Event()

    @concur_nb.concurrent(max_inputs=4, target_inputs=3)
    @concur_nb.function(max_containers=1, name="dash_follow")
    def work(x: int) -> int:
        print(f"working on {x}")
        gate.wait(20)
        return x

    d = Dashboard(work, rate=50).start()
    call = work.spawn_map(range(12))
    wait_until(
        lambda: (
            data(d.header.value, "in-flight") == ["4"] and data(d.header.value, "queued") == ["8"]
        ),
        what="4 running and 8 queued on the dashboard",
    )
    assert data(d.containers.value, "in-use") == ["4"]
    assert data(d.containers.value, "target") == ["3"]

    def running() -> list[str]:
        return [value for label, value in d.inputs.options if "running" in label]

    wait_until(lambda: len(running()) == 4, what="the 4 running inputs in the list")
    d.inputs.value = running()[0]
    wait_until(lambda: "working on" in d.log.value, what="the input's own log line")
    own = re.findall(r"working on \d+", d.log.value)
    assert len(own) == 1
    gate.set()
    assert call.get(timeout=20) == list(range(12))
    wait_until(lambda: d.done and not d.refresher.running, what="the refresher to stop")
    assert data(d.header.value, "state") == ["done"]
    assert data(d.header.value, "finished") == ["12"]
    assert d.charts is not None
    assert 'data-name="queued"' in d.charts.timeline.value
    assert sum(int(c) for c in data(d.charts.latency.value, "count")) == 12
    d.close()


def test_text_and_html_stand_in_without_a_widget_front_end() -> None:
    @concur_nb.concurrent(max_inputs=3)
    @concur_nb.function(name="dash_text")
    def square(x: int) -> int:
        return x * x

    assert list(square.map(range(5))) == [0, 1, 4, 9, 16]
    d = dashboard(square)
    text = repr(d)
    assert "function: dash_text" in text and "done / failed / cancelled: 5 / 0 / 0" in text
    bundle = d._repr_mimebundle_()
    assert bundle["text/plain"] == d.text()
    assert "cnb-summary" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert not d.refresher.running  # not in a kernel: nothing goes live
    assert auto.maybe_show(square) is None  # and no automatic dashboard either


def test_text_summary_draws_slot_bars_with_the_target() -> None:
    line = summary.container_line(container("c9", 3, max_inputs=4, target=2), width=8)
    assert "[####|##··]" in line and "3/4 (target 2)" in line


def test_importing_the_engine_and_the_auto_hook_loads_no_ui_library() -> None:
    code = (
        "import sys, concur_nb, concur_nb.notebook, concur_nb.notebook.auto as a;"
        "assert a.maybe_show(object()) is None;"
        "bad = [m for m in ('IPython', 'ipywidgets', 'plotly') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    "value,expected", [(None, "-"), (5e-6, "5 µs"), (0.25, "250.0 ms"), (3, "3.00 s")]
)
def test_durations_are_human_sized(value: float | None, expected: str) -> None:
    assert summary.seconds(value) == expected
