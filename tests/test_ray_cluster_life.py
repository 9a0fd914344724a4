"""The cluster's own life under Ray containers: one concur_nb starts, and one that goes away.

- ``concur_nb.ray()`` with no address and no ``RAY_ADDRESS`` starts a local cluster (tutorial
  9's path on a laptop), runs inputs on it, and leaves nothing alive behind.
- The whole cluster going away mid-run (every raylet and the GCS killed) fails the running and
  queued inputs with a clear error, in bounded time, never a hang.

Ray's processes must not reach past loopback here, so this file, run as a script, does the
work inside ``tests/ray_namespace.py`` (a network and PID namespace of its own: with no cluster
in it for the first, with the two-node one for the second); the tests read what it printed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import ray_namespace
from conftest import require

BUDGET = 300  # seconds: a cluster starting on 2 loaded cores, the inputs, the exit
LEFT_AFTER = 20.0  # seconds the namespace may take to see Ray's processes end after the child
FAILED_WITHIN = 30.0  # seconds from the cluster's death to every input ended (the watch: 5 s)
RAY_PROCESSES = (b"raylet", b"gcs_server", b"ray::", b"default_worker", b"dashboard", b"ray/")


@pytest.fixture(scope="module")
def local_run() -> dict[str, Any]:
    """Tutorial 9's no-address path, once, in a namespace with no cluster."""
    return run_in_namespace("outer", cluster=False)


@pytest.mark.real
@pytest.mark.timeout(BUDGET + 60)
def test_no_address_starts_a_local_cluster_and_runs_inputs_on_it(
    local_run: dict[str, Any],
) -> None:
    seen = local_run
    assert seen["address_set"] is False  # no RAY_ADDRESS: concur_nb had to start the cluster
    assert seen["started_here"] is True  # its GCS is a child of the kernel: ray.init started it
    assert seen["results"] == [x * 2 for x in range(20)]
    assert sorted(seen["gpu_ids"]) == [["0"], ["1"]]  # the init_options reached ray.init


@pytest.mark.real
@pytest.mark.timeout(BUDGET + 60)
def test_shutdown_keeps_the_local_cluster_and_exit_leaves_nothing_alive(
    local_run: dict[str, Any],
) -> None:
    seen = local_run
    # Ray starts a local cluster's GCS and raylet to die with the *thread* that started them:
    # had that been a container's reader thread, the cluster would be gone by now.
    assert seen["gcs_alive_after_shutdown"] is True  # the kernel can still use Ray
    assert seen["ours_alive_after_shutdown"] == []
    assert seen["child_exit"] == 0
    assert seen["ray_processes_left"] == []


@pytest.mark.real
@pytest.mark.timeout(BUDGET + 60)
def test_the_whole_cluster_going_away_fails_running_and_queued_inputs_clearly() -> None:
    seen = run_in_namespace("lose", cluster=True)
    assert seen["killed"] >= 3  # two raylets and the GCS
    assert seen["error_type"] == "ContainerError"
    assert "the Ray cluster went away: its GCS at 127.0.0.1:6379" in seen["error"]
    assert seen["ended_after"] < FAILED_WITHIN
    # Every input ended exactly once: the ones that finished before, the rest failed.
    assert seen["submitted"] == 40 and seen["queued"] == 0 and seen["in_flight"] == 0
    assert seen["succeeded"] + seen["failed"] == 40 and seen["failed"] >= 8
    assert seen["clear"] == seen["failures"] == seen["failed"]  # each says what happened
    assert seen["shutdown_took"] < 10


def run_in_namespace(part: str, *, cluster: bool) -> dict[str, Any]:
    """Run this file's ``part`` in a namespace; the JSON it printed last."""
    require(ray_namespace.missing() is None, f"a namespace with Ray ({ray_namespace.missing()})")
    done = ray_namespace.run([sys.executable, __file__, part], timeout=BUDGET, cluster=cluster)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        pytest.fail(f"exit {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    seen: dict[str, Any] = json.loads(lines[-1])
    return seen


def lose() -> None:
    """In the namespace beside the two-node cluster: kill all of it while inputs run."""
    import concur_nb
    from concur_nb import ContainerError

    @concur_nb.function(backend=concur_nb.ray(num_cpus=0), max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=4)
    def work(x: int) -> int:
        time.sleep(0.5)
        return x

    deadline = time.monotonic() + 120
    while sum(c.status == "running" for c in work.snapshot().containers) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no two containers: {work.snapshot().containers}")
        time.sleep(0.1)
    call = work.spawn_map(range(40))  # 8 run at once, the rest queue
    while work.snapshot().slots_in_use < 8:
        time.sleep(0.02)
    cluster = [pid for pid, argv in processes() if argv[0].endswith((b"raylet", b"gcs_server"))]
    for pid in cluster:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    try:
        call.get(timeout=FAILED_WITHIN * 2)
        error: BaseException | None = None
    except ContainerError as exc:
        error = exc
    ended_after = time.monotonic() - killed_at
    snap = work.snapshot()
    failures = [i.error or "" for i in work.inputs(40) if i.status == "failed"]
    clear = sum("the Ray cluster went away: its GCS" in text for text in failures)
    started = time.monotonic()
    work.shutdown()
    seen = {
        "killed": len(cluster),
        "error_type": type(error).__name__,
        "error": str(error),
        "ended_after": ended_after,
        "submitted": snap.submitted,
        "succeeded": snap.succeeded,
        "failed": snap.failed,
        "queued": snap.queued,
        "in_flight": snap.in_flight,
        "failures": len(failures),
        "clear": clear,
        "shutdown_took": time.monotonic() - started,
    }
    print(json.dumps(seen), flush=True)
    # Ray's own client ends a process whose GCS stayed away for 60 s, with a fatal log line;
    # what this test checks is said above, so leave now.
    os._exit(0)


def processes() -> list[tuple[int, list[bytes]]]:
    """Every process of this PID namespace, with its command line."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                found.append((int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")))
        except OSError:
            continue
    return found


def inner() -> None:
    """In the namespace, in a child Python: the tutorial's path, with no cluster running."""
    import ray

    import concur_nb

    address_set = "RAY_ADDRESS" in os.environ
    backend = concur_nb.ray(
        num_gpus=1, init_options={"num_cpus": 2, "num_gpus": 2, "include_dashboard": False}
    )

    @concur_nb.function(backend=backend, max_containers=2, min_containers=2)
    @concur_nb.concurrent(max_inputs=4)
    def double(x: int) -> int:
        time.sleep(0.02)
        return x * 2

    deadline = time.monotonic() + 120
    while sum(c.status == "running" for c in double.snapshot().containers) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no two containers: {double.snapshot().containers}")
        time.sleep(0.1)
    gpu_ids = [c.info["gpu_ids"] for c in double.snapshot().containers]
    results = list(double.map(range(20)))
    started_here = any(parent == os.getpid() for parent in ppids_of(b"gcs_server"))
    host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
    double.shutdown()
    time.sleep(2.0)
    try:  # a plain TCP look: Ray's own calls block for 60 s on a GCS that is gone
        socket.create_connection((host, int(port)), timeout=2).close()
        gcs_alive = True
    except OSError:
        gcs_alive = False
    ours = None
    if gcs_alive:
        ours = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith("concur_nb-")
        ]
    print(
        json.dumps(
            {
                "address_set": address_set,
                "started_here": started_here,
                "results": results,
                "gpu_ids": gpu_ids,
                "gcs_alive_after_shutdown": gcs_alive,
                "ours_alive_after_shutdown": ours,
            }
        ),
        flush=True,
    )
    # No ray.shutdown(): a user's kernel just ends; the exit hooks must leave nothing alive.


def ppids_of(name: bytes) -> list[int]:
    """The parent pids of the processes whose command line holds ``name``."""
    parents = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and name in (entry / "cmdline").read_bytes():
                status = (entry / "status").read_text()
                parents.append(int(status.split("PPid:")[1].split()[0]))
        except OSError:
            continue
    return parents


def ray_processes() -> list[str]:
    """Ray's processes alive in this PID namespace (zombies, already ended, do not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (1, os.getpid()):
            continue  # 1: the namespace's own shell
        try:
            argv = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and any(name in argv for name in RAY_PROCESSES):
            found.append(argv.replace(b"\0", b" ").decode(errors="replace")[:120])
    return found


def outer() -> None:
    """In the namespace: run the child, then look for what it left alive."""
    done = subprocess.run(
        [sys.executable, __file__, "inner"], capture_output=True, text=True, check=False
    )
    sys.stderr.write(done.stderr[-5000:])
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        print(done.stdout[-3000:])
        sys.exit(f"the child failed (exit {done.returncode})")
    seen = json.loads(lines[-1])
    seen["child_exit"] = done.returncode
    deadline = time.monotonic() + LEFT_AFTER
    while ray_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    seen["ray_processes_left"] = ray_processes()
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    {"inner": inner, "outer": outer, "lose": lose}[sys.argv[1]]()
