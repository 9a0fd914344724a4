"""Out-of-process containers, measured side by side with their peers in one run.

    .venv/bin/python benchmarks/bench_remote.py [--markdown benchmarks/results/remote.md]

Rows: round trip of a tiny input through one SSH container on 127.0.0.1 (a private sshd, as
in the tests), pipelined throughput through it, cold start of process and SSH containers, and
W2/W3 of the core benchmarks through process containers (the median of ``RUNS`` runs: on a
small shared machine one run says more about its neighbours than about concur_nb). Peers:
``ProcessPoolExecutor`` for the local round trip, and Dask's ``SSHCluster`` over the same sshd
when Dask is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cloudpickle

import concur_nb
from concur_nb._containers.base import Container, Outcome, Target, Work
from concur_nb._containers.process import ProcessBackend
from concur_nb._containers.ssh import SSHBackend, ssh

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sshd import PrivateSshd, SshKeys, find_sshd

cloudpickle.register_pickle_by_value(sys.modules[__name__])

Row = tuple[str, str, str, str, str]  # metric, concur_nb, target, peer, peer / concur_nb
RUNS = 3  # runs of W2 and W3; the table shows the median


def tiny(x: int) -> int:
    return x


def sleep_20ms(x: int) -> int:
    time.sleep(0.02)
    return x


async def sleep_50ms(x: int) -> int:
    await asyncio.sleep(0.05)
    return x


class ReadyWaiter:
    """The least a ContainerHost can be: it notes when the container is ready."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None

    def ready(self, container: Container) -> None:
        self.done.set()

    def failed(self, container: Container, error: BaseException) -> None:
        self.error = error
        self.done.set()

    def started(self, container: Container, work_id: str) -> None:
        pass

    def log(self, work_id: str, stream: str, text: str) -> None:
        pass

    def warning(self, container: Container, message: str) -> None:
        pass

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        return None

    def stopped(self, container: Container) -> None:
        pass


def cold_start(backend: ProcessBackend | SSHBackend, runs: int = 5) -> float:
    """Median seconds from ``start()`` to ready."""
    times = []
    for number in range(runs):
        host = ReadyWaiter()
        container = backend.create(f"cold-{number}", Target("tiny", tiny, False), 1, host)
        began = time.perf_counter()
        container.start()
        host.done.wait(60)
        times.append(time.perf_counter() - began)
        if host.error is not None:
            raise host.error
        container.kill()
    return statistics.median(times)


def p50_round_trip(call: Callable[[int], Any], runs: int = 500) -> float:
    for x in range(20):
        call(x)  # warm
    times = []
    for x in range(runs):
        began = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def efficiency(fn: Any, count: int, each: float, max_inputs: int) -> float:
    fn.remote(0)  # the container is up before the clock starts
    began = time.perf_counter()
    for _ in fn.map(range(count)):
        pass
    ideal = count * each / max_inputs
    return ideal / (time.perf_counter() - began)


def median_efficiency(fn: Any, count: int, each: float, max_inputs: int) -> tuple[float, str]:
    """The median of ``RUNS`` runs, and all of them for the record."""
    runs = [efficiency(fn, count, each, max_inputs) for _ in range(RUNS)]
    return statistics.median(runs), " ".join(f"{run:.2f}" for run in runs)


def ssh_rows(keys: SshKeys, server: PrivateSshd) -> list[Row]:
    backend = ssh(server.destination, python=sys.executable, ssh_options=keys.options())
    one = concur_nb.function(backend=backend, max_containers=1)(
        concur_nb.concurrent(max_inputs=64)(tiny)
    )
    rtt = p50_round_trip(one.remote)
    one.remote(0)
    began = time.perf_counter()
    count = 20_000
    for _ in one.map(range(count)):
        pass
    throughput = count / (time.perf_counter() - began)
    cold = cold_start(ssh(server.destination, python=sys.executable, ssh_options=keys.options()))
    one.shutdown()
    dask_rtt = dask_round_trip(keys, server)
    return [
        (
            "SSH round trip p50, tiny input",
            f"{rtt * 1e3:.2f} ms",
            "<= 2 ms",
            dask_rtt,
            ratio_text(dask_rtt, rtt),
        ),
        ("SSH pipelined throughput (max_inputs=64)", f"{throughput:,.0f}/s", ">= 5,000/s", "", ""),
        ("SSH container cold start", f"{cold:.2f} s", "<= 1.5 s", "", ""),
    ]


def dask_round_trip(keys: SshKeys, server: PrivateSshd) -> str:
    try:
        from dask.distributed import Client, SSHCluster
    except ImportError:
        return "dask not installed"
    cluster = SSHCluster(
        ["127.0.0.1", "127.0.0.1"],
        connect_options={
            "port": server.port,
            "username": keys.user,
            "client_keys": [str(keys.client_key)],
            "known_hosts": str(keys.known_hosts),
        },
        remote_python=sys.executable,
    )
    with cluster, Client(cluster) as client:
        seconds = p50_round_trip(lambda x: client.submit(tiny, x, pure=False).result(), runs=200)
    return f"Dask SSHCluster {seconds * 1e3:.1f} ms"


def ratio_text(peer: str, mine: float) -> str:
    if not peer.startswith("Dask") and not peer.startswith("ProcessPool"):
        return ""
    peer_ms = float(peer.split()[-2])
    return f"{peer_ms / (mine * 1e3):.2f}"


def process_rows() -> list[Row]:
    one = concur_nb.function(backend="process", max_containers=1)(
        concur_nb.concurrent(max_inputs=8)(tiny)
    )
    rtt = p50_round_trip(one.remote)
    one.shutdown()
    with ProcessPoolExecutor(1) as pool:
        pool_rtt = p50_round_trip(lambda x: pool.submit(tiny, x).result())
    peer = f"ProcessPoolExecutor {pool_rtt * 1e3:.2f} ms"
    cold = cold_start(ProcessBackend())
    w2 = concur_nb.function(backend="process", max_containers=1)(
        concur_nb.concurrent(max_inputs=100)(sleep_20ms)
    )
    w2_eff, w2_runs = median_efficiency(w2, 2000, 0.02, 100)
    w2.shutdown()
    w3 = concur_nb.function(backend="process", max_containers=1)(
        concur_nb.concurrent(max_inputs=1000)(sleep_50ms)
    )
    w3_eff, w3_runs = median_efficiency(w3, 20_000, 0.05, 1000)
    w3.shutdown()
    return [
        (
            "process round trip p50, tiny input",
            f"{rtt * 1e3:.2f} ms",
            "",
            peer,
            ratio_text(peer, rtt),
        ),
        ("process container cold start", f"{cold:.2f} s", "<= 0.5 s", "", ""),
        ("W2 via process (2,000 x sleep 20 ms, 100)", f"{w2_eff:.2f}", ">= 0.85", "", ""),
        ("  W2 runs", w2_runs, "", "", ""),
        ("W3 via process (20,000 x async 50 ms, 1000)", f"{w3_eff:.2f}", ">= 0.85", "", ""),
        ("  W3 runs", w3_runs, "", "", ""),
    ]


HEADER: Row = ("metric", "concur_nb", "target", "peer", "peer/concur_nb")


def markdown(rows: list[Row], load_before: float, load_after: float) -> str:
    lines = [
        "# Out-of-process containers (`benchmarks/bench_remote.py`)",
        "",
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}; "
        f"load average {load_before:.1f} before the run, {load_after:.1f} after. "
        f"W2/W3: median of {RUNS} runs, one process container (`max_containers=1`).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(cell.strip() for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def print_table(rows: list[Row]) -> None:
    header = HEADER
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = process_rows()
    sshd = find_sshd()
    if sshd is None:
        rows.append(("SSH rows", "skipped: no sshd", "", "", ""))
    else:
        keys = SshKeys()
        server = PrivateSshd(sshd, keys).start()
        try:
            rows += ssh_rows(keys, server)
        finally:
            server.stop()
            keys.cleanup()
    concur_nb.shutdown()
    print_table(rows)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown(rows, load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
