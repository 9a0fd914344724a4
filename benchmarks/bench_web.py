"""Web endpoints: a request through the local front vs the same ASGI app served by uvicorn
directly, side by side in one run.

    .venv/bin/python benchmarks/bench_web.py [--markdown benchmarks/results/web.md]

Rows: latency of one request at a time over a kept-alive connection (p50, p99; the two
servers are measured in alternation, so both see the same neighbours on a shared machine),
measured from a client process of its own. The front adds: the request becomes an input,
queued, placed on a container and run there as a task, and its response comes back. Target:
at most 1 ms added at p50.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import concur_nb
import concur_nb.modal as modal
from concur_nb.modal._web_front import bind

REQUESTS = 2000  # sequential requests per server
WARMUP = 200


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def make_app() -> Starlette:
    return Starlette(routes=[Route("/", hello)])


def serve_directly() -> tuple[str, uvicorn.Server, threading.Thread]:
    """The same app under uvicorn with the front's settings, on its own thread."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        make_app(), lifespan="off", ws="none", log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.005)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def serve_through_front() -> tuple[str, modal.App]:
    app = modal.App("bench")

    @app.function()
    @modal.concurrent(max_inputs=100)
    @modal.asgi_app()
    def web() -> Starlette:
        return make_app()

    return web.get_web_url(), app


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sequential(urls: dict[str, str]) -> dict[str, list[float]]:
    """Seconds per request, alternating between the servers request by request."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    clients = {name: httpx.Client(base_url=url) for name, url in urls.items()}
    try:
        for i in range(WARMUP + REQUESTS):
            for name, client in clients.items():
                started = time.perf_counter()
                response = client.get("/")
                elapsed = time.perf_counter() - started
                assert response.text == "hello", response.text
                if i >= WARMUP:
                    times[name].append(elapsed)
    finally:
        for client in clients.values():
            client.close()
    return times


def measure(urls: dict[str, str]) -> dict[str, Any]:
    """What the client process measures (it prints this as JSON)."""
    return {"times": sequential(urls)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--client", nargs=2, metavar=("DIRECT_URL", "FRONT_URL"))
    args = parser.parse_args()
    if args.client:  # the client side, in its own process
        print(json.dumps(measure({"direct": args.client[0], "front": args.client[1]})))
        return
    load_before = os.getloadavg()[0]
    direct_url, server, thread = serve_directly()
    front_url, _app = serve_through_front()
    try:
        # The client runs in another process, as a user's would: in this one it would take
        # turns with the servers' threads for the GIL.
        client = [sys.executable, __file__, "--client", direct_url, front_url]
        measured = json.loads(subprocess.run(client, check=True, capture_output=True).stdout)
        times = measured["times"]
    finally:
        server.should_exit = True
        thread.join(5)
        concur_nb.shutdown()
    ms = {name: [t * 1000 for t in samples] for name, samples in times.items()}
    p50 = {name: statistics.median(samples) for name, samples in ms.items()}
    p99 = {name: percentile(samples, 0.99) for name, samples in ms.items()}
    added = p50["front"] - p50["direct"]
    rows = [
        ("request latency p50", f"{p50['front']:.2f} ms", "", f"{p50['direct']:.2f} ms"),
        ("request latency p99", f"{p99['front']:.2f} ms", "", f"{p99['direct']:.2f} ms"),
        ("added by the front, p50", f"{added:.2f} ms", "<= 1 ms", ""),
    ]
    lines = [
        "# Web endpoints (`benchmarks/bench_web.py`)",
        "",
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}; "
        f"uvicorn {uvicorn.__version__}; load average {load_before:.1f} before the run, "
        f"{os.getloadavg()[0]:.1f} after. {REQUESTS} sequential requests to each server over a "
        "kept-alive connection (httpx, from a client process of its own), alternating; the same "
        "Starlette app served by uvicorn "
        "directly (peer) and through concur_nb.modal's local front (`@modal.asgi_app()`, "
        "`max_inputs=100`, one container).",
        "",
        "| metric | through the front | target | uvicorn directly |",
        "|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
