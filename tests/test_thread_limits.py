"""When the system refuses a new thread, a thread container fails only the input that needed
it (``submit`` raises ``ContainerError``), keeps the threads it has, and still stops cleanly.

The refusal is simulated by a ``threading.Thread.start`` that raises as CPython does at a
thread limit (``RuntimeError: can't start new thread``), for this container's threads only.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from recording_host import RecordingHost, make_work

from concur_nb._containers.base import ERROR, OK, Outcome, Target
from concur_nb._containers.local import LocalContainer
from concur_nb._containers.process import ProcessBackend
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._errors import ContainerError, RemoteError


def wait_for(path: str) -> str:
    while not os.path.exists(path):
        time.sleep(0.005)
    return "released"


def refuse_threads(monkeypatch: pytest.MonkeyPatch, prefix: str, allowed: int) -> None:
    """Threads named ``prefix...`` start ``allowed`` times, then the system says no."""
    real_start: Callable[[threading.Thread], None] = threading.Thread.start
    left = [allowed]

    def start(thread: threading.Thread) -> None:
        if thread.name.startswith(prefix):
            if left[0] <= 0:
                raise RuntimeError("can't start new thread")
            left[0] -= 1
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)


@pytest.fixture
def container() -> Iterator[tuple[LocalContainer, RecordingHost]]:
    host = RecordingHost()
    made = LocalContainer("c-limit", Target("wait_for", wait_for, False), 8, host)
    made.start()
    host.wait_ready()
    yield made, host
    made.stop(graceful=False)


def test_a_refused_thread_fails_that_input_and_the_others_run(
    container: tuple[LocalContainer, RecordingHost],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    box, host = container
    refuse_threads(monkeypatch, "c-limit", allowed=2)
    gate = str(tmp_path / "gate")
    first, second, third = (make_work(gate) for _ in range(3))
    box.submit(first)
    box.submit(second)
    with pytest.raises(ContainerError, match=r"refused thread 3 of c-limit-thread .*ulimit"):
        box.submit(third)
    Path(gate).touch()
    assert host.result(first).kind == OK and host.result(second).kind == OK
    assert third.id not in host.outcomes  # the pool fails it: it was never taken
    # One of the two threads is free (or about to be, having just reported): no new thread.
    again = make_work(gate)
    box.submit(again)  # a free thread serves it: no new one is needed
    assert host.result(again) == Outcome(OK, "released")
    assert box.info()["outstanding"] == 0  # the refused input was not counted


def test_a_container_at_the_thread_limit_still_stops(
    container: tuple[LocalContainer, RecordingHost],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    box, host = container
    refuse_threads(monkeypatch, "c-limit", allowed=1)  # one input thread; no stop thread
    work = make_work(str(tmp_path / "gate"))
    box.submit(work)
    box.stop(graceful=True)  # waits for the input, on the input's own thread
    assert not host.stopped_containers
    (tmp_path / "gate").touch()
    host.wait_for(lambda: bool(host.stopped_containers), timeout=5)
    assert host.result(work).kind == OK


# --- in a worker process, where the refusal is real to the worker ---------------------------


def limited(arg: str) -> str:
    """``"limit:<path>"`` makes this worker refuse new input threads, then waits for the
    file at ``path``; a bare path just waits for that file."""
    if not arg.startswith("limit:"):
        return wait_for(arg)
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if "-thread-" in thread.name:
            raise RuntimeError("can't start new thread")
        real_start(thread)

    threading.Thread.start = start  # type: ignore[method-assign,assignment]
    print("limited")
    return wait_for(arg.removeprefix("limit:"))


@pytest.fixture
def worker() -> Iterator[list[ProcessContainer]]:
    started: list[ProcessContainer] = []
    yield started
    for made in started:
        made.kill()


def test_a_worker_that_cannot_start_a_thread_fails_that_input_only(
    worker: list[ProcessContainer], tmp_path: Path
) -> None:
    host = RecordingHost()
    box = ProcessBackend().create("c-wlimit", Target("limited", limited, False), 4, host)
    worker.append(box)
    box.start()
    host.wait_ready()
    gate = str(tmp_path / "gate")
    running, refused = make_work(f"limit:{gate}"), make_work(gate)
    box.submit(running)  # takes the worker's first thread, then has it refuse more
    host.wait_for(lambda: running.id in host.logs)  # it said the limit is in place
    box.submit(refused)  # needs a second thread, which the worker cannot start
    outcome = host.result(refused, timeout=10)
    assert outcome.kind == ERROR
    assert isinstance(outcome.value, (ContainerError, RemoteError))
    assert "could not start a thread for input" in str(outcome.value)
    Path(gate).touch()
    assert host.result(running, timeout=10) == Outcome(OK, "released")
    assert not host.failures
