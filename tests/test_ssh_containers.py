"""SSH containers against a real, private sshd on 127.0.0.1 (see ``tests/sshd.py``)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from checkout_python import ROOT, checkout_python
from recording_host import RecordingHost, make_work
from sshd import PrivateSshd, SshKeys, free_port, require_sshd

import concur_nb
from concur_nb._containers.base import CANCELLED, OK, Target
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._containers.ssh import SSHBackend, ssh
from concur_nb._errors import ContainerError, InvalidError
from tests.conftest import wait_until

pytestmark = pytest.mark.real

# The far side cannot import this test module: send its functions and classes by value, as
# cloudpickle does for anything defined in a notebook.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


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


def backend_for(keys: SshKeys, *servers: PrivateSshd, **options: object) -> SSHBackend:
    return ssh(
        *(s.destination for s in servers),
        python=options.pop("python", checkout_python(keys.dir)),  # type: ignore[arg-type]
        ssh_options=keys.options(),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def engine() -> Iterator[None]:
    yield
    concur_nb.shutdown()


@pytest.fixture
def started() -> Iterator[list[ProcessContainer]]:
    containers: list[ProcessContainer] = []
    yield containers
    for container in containers:
        container.kill()


def start(
    backend: SSHBackend, obj: object, started: list[ProcessContainer], max_inputs: int = 4
) -> tuple[ProcessContainer, RecordingHost]:
    host = RecordingHost()
    container = backend.create("c-ssh", Target("fn", obj, False), max_inputs, host)
    started.append(container)
    container.start()
    return container, host


# --- what runs there ----------------------------------------------------------------------


def whoami(x: int) -> tuple[int, int]:
    print(f"computing {x}")
    return x * x, os.getpid()


async def async_double(x: int) -> int:
    return 2 * x


def loop_until(path: str) -> str:
    print("looping")
    while not os.path.exists(path):
        time.sleep(0.005)
    return "released"


def cuda_devices(x: int) -> str:
    return os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")


# --- running functions over ssh -----------------------------------------------------------


def test_sync_and_async_functions_run_over_ssh(
    keys: SshKeys, server: PrivateSshd, engine: None
) -> None:
    backend = backend_for(keys, server)
    square = concur_nb.function(backend=backend)(concur_nb.concurrent(max_inputs=8)(whoami))
    double = concur_nb.function(backend=backend)(concur_nb.concurrent(max_inputs=8)(async_double))
    results = list(square.map(range(20)))
    assert [r[0] for r in results] == [x * x for x in range(20)]
    assert results[0][1] != os.getpid()
    assert list(double.map(range(5))) == [0, 2, 4, 6, 8]
    (container,) = square.snapshot().containers
    assert container.kind == "ssh" and container.host == server.destination
    assert container.info["device"] == "cpu"


def test_a_class_loads_its_state_once_per_ssh_container(
    keys: SshKeys, server: PrivateSshd, engine: None
) -> None:
    @concur_nb.function(backend=backend_for(keys, server))
    @concur_nb.concurrent(max_inputs=4)
    class Embedder:
        def __init__(self) -> None:
            self.loads = 0

        @concur_nb.enter()
        def load(self) -> None:
            self.loads += 1
            self.table = {"a": 1, "b": 2}

        @concur_nb.method()
        def embed(self, key: str) -> tuple[int, int, int]:
            return self.table[key], self.loads, os.getpid()

    model: Any = Embedder()
    results = [model.embed.remote(k) for k in "abab"]
    assert [r[:2] for r in results] == [(1, 1), (2, 1), (1, 1), (2, 1)]
    assert results[0][2] != os.getpid()


def test_per_input_logs_come_back_over_ssh(
    keys: SshKeys, server: PrivateSshd, engine: None
) -> None:
    square = concur_nb.function(backend=backend_for(keys, server))(
        concur_nb.concurrent(max_inputs=8)(whoami)
    )
    list(square.map(range(10)))
    for info in square.inputs():
        lines = [line.text for line in square.logs(info.id)]
        assert len(lines) == 1 and lines[0].startswith("computing ")


def test_cancel_reaches_a_running_sync_input_over_ssh(
    keys: SshKeys, server: PrivateSshd, started: list[ProcessContainer], tmp_path: Path
) -> None:
    container, host = start(backend_for(keys, server), loop_until, started)
    host.wait_ready()
    victim, sibling = make_work(str(tmp_path / "never")), make_work(str(tmp_path / "release"))
    container.submit(victim)
    container.submit(sibling)
    host.wait_for(lambda: victim.id in host.logs and sibling.id in host.logs)
    container.cancel(victim.id)
    assert host.result(victim).kind == CANCELLED
    assert sibling.id not in host.outcomes
    (tmp_path / "release").touch()
    assert host.result(sibling).kind == OK


# --- faults: nothing is lost --------------------------------------------------------------


def test_a_remote_worker_killed_mid_run_loses_no_input(
    keys: SshKeys, server: PrivateSshd, engine: None, tmp_path: Path
) -> None:
    slow = concur_nb.function(
        backend=backend_for(keys, server, containers_per_host=2), min_containers=2
    )(concur_nb.concurrent(max_inputs=3)(loop_until))
    gate = str(tmp_path / "gate")
    calls = [slow.spawn(gate) for _ in range(6)]
    busy = lambda: [c for c in slow.snapshot().containers if c.in_use and c.status == "running"]  # noqa: E731
    wait_until(lambda: len(busy()) == 2)
    os.kill(busy()[0].info["pid"], signal.SIGKILL)  # the worker, on the far side of ssh
    Path(gate).touch()
    assert concur_nb.gather(*calls) == ["released"] * 6


def test_stopping_sshd_mid_run_moves_its_inputs_to_another_host(
    keys: SshKeys, server: PrivateSshd, engine: None, tmp_path: Path
) -> None:
    flaky = PrivateSshd(require_sshd(), keys).start()
    try:
        slow = concur_nb.function(
            backend=backend_for(keys, flaky, server, containers_per_host=1), min_containers=2
        )(concur_nb.concurrent(max_inputs=4)(loop_until))
        gate = str(tmp_path / "gate")
        calls = [slow.spawn(gate) for _ in range(8)]
        on_flaky = lambda: [  # noqa: E731
            c for c in slow.snapshot().containers if c.host == flaky.destination and c.in_use
        ]
        wait_until(lambda: bool(on_flaky()) and sum(c.in_use for c in on_flaky()) == 4)
        flaky.stop()  # the server and its live connections go away
        Path(gate).touch()
        assert concur_nb.gather(*calls) == ["released"] * 8
    finally:
        flaky.stop()


def test_a_worker_that_goes_silent_is_declared_dead(
    keys: SshKeys, server: PrivateSshd, started: list[ProcessContainer]
) -> None:
    backend = backend_for(keys, server, heartbeat_timeout=1.5)
    container, host = start(backend, whoami, started)
    host.wait_ready()
    pid = container.info()["pid"]
    os.kill(pid, signal.SIGSTOP)  # alive, connected, silent: like a link that stalls
    try:
        host.wait_for(lambda: bool(host.failures), timeout=15)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert "no heartbeat from the worker" in str(host.failures[0])


# --- refusals with clear errors -----------------------------------------------------------


def test_an_unknown_host_key_is_refused_without_showing_key_paths(
    keys: SshKeys, server: PrivateSshd, started: list[ProcessContainer], tmp_path: Path
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    backend = ssh(server.destination, python=sys.executable, ssh_options=keys.options(empty))
    _, host = start(backend, whoami, started)
    host.wait_for(lambda: bool(host.failures), timeout=15)
    message = str(host.failures[0])
    assert isinstance(host.failures[0], ContainerError)
    assert "host key is not in known_hosts" in message
    assert str(keys.dir) not in message and str(tmp_path) not in message


def test_a_wrong_python_path_says_which_interpreter_is_missing(
    keys: SshKeys, server: PrivateSshd, started: list[ProcessContainer]
) -> None:
    backend = backend_for(keys, server, python="/nonexistent/bin/python3")
    _, host = start(backend, whoami, started)
    host.wait_for(lambda: bool(host.failures), timeout=15)
    assert "'/nonexistent/bin/python3' was not found" in str(host.failures[0])


def test_an_unreachable_port_fails_within_seconds(
    keys: SshKeys, started: list[ProcessContainer]
) -> None:
    nobody = f"ssh://{keys.user}@127.0.0.1:{free_port()}"
    backend = ssh(nobody, python=sys.executable, ssh_options=keys.options(), connect_timeout=2)
    _, host = start(backend, whoami, started)
    host.wait_for(lambda: bool(host.failures), timeout=10)
    assert f"cannot reach {nobody} over ssh" in str(host.failures[0])
    assert "Connection refused" in str(host.failures[0])


def test_an_unreachable_host_fails_the_call_with_the_reason(keys: SshKeys, engine: None) -> None:
    nobody = f"ssh://{keys.user}@127.0.0.1:{free_port()}"
    backend = ssh(nobody, python=sys.executable, ssh_options=keys.options(), connect_timeout=2)
    square = concur_nb.function(backend=backend)(concur_nb.concurrent(max_inputs=2)(whoami))
    with pytest.raises(ContainerError, match="cannot reach"):
        square.remote(3)


def test_ssh_arguments_are_checked_when_the_backend_is_made() -> None:
    with pytest.raises(InvalidError, match="name at least one host"):
        ssh()
    with pytest.raises(InvalidError, match="pass a list of arguments"):
        ssh("gpu-box", ssh_options="-p 2222")
    with pytest.raises(InvalidError, match="containers_per_host=0"):
        ssh("gpu-box", containers_per_host=0)
    with pytest.raises(InvalidError, match=r"gpus=\[\]"):
        ssh("gpu-box", gpus=[])


def test_ssh_checks_host_keys_and_never_prompts() -> None:
    argv = ssh("gpu-box", ssh_options=["-i", "/home/me/.ssh/id_ed25519"]).argv("gpu-box")
    assert "BatchMode=yes" in argv and "ConnectTimeout=5" in argv
    assert argv[1:5] == ["-T", "-o", "StrictHostKeyChecking=yes", "-o"]  # first: it wins
    assert argv[-1].startswith("exec sh -c 'python3 -m concur_nb.worker --orphan-timeout 30;")


# --- GPUs, with a stand-in nvidia-smi on the worker's PATH --------------------------------

FAKE_GPUS = "0, GPU-aaaa, Stand-in GPU, 81559, 10, 3\n1, GPU-bbbb, Stand-in GPU, 81559, 20, 97\n"


@pytest.fixture
def python_with_stand_in_nvidia_smi(tmp_path: Path) -> str:
    """An interpreter wrapper that puts a fake ``nvidia-smi`` (two GPUs) first on PATH."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text(f"#!/bin/sh\nprintf '{FAKE_GPUS}'\n")
    fake.chmod(0o755)
    wrapper = tmp_path / "python-with-gpus"
    wrapper.write_text(
        f'#!/bin/sh\nPATH="{bin_dir}:$PATH" PYTHONPATH="{ROOT}" exec {sys.executable} "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def test_a_gpu_host_gets_one_container_per_gpu_pinned_with_cuda_visible_devices(
    keys: SshKeys,
    server: PrivateSshd,
    started: list[ProcessContainer],
    python_with_stand_in_nvidia_smi: str,
) -> None:
    backend = backend_for(keys, server, python=python_with_stand_in_nvidia_smi)
    assert backend.max_containers() == 1  # until a worker has reported the host's GPUs
    pinned = []
    for _ in range(2):
        container, host = start(backend, cuda_devices, started)
        host.wait_ready()
        work = make_work(0)
        container.submit(work)
        pinned.append(host.result(work).value)
        assert container.gpus[0].endswith("Stand-in GPU (81559 MiB)")
    assert sorted(pinned) == ["0", "1"]
    assert backend.max_containers() == 2
    wait_until(lambda: "gpu_use" in container.info())  # heartbeats carry GPU use
    (use,) = container.info()["gpu_use"]
    assert use["index"] == container.info()["cuda_visible_devices"]


def test_joblib_tasks_run_over_ssh(keys: SshKeys, server: PrivateSshd, engine: None) -> None:
    import joblib

    from concur_nb._joblib import register

    register()
    backend = backend_for(keys, server, containers_per_host=2)
    with joblib.parallel_config(backend="concur_nb", where=backend, n_jobs=2):
        results = joblib.Parallel()(joblib.delayed(whoami)(x) for x in range(10))
    assert [r[0] for r in results] == [x * x for x in range(10)]
    assert os.getpid() not in {r[1] for r in results}
