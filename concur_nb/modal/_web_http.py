"""One HTTP exchange as plain data, and how a container hands it to an ASGI or WSGI app.

The local front turns each request into a ``Request`` (the input's one argument) and the
input's output is a ``Response``. Both are small frozen records, so an input's arguments read
well in the views (``GET /items?id=3 (0 B)``) and cross a process boundary as they are.
Responses are buffered: a streaming response reaches the client whole, when it ends.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Headers = tuple[tuple[bytes, bytes], ...]
ASGI_VERSION = {"version": "3.0", "spec_version": "2.3"}


@dataclass(frozen=True)
class Request:
    """An HTTP request as the front received it (the body read whole)."""

    method: str
    path: str
    query_string: bytes = b""
    headers: Headers = ()
    body: bytes = b""
    client: tuple[str, int] | None = None
    server: tuple[str, int] | None = None
    http_version: str = "1.1"

    def __repr__(self) -> str:
        query = f"?{self.query_string.decode('latin-1')}" if self.query_string else ""
        return f"{self.method} {self.path}{query} ({len(self.body)} B)"


@dataclass(frozen=True)
class Response:
    """What the app answered: status, headers, and the whole body."""

    status: int
    headers: Headers = ()
    body: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:
        return f"{self.status} ({len(self.body)} B)"


def error_response(status: int, text: str) -> Response:
    return Response(status, ((b"content-type", b"text/plain; charset=utf-8"),), text.encode())


# --- ASGI -------------------------------------------------------------------------------------


async def call_asgi(app: Any, request: Request, state: dict[str, Any] | None) -> Response:
    """Run one request through an ASGI app in this task (so its prints are this input's)."""
    scope = {
        "type": "http",
        "asgi": ASGI_VERSION,
        "http_version": request.http_version,
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.query_string,
        "root_path": "",
        "headers": list(request.headers),
        "client": request.client,
        "server": request.server,
        "state": dict(state) if state is not None else {},  # as uvicorn: a copy per request
    }
    body_sent = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        # As a server does while the client stays connected: nothing more comes. Starlette
        # listens here for a disconnect and cancels this wait when the response is done.
        await asyncio.get_running_loop().create_future()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    return Response(status, tuple(headers), b"".join(chunks))


class Lifespan:
    """The ASGI lifespan protocol for one container's app: startup in ``@enter``, shutdown in
    ``@exit``. An app that does not speak it is served without it (as uvicorn's "auto")."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}

        async def run() -> None:
            try:
                await self.app(scope, self._inbox.get, self._replies.put)
            except Exception as exc:  # kept for the startup error; an app may not do lifespan
                self._error = exc
            finally:
                await self._replies.put({"type": "lifespan.ended"})

        self._task = asyncio.ensure_future(run())
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._replies.get()
        if reply["type"] == "lifespan.startup.failed":
            await self._task
            said = (reply.get("message") or "").strip().splitlines()[-1:]  # the error's line
            detail = "".join(said) or repr(self._error)
            raise RuntimeError(f"the app's lifespan startup failed: {detail}") from self._error
        if reply["type"] == "lifespan.ended":  # it raised or returned: no lifespan support
            self._task = None

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._replies.get()


# --- WSGI -------------------------------------------------------------------------------------


def wsgi_environ(request: Request) -> dict[str, Any]:
    """PEP 3333's environ for ``request``."""
    server = request.server or ("127.0.0.1", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": request.query_string.decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if request.client is not None:
        environ["REMOTE_ADDR"] = request.client[0]
    for raw_name, raw_value in request.headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_wsgi(app: Callable[..., Iterable[bytes]], request: Request) -> Response:
    """Run one request through a WSGI app on this thread (so its prints are this input's)."""
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    result = app(wsgi_environ(request), start_response)
    try:
        body = b"".join([*written, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        return error_response(500, "the WSGI app returned without calling start_response")
    status, headers = started
    encoded = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    return Response(int(status.split(" ", 1)[0]), encoded, body)
