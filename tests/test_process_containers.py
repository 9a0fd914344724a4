"""Process containers: functions run in local worker processes with in-process semantics.

The first half drives one container through a small real host (``RecordingHost``); the second
runs the engine's public API with ``backend="process"``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_host import RecordingHost, make_work

import concur_nb
from concur_nb._containers.base import CANCELLED, ERROR, OK, Target
from concur_nb._containers.process import ProcessBackend
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._errors import ContainerError, RemoteError

# --- functions the workers run (imported there by reference: workers get this sys.path) ----


def whoami(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def chatty(x: int) -> int:
    for step in range(3):
        print(f"input {x} step {step}")
    return x


def fails(x: int) -> int:
    raise ValueError(f"bad value {x}")


async def async_square(x: int) -> int:
    await asyncio.sleep(0)
    return x * x


def loop_until(path: str) -> str:
    """Runs until ``path`` exists (cancellation must come into this thread to stop it)."""
    print("looping")
    while not os.path.exists(path):
        time.sleep(0.005)
    return "released"


def cuda_devices(x: int) -> str:
    return os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")


class Model:
    """A class whose ``enter`` loads state once per container, and ``exit`` leaves a trace."""

    def __init__(self) -> None:
        self.loaded_in: int | None = None
        self.trace = os.environ.get("MODEL_TRACE", "")

    def load(self) -> None:
        self.loaded_in = os.getpid()

    def predict(self, x: int) -> tuple[int, int | None]:
        return x + 1, self.loaded_in

    def close(self) -> None:
        Path(self.trace).write_text(f"closed in {os.getpid()}")


def start(
    obj: object, backend: ProcessBackend | None = None, max_inputs: int = 4, **target: object
) -> tuple[ProcessContainer, RecordingHost]:
    host = RecordingHost()
    name = getattr(obj, "__name__", "fn")
    spec = Target(name, obj, bool(target.pop("is_class", False)), **target)  # type: ignore[arg-type]
    container = (backend or ProcessBackend()).create("c-test", spec, max_inputs, host)
    container.start()
    return container, host


@pytest.fixture
def cleanup() -> Iterator[list[ProcessContainer]]:
    """Containers a test started; killed at the end whatever happened."""
    started: list[ProcessContainer] = []
    yield started
    for container in started:
        container.kill()


def test_inputs_run_in_another_process(cleanup: list[ProcessContainer]) -> None:
    container, host = start(whoami)
    cleanup.append(container)
    host.wait_ready()
    outcomes = host.run_all(container, [make_work(x) for x in range(20)], slots=4)
    assert [o.value[0] for o in outcomes] == [x * x for x in range(20)]
    assert {o.value[1] for o in outcomes} == {container.info()["pid"]} != {os.getpid()}
    assert container.kind == "process" and container.info()["device"] == "cpu"


def frozen_objects(_: int) -> int:
    import gc

    return gc.get_freeze_count()


def test_a_ready_worker_keeps_its_startup_heap_out_of_the_collectors_walks(
    cleanup: list[ProcessContainer],
) -> None:
    # Its imports and what enter hooks loaded are frozen when it is ready: a full collection
    # an input triggers then scans only what inputs made, not (say) all of torch.
    container, host = start(frozen_objects)
    cleanup.append(container)
    host.wait_ready()
    (outcome,) = host.run_all(container, [make_work(0)], slots=1)
    assert outcome.value > 1000


def test_an_exception_keeps_its_type_and_shows_the_worker_traceback(
    cleanup: list[ProcessContainer],
) -> None:
    container, host = start(fails)
    cleanup.append(container)
    host.wait_ready()
    work = make_work(7)
    container.submit(work)
    outcome = host.result(work)
    assert outcome.kind == ERROR and isinstance(outcome.value, ValueError)
    assert str(outcome.value) == "bad value 7"
    assert 'raise ValueError(f"bad value {x}")' in str(outcome.value.__cause__)


def test_each_input_log_holds_only_its_own_lines(cleanup: list[ProcessContainer]) -> None:
    container, host = start(chatty, max_inputs=10)
    cleanup.append(container)
    host.wait_ready()
    works = [make_work(x) for x in range(30)]
    host.run_all(container, works, slots=10)
    for x, work in enumerate(works):
        text = "".join(t for _, t in host.logs[work.id])
        assert text == "".join(f"input {x} step {s}\n" for s in range(3))


def test_async_functions_run_as_tasks_in_the_worker(cleanup: list[ProcessContainer]) -> None:
    container, host = start(async_square, async_methods=frozenset())
    cleanup.append(container)
    host.wait_ready()
    works = [make_work(x, is_async=True) for x in range(10)]
    assert [o.value for o in host.run_all(container, works, slots=4)] == [x * x for x in range(10)]


def test_class_enter_runs_in_the_worker_and_exit_when_it_retires(
    cleanup: list[ProcessContainer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "exit-trace"
    monkeypatch.setenv("MODEL_TRACE", str(trace))  # the worker inherits the environment
    container, host = start(Model, is_class=True, enter=("load",), exit=("close",))
    cleanup.append(container)
    host.wait_ready()
    works = [make_work(x, method="predict") for x in range(8)]
    outcomes = host.run_all(container, works, slots=4)
    pid = container.info()["pid"]
    assert [o.value for o in outcomes] == [(x + 1, pid) for x in range(8)]
    container.stop(graceful=True)
    host.wait_for(lambda: bool(host.stopped_containers))
    assert trace.read_text() == f"closed in {pid}"


def test_cancel_reaches_the_running_sync_input_and_spares_its_sibling(
    cleanup: list[ProcessContainer], tmp_path: Path
) -> None:
    container, host = start(loop_until)
    cleanup.append(container)
    host.wait_ready()
    victim, sibling = make_work(str(tmp_path / "never")), make_work(str(tmp_path / "release"))
    container.submit(victim)
    container.submit(sibling)
    host.wait_for(lambda: victim.id in host.logs and sibling.id in host.logs)
    container.cancel(victim.id)
    assert host.result(victim).kind == CANCELLED
    assert sibling.id not in host.outcomes  # still running
    (tmp_path / "release").touch()
    assert host.result(sibling) == type(host.result(sibling))(OK, "released")


def test_kill_terminates_the_worker_and_reports_its_works_unfinished(
    cleanup: list[ProcessContainer], tmp_path: Path
) -> None:
    container, host = start(loop_until)
    cleanup.append(container)
    host.wait_ready()
    pid = container.info()["pid"]
    work = make_work(str(tmp_path / "never"))
    container.submit(work)
    host.wait_for(lambda: work.id in host.logs)
    container.kill()
    host.wait_for(lambda: bool(host.failures))
    assert isinstance(host.failures[0], ContainerError)
    assert "terminated on request" in str(host.failures[0])
    assert work.id not in host.outcomes  # the pool reschedules it elsewhere
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_worker_killed_from_outside_is_reported_failed(
    cleanup: list[ProcessContainer], tmp_path: Path
) -> None:
    container, host = start(loop_until)
    cleanup.append(container)
    host.wait_ready()
    work = make_work(str(tmp_path / "never"))
    container.submit(work)
    host.wait_for(lambda: work.id in host.logs)
    os.kill(container.info()["pid"], signal.SIGKILL)
    host.wait_for(lambda: bool(host.failures))
    assert str(host.failures[0]) == "the worker process was killed by signal SIGKILL (9)"
    assert work.id not in host.outcomes


def test_a_silent_worker_is_declared_dead_after_the_heartbeat_timeout(
    cleanup: list[ProcessContainer],
) -> None:
    container, host = start(whoami, ProcessBackend(heartbeat_timeout=1.5))
    cleanup.append(container)
    host.wait_ready()
    pid = container.info()["pid"]
    os.kill(pid, signal.SIGSTOP)  # alive but silent, like a host behind a dropped link
    try:
        host.wait_for(lambda: bool(host.failures), timeout=15)
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert "no heartbeat from the worker" in str(host.failures[0])


def write_script(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def test_a_worker_with_another_cloudpickle_is_refused_with_what_to_install(
    tmp_path: Path,
) -> None:
    # A stand-in interpreter whose cloudpickle claims an old version, as on a stale host.
    python = write_script(
        tmp_path / "stale-python",
        f"""#!/bin/sh
exec {sys.executable} -c '
import sys, runpy, cloudpickle
cloudpickle.__version__ = "0.0.1"
sys.argv = ["worker", *sys.argv[3:]]
runpy.run_module("concur_nb.worker", run_name="__main__")
' "$@"
""",
    )
    _, host = start(whoami, ProcessBackend(python=python))
    host.wait_for(lambda: bool(host.failures))
    message = str(host.failures[0])
    assert "cloudpickle 0.0.1 there but" in message
    assert "pip install cloudpickle==" in message


def test_an_interpreter_without_concur_nb_says_what_to_install(tmp_path: Path) -> None:
    bare = write_script(tmp_path / "bare-python", f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    _, host = start(whoami, ProcessBackend(python=bare))
    host.wait_for(lambda: bool(host.failures))
    assert "concur_nb is not importable" in str(host.failures[0])
    assert "pip install concur-nb" in str(host.failures[0])


def test_a_missing_interpreter_fails_at_once() -> None:
    _, host = start(whoami, ProcessBackend(python="/nonexistent/python3"))
    host.wait_for(lambda: bool(host.failures), timeout=5)
    assert "could not start a worker process with '/nonexistent/python3'" in str(host.failures[0])


def test_a_function_that_cannot_be_pickled_fails_the_container_clearly() -> None:
    lock = threading.Lock()

    def holds_a_lock(x: int) -> bool:
        return lock.locked()

    _, host = start(holds_a_lock)
    host.wait_for(lambda: bool(host.failures))
    assert "holds_a_lock could not be pickled" in str(host.failures[0])


class BrokenEnter:
    def load(self) -> None:
        raise RuntimeError("weights not found")


def test_an_enter_hook_that_raises_fails_the_container_with_its_traceback() -> None:
    _, host = start(BrokenEnter, is_class=True, enter=("load",))
    host.wait_for(lambda: bool(host.failures))
    message = str(host.failures[0])
    assert "weights not found" in message and 'raise RuntimeError("weights not found")' in message


def test_an_unpicklable_exception_arrives_as_a_remote_error(
    cleanup: list[ProcessContainer],
) -> None:
    container, host = start(raises_unpicklable)
    cleanup.append(container)
    host.wait_ready()
    work = make_work(1)
    container.submit(work)
    error = host.result(work).value
    assert isinstance(error, RemoteError)
    assert "Unpicklable: 1/2" in str(error) and "raise Unpicklable" in error.remote_traceback


def test_an_input_whose_arguments_cannot_be_pickled_fails_alone(
    cleanup: list[ProcessContainer],
) -> None:
    container, host = start(whoami)
    cleanup.append(container)
    host.wait_ready()
    bad, good = make_work(threading.Lock()), make_work(3)
    container.submit(bad)
    container.submit(good)
    error = host.result(bad).value
    assert isinstance(error, RemoteError)
    assert "the input's arguments could not be pickled" in str(error) and "lock" in str(error)
    assert host.result(good).value[0] == 9
    assert not host.failures and container.info()["in_flight"] == 0


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")


def raises_unpicklable(x: int) -> int:
    raise Unpicklable(x, 2)


# --- GPUs, with a stand-in nvidia-smi -----------------------------------------------------

FAKE_GPUS = "0, GPU-aaaa, Stand-in GPU, 81559, 10, 3\n1, GPU-bbbb, Stand-in GPU, 81559, 20, 97\n"


@pytest.fixture
def stand_in_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``nvidia-smi`` first on PATH, reporting two GPUs (for this machine and workers)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    write_script(bin_dir / "nvidia-smi", f"#!/bin/sh\nprintf '{FAKE_GPUS}'\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_gpus_from_a_stand_in_nvidia_smi_pin_one_container_per_gpu(
    stand_in_nvidia_smi: Path, cleanup: list[ProcessContainer]
) -> None:
    backend = ProcessBackend(gpus=None)
    assert backend.max_containers() == 2
    pinned = []
    for _ in range(2):
        container, host = start(cuda_devices, backend)
        cleanup.append(container)
        host.wait_ready()
        work = make_work(0)
        container.submit(work)
        pinned.append(host.result(work).value)
        assert container.gpus[0].endswith("Stand-in GPU (81559 MiB)")
        assert container.info()["device"] == "cuda"
    assert sorted(pinned) == ["0", "1"]


def test_without_pinning_a_worker_leaves_cuda_visible_devices_alone(
    stand_in_nvidia_smi: Path, cleanup: list[ProcessContainer]
) -> None:
    container, host = start(cuda_devices, ProcessBackend())
    cleanup.append(container)
    host.wait_ready()
    work = make_work(0)
    container.submit(work)
    assert host.result(work).value == os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    assert len(container.gpus) == 2  # it can see both


# --- through the public API ---------------------------------------------------------------


@pytest.fixture
def engine() -> Iterator[None]:
    yield
    concur_nb.shutdown()


def test_backend_process_runs_remote_and_map_in_worker_processes(engine: None) -> None:
    square = concur_nb.function(backend="process", max_containers=2)(
        concur_nb.concurrent(max_inputs=4)(whoami)
    )
    value, pid = square.remote(5)
    assert value == 25 and pid != os.getpid()
    results = list(square.map(range(40)))
    assert [r[0] for r in results] == [x * x for x in range(40)]
    snapshot = square.snapshot()
    assert snapshot.backend == "process"
    assert all(c.kind == "process" for c in snapshot.containers)


def test_backend_process_keeps_per_input_logs(engine: None) -> None:
    talk = concur_nb.function(backend="process")(concur_nb.concurrent(max_inputs=8)(chatty))
    assert list(talk.map(range(16))) == list(range(16))
    finished = [info for info in talk.inputs() if info.status == "succeeded"]
    assert len(finished) == 16
    for info in finished:
        lines = [line.text for line in talk.logs(info.id)]
        x = int(lines[0].split()[1])
        assert lines == [f"input {x} step {s}" for s in range(3)]


def test_a_worker_killed_mid_run_loses_no_input(engine: None, tmp_path: Path) -> None:
    slow = concur_nb.function(backend="process", max_containers=2, min_containers=2)(
        concur_nb.concurrent(max_inputs=4)(loop_until)
    )
    gate = str(tmp_path / "gate")
    calls = [slow.spawn(gate) for _ in range(12)]

    def running_pids() -> list[int]:
        containers = slow.snapshot().containers
        return [c.info["pid"] for c in containers if c.in_use > 0 and c.status == "running"]

    deadline = time.monotonic() + 20
    while len(running_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(running_pids()[0], signal.SIGKILL)
    Path(gate).touch()
    assert concur_nb.gather(*calls) == ["released"] * 12
