"""``python -m concur_nb.modal serve app.py`` in a real subprocess: it prints the URL, answers,
reloads when the file changes (same URL), and exits cleanly on SIGINT."""

from __future__ import annotations

import importlib.util
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import require, wait_until

require(
    all(importlib.util.find_spec(m) for m in ("uvicorn", "starlette", "httpx")),
    "the web extra (uvicorn, starlette, httpx)",
)
ROOT = Path(__file__).resolve().parent.parent
LINE_TIMEOUT = 30.0  # seconds to wait for one line of the server's output

APP = """
import concur_nb.modal as modal
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

app = modal.App("served")

async def hello(request):
    return PlainTextResponse("{greeting}")

@app.function()
@modal.concurrent(max_inputs=8)
@modal.asgi_app()
def web():
    return Starlette(routes=[Route("/", hello)])
"""


CLASS_APP = """
import concur_nb.modal as modal

app = modal.App("classy")
other = modal.App("other")

@app.cls()
class Model:
    @modal.enter()
    def load(self):
        self.bias = 1

    @modal.fastapi_endpoint()
    def predict(self, x: int) -> int:
        return x + self.bias

@other.function()
@modal.fastapi_endpoint()
def elsewhere() -> str:
    return "not served"
"""


class Served:
    """A ``serve`` subprocess and the lines it printed, read on a thread."""

    def __init__(self, app_file: Path | str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "concur_nb.modal", "serve", str(app_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.reader.join(LINE_TIMEOUT)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line_with(self, text: str) -> str:
        deadline = time.monotonic() + LINE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in the output: {self.seen}")


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP.format(greeting="hello v1"))
    return path


@pytest.fixture
def served(app_file: Path) -> Iterator[Served]:
    server = Served(app_file)
    yield server
    server.close()


def answer(url: str) -> str | None:
    try:
        return httpx.get(url, timeout=5).text
    except httpx.TransportError:
        return None  # restarting


def test_serve_prints_the_url_answers_reloads_and_stops_on_sigint(
    app_file: Path, served: Served
) -> None:
    url = served.line_with("web =>").split("=> ")[1]
    assert url.startswith("http://127.0.0.1:")
    assert answer(url) == "hello v1"

    app_file.write_text(APP.format(greeting="hello v2"))
    os.utime(app_file, (time.time() + 2, time.time() + 2))  # a new mtime even on coarse clocks
    served.line_with("Reloading")
    assert served.line_with("web =>").split("=> ")[1] == url  # the same URL after a reload
    wait_until(lambda: answer(url) == "hello v2", what="the reloaded app's answer")

    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(30) == 0
    served.line_with("Stopped.")
    assert answer(url) is None  # nothing is left serving
    assert not any("Traceback" in line for line in served.seen)


def test_serve_keeps_watching_a_broken_file_until_it_is_fixed(
    app_file: Path, served: Served
) -> None:
    url = served.line_with("web =>").split("=> ")[1]
    app_file.write_text("this is not python\n")
    os.utime(app_file, (time.time() + 2, time.time() + 2))
    served.line_with("waiting for it to change")
    app_file.write_text(APP.format(greeting="fixed"))
    os.utime(app_file, (time.time() + 4, time.time() + 4))
    assert served.line_with("web =>").split("=> ")[1] == url
    wait_until(lambda: answer(url) == "fixed", what="the fixed app's answer")
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(30) == 0


def test_serve_of_one_app_in_a_file_serves_its_class_endpoints(tmp_path: Path) -> None:
    path = tmp_path / "classy.py"
    path.write_text(CLASS_APP)
    server = Served(f"{path}::app")
    try:
        url = server.line_with("Model.predict =>").split("=> ")[1]
        assert answer(f"{url}?x=41") == "42"
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(30) == 0
        server.line_with("Stopped.")
        assert not any("elsewhere" in line for line in server.seen)
    finally:
        server.close()


def test_serve_of_a_missing_file_says_so() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "concur_nb.modal", "serve", "no_such_app.py"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no such file: no_such_app.py" in done.stderr
