"""Where the CPU goes while Ray containers run W3: CPU seconds per process kind.

    .venv/bin/python benchmarks/ray_cpu.py [--inputs 20000] [--py-spy DIR]

It re-runs itself inside a network namespace with the two-node cluster of
``tests/ray_namespace.py`` (which has its own PID namespace, so ``/proc`` lists only the
cluster's processes and this driver). It runs W3 (``asyncio.sleep(0.05)`` on 4 containers x 250
slots) through concur_nb, then the same work on 4 bare async actors with ``ray.get``, and for
each reads every process's CPU time (``/proc/PID/stat``) before and after: the driver (the
kernel's engine), the actors, the raylets, the GCS, and Ray's other daemons. The machine has
few cores, so the share of them the Ray daemons take is what bounds the efficiency here.
With ``--py-spy DIR`` it also records a flame graph of the driver and of one actor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cloudpickle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_ray as bench  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def kind_of(pid: int, cmdline: list[str]) -> str:
    if pid == os.getpid():
        return "driver (engine + Ray client)"
    text = " ".join(cmdline)
    if not cmdline:
        return "other"
    if cmdline[0].endswith("raylet"):
        return "raylets"
    if cmdline[0].endswith("gcs_server"):
        return "gcs"
    if "ContainerActor" in text:
        return "container actors"
    if "Bare" in text:
        return "bare actors"
    if "ray::" in text or "default_worker" in text:
        return "idle Ray workers"
    return "other Ray daemons"


def cpu_times() -> dict[int, tuple[str, float]]:
    """Each process's kind and its CPU seconds (user + system) so far."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        found[int(entry.name)] = (kind_of(int(entry.name), [a for a in argv if a]), seconds)
    return found


def spent(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    by_kind: dict[str, float] = defaultdict(float)
    for pid, (kind, seconds) in cpu_times().items():
        by_kind[kind] += seconds - before.get(pid, (kind, 0.0))[1]
    return dict(by_kind)


def report(title: str, wall: float, ideal: float, by_kind: dict[str, float]) -> None:
    cpus = os.cpu_count() or 1
    total = sum(by_kind.values())
    print(
        f"\n{title}: {wall:.2f} s, efficiency {ideal / wall:.2f}; CPU {total:.2f} s of "
        f"{wall * cpus:.2f} s available ({cpus} CPUs)"
    )
    for kind, seconds in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:32s} {seconds:6.2f} s  {seconds / (wall * cpus):5.0%} of the CPUs")


def spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    spy_bin = Path(sys.executable).with_name("py-spy")
    argv = [
        str(spy_bin),
        "record",
        "-p",
        str(pid),
        "-o",
        str(out),
        "-d",
        str(int(seconds) + 1),
        "-r",
        "250",
        "--native",
        "-f",
        "speedscope",
    ]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=bench.W3_INPUTS)
    parser.add_argument("--py-spy", type=Path)
    parser.add_argument("--no-peer", action="store_true", help="skip the bare actors")
    args = parser.parse_args()
    if not os.environ.get("CONCUR_NB_RAY_NS"):
        wrapper = [sys.executable, str(ROOT / "tests" / "ray_namespace.py"), "--"]
        sys.exit(subprocess.call([*wrapper, sys.executable, *sys.argv]))
    import ray

    import concur_nb

    cloudpickle.register_pickle_by_value(bench)
    n = args.inputs
    ideal = n * bench.W3_SLEEP / (bench.W3_CONTAINERS * bench.W3_SLOTS)
    print(f"load average {os.getloadavg()[0]:.2f}")
    w3 = concur_nb.function(
        backend=concur_nb.ray(num_cpus=0),
        min_containers=bench.W3_CONTAINERS,
        max_containers=bench.W3_CONTAINERS,
    )(concur_nb.concurrent(max_inputs=bench.W3_SLOTS)(bench.sleep_50ms))
    bench.warm(w3, bench.W3_CONTAINERS)
    spies: list[Any] = []
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
        actor_pid = next(
            pid for pid, (kind, _) in cpu_times().items() if kind == "container actors"
        )
        spies = [
            spy(os.getpid(), args.py_spy / "driver.json", ideal * 3),
            spy(actor_pid, args.py_spy / "actor.json", ideal * 3),
        ]
        time.sleep(1.0)
    before = cpu_times()
    in_use: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            in_use.append(w3.snapshot().slots_in_use)

    threading.Thread(target=watch, daemon=True).start()
    start, t0 = time.perf_counter(), time.monotonic()
    assert len(list(w3.map(range(n)))) == n
    wall = time.perf_counter() - start
    done.set()
    seen = w3.inputs(n)
    print(
        f"  timeline (s): last queued {max(i.queued_at for i in seen) - t0:.2f}, "
        f"first started {min(i.started_at or 1e9 for i in seen) - t0:.2f}, "
        f"last finished {max(i.finished_at or 0 for i in seen) - t0:.2f}, "
        f"sum of runs / 1000 slots {sum(i.duration or 0 for i in seen) / 1000:.2f}"
    )
    report("concur_nb on Ray", wall, ideal, spent(before))
    runs = sorted(i.duration or 0.0 for i in w3.inputs(n))
    print(
        f"  slots in use (median of {len(in_use)} looks): {statistics.median(in_use):.0f}; "
        f"an input's run as the engine saw it, p50 {runs[len(runs) // 2] * 1e3:.0f} ms, "
        f"p90 {runs[len(runs) * 9 // 10] * 1e3:.0f} ms"
    )
    for p in spies:
        p.wait()
    w3.shutdown()
    if args.no_peer:
        return
    actors = [
        ray.remote(bench.Bare).options(num_cpus=0, max_concurrency=bench.W3_SLOTS).remote()
        for _ in range(bench.W3_CONTAINERS)
    ]
    ray.get([a.tiny.remote(0) for a in actors])
    before = cpu_times()
    start = time.perf_counter()
    ray.get([actors[i % len(actors)].sleep_50ms.remote(i) for i in range(n)])
    wall = time.perf_counter() - start
    report("bare async actors + ray.get", wall, ideal, spent(before))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
