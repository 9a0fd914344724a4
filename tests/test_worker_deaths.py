"""A worker that dies while running inputs is reported once, as a ``ContainerError`` that
names how it ended (exit code or signal), after the last outcome it will ever report.

Real worker processes, local and over a real private sshd (``tests/sshd.py``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from checkout_python import checkout_python
from recording_host import RecordingHost, make_work
from sshd import PrivateSshd, SshKeys, require_sshd

from concur_nb._containers.base import Container, Outcome, Target, Work
from concur_nb._containers.process import ProcessBackend
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._containers.ssh import SSHBackend, ssh
from concur_nb._errors import ContainerError

pytestmark = pytest.mark.real

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the ssh worker can't import us

# --- what the workers run -----------------------------------------------------------------


def quick(x: int) -> int:
    return x


def wait_for(path: str) -> str:
    while not os.path.exists(path):
        time.sleep(0.005)
    return "released"


def exit_3(x: int) -> int:
    os._exit(3)


def segfault(x: int) -> int:
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return x


def pid(x: int) -> int:
    return os.getpid()


def dispatch(kind: str, arg: Any) -> Any:
    """One target for all: the work's first argument says what to do."""
    table: dict[str, Callable[[Any], Any]] = {
        "quick": quick,
        "wait": wait_for,
        "exit": exit_3,
        "segv": segfault,
        "pid": pid,
    }
    return table[kind](arg)


class OrderedHost(RecordingHost):
    """Records the order of ``finished`` and ``failed`` reports."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        self.events.append(f"finished {work_id}")
        return super().finished(container, work_id, outcome)

    def failed(self, container: Container, error: BaseException) -> None:
        self.events.append("failed")
        super().failed(container, error)


def start(backend: ProcessBackend | SSHBackend) -> tuple[ProcessContainer, OrderedHost]:
    host = OrderedHost()
    container = backend.create("c-dies", Target("dispatch", dispatch, False), 4, host)
    container.start()
    host.wait_ready()
    return container, host


def die_while_busy(
    container: ProcessContainer, host: OrderedHost, how: str, tmp_path: Path
) -> BaseException:
    """Run a quick input, start a sibling that waits, then end the worker ``how``."""
    done = make_work("quick", 1)
    container.submit(done)
    host.result(done)
    sibling = make_work("wait", str(tmp_path / "never"))
    container.submit(sibling)
    if how == "SIGKILL":
        worker_pid = make_work("pid", 0)
        container.submit(worker_pid)
        os.kill(host.result(worker_pid).value, signal.SIGKILL)
    else:
        container.submit(make_work(how, 0))
    host.wait_for(lambda: bool(host.failures))
    time.sleep(0.3)  # room for a second report, if one were coming
    assert host.events.count("failed") == 1, host.events
    assert host.events[-1] == "failed", "an outcome was reported after the container failed"
    assert sibling.id not in host.outcomes  # the pool takes it back and runs it elsewhere
    (error,) = host.failures
    assert isinstance(error, ContainerError)
    return error


@pytest.fixture
def cleanup() -> Iterator[list[ProcessContainer]]:
    started: list[ProcessContainer] = []
    yield started
    for container in started:
        container.kill()


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("exit", "the worker process exited with code 3"),
        ("SIGKILL", "the worker process was killed by signal SIGKILL (9)"),
        ("segv", "the worker process was killed by signal SIGSEGV (11)"),
    ],
)
def test_a_local_worker_dying_mid_run_is_reported_once_with_how_it_ended(
    how: str, said: str, cleanup: list[ProcessContainer], tmp_path: Path
) -> None:
    container, host = start(ProcessBackend())
    cleanup.append(container)
    assert said in str(die_while_busy(container, host, how, tmp_path))


def test_an_interpreter_that_exits_at_once_says_the_worker_did_not_start(
    cleanup: list[ProcessContainer],
) -> None:
    host = RecordingHost()
    container = ProcessBackend(python="/bin/true").create(
        "c-true", Target("quick", quick, False), 1, host
    )
    cleanup.append(container)
    container.start()
    host.wait_for(lambda: bool(host.failures))
    message = str(host.failures[0])
    assert "the worker did not start: '/bin/true' exited with code 0" in message
    assert "said hello" in message and "import concur_nb" in message


# --- the same over ssh --------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> Iterator[SshKeys]:
    require_sshd()
    made = SshKeys()
    yield made
    made.cleanup()


@pytest.fixture(scope="module")
def server(keys: SshKeys) -> Iterator[PrivateSshd]:
    running = PrivateSshd(require_sshd(), keys).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def python(keys: SshKeys) -> str:
    return checkout_python(keys.dir)


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("exit", "exited with code 3"),
        ("SIGKILL", "was killed by signal SIGKILL (9)"),
    ],
)
def test_a_remote_worker_dying_mid_run_is_reported_once_with_how_it_ended(
    how: str,
    said: str,
    keys: SshKeys,
    server: PrivateSshd,
    python: str,
    cleanup: list[ProcessContainer],
    tmp_path: Path,
) -> None:
    container, host = start(ssh(server.destination, python=python, ssh_options=keys.options()))
    cleanup.append(container)
    message = str(die_while_busy(container, host, how, tmp_path))
    assert f"the worker process on {server.destination} {said}" in message


def test_a_remote_python_that_exits_at_once_says_the_worker_did_not_start(
    keys: SshKeys, server: PrivateSshd, cleanup: list[ProcessContainer]
) -> None:
    backend = ssh(server.destination, python="/bin/true", ssh_options=keys.options())
    host = RecordingHost()
    container = backend.create("c-true", Target("quick", quick, False), 1, host)
    cleanup.append(container)
    container.start()
    host.wait_for(lambda: bool(host.failures))
    message = str(host.failures[0])
    assert f"the worker on {server.destination} did not start: '/bin/true' exited" in message
