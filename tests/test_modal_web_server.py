"""``@modal.web_server(port)``: the function starts a real HTTP server; the front forwards each
request to it as one input, never more at once than ``max_inputs``."""

from __future__ import annotations

import http.server
import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import require, wait_until
from web_load import Gauge, load_in_background, send_all

import concur_nb.modal as modal

require(
    all(importlib.util.find_spec(m) for m in ("uvicorn", "httpx")), "the web extra (uvicorn, httpx)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Servers:
    """The servers the functions under test start, shut down after each test."""

    def __init__(self) -> None:
        self.started: list[http.server.ThreadingHTTPServer] = []

    def start(self, port: int, gauge: Gauge) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with gauge.running(port):
                    gauge.wait_gate_sync()
                body = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.started.append(server)


@pytest.fixture
def servers() -> Iterator[Servers]:
    made = Servers()
    yield made
    for server in made.started:
        server.shutdown()
        server.server_close()


def test_web_server_forwards_requests_as_inputs_within_max_inputs(servers: Servers) -> None:
    app = modal.App()
    gauge = Gauge()
    port = free_port()

    @app.function()
    @modal.concurrent(max_inputs=3)
    @modal.web_server(port, startup_timeout=5)
    def serve() -> None:
        servers.start(port, gauge)  # returns at once, as a subprocess.Popen would

    url = serve.get_web_url()
    try:
        assert not url.endswith(f":{port}")  # the front has its own port
        with load_in_background(gauge, f"{url}/items", 8) as load:

            def held() -> bool:
                snap = serve.snapshot()
                return (snap.in_flight, snap.queued, gauge.total()) == (3, 5, 3)

            wait_until(held, what="3 requests at the server, 5 waiting in the queue")
            assert gauge.peak == {port: 3}
        responses = load.result()
    finally:
        serve.shutdown()
    assert [r.json()["path"] for r in responses] == [f"/items?i={i}" for i in range(8)]
    assert gauge.peak == {port: 3}
    assert len(servers.started) == 1  # started once, by the one container
    assert {i.status for i in serve.inputs()} == {"succeeded"}
    assert len(serve.inputs()) == 8


def test_web_server_runs_on_one_container_locally(servers: Servers) -> None:
    app = modal.App()
    port = free_port()
    with pytest.warns(UserWarning, match="capped at 1") as warned:

        @app.function(max_containers=4)
        @modal.web_server(port)
        def serve() -> None:
            servers.start(port, Gauge())

    assert warned[0].filename == __file__  # it points at the user's line
    assert serve.settings.max_containers == 1


def test_web_server_that_starts_nothing_fails_its_requests(servers: Servers) -> None:
    app = modal.App()
    port = free_port()

    @app.function(timeout=5)
    @modal.web_server(port, startup_timeout=0.2)
    def serve() -> None:
        pass  # forgot to start the server

    try:
        response = send_all(serve.get_web_url(), 1)[0]
    finally:
        serve.shutdown()
    assert response.status_code >= 500
    assert "startup_timeout" in response.text
