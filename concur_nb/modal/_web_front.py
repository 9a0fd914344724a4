"""The local HTTP front of a web endpoint: uvicorn on 127.0.0.1, one input per request.

The front is a tiny ASGI app run by uvicorn on a thread of its own. It reads each request
whole, submits it as one input of the endpoint's ``handle`` method (``.remote.aio``), and
writes the input's ``Response`` back. So a request waits in the function's queue when every
slot is taken, and the autoscaler sees it as demand like any other input.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from .. import CallCancelledError, FunctionTimeoutError, InputCancellation
from ._web_http import Request, Response, error_response

START_TIMEOUT = 10.0  # seconds uvicorn may take to start listening
STOP_TIMEOUT = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A bound socket on ``host:port`` (``port=0``: a free port), ready for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP;
    # without it each response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot serve on {host}:{port} ({exc.strerror}); choose another port, or port=0 "
            "for a free one."
        ) from exc
    return sock


class Front:
    """Serves ``submit(request) -> Response`` (an awaitable) over HTTP on ``host:port``."""

    def __init__(self, name: str, submit: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self._submit = submit
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def start(self) -> str:
        """Start serving (at most once); the URL."""
        if self.url is not None:
            return self.url
        try:
            import uvicorn
        except ImportError as exc:
            raise ImportError(
                "serving web endpoints locally needs uvicorn: pip install 'concur-nb[web]'"
            ) from exc
        sock = bind(self._host, self._port)
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            self,
            lifespan="off",  # the app's own lifespan runs in each container (see _web_hosts)
            ws="none",
            log_config=None,  # leave the process's logging configuration alone
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"concur_nb-web-{self.name}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not server.started:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the web front of {self.name} did not start on {host}:{port}.")
        self._server, self._thread = server, thread
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        return self.url

    def stop(self) -> None:
        """Stop serving; requests in flight get up to a few seconds to finish."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        self._server = self._thread = None
        self.url = None

    # --- the ASGI app uvicorn runs ------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1003})
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request = Request(
            scope["method"],
            scope["path"],
            scope["query_string"],
            tuple(scope["headers"]),
            b"".join(chunks),
            scope.get("client"),
            scope.get("server"),
            scope.get("http_version", "1.1"),
        )
        response = await self._answer(request)
        await send(
            {"type": "http.response.start", "status": response.status, "headers": response.headers}
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _answer(self, request: Request) -> Response:
        try:
            response = await self._submit(request)
        except FunctionTimeoutError as exc:
            return error_response(504, f"{self.name} timed out: {exc}")
        except (CallCancelledError, InputCancellation):
            return error_response(503, f"{self.name}: the request's input was cancelled")
        except Exception as exc:
            return error_response(500, f"{self.name} failed: {exc!r}")
        if not isinstance(response, Response):
            return error_response(500, f"{self.name} answered {response!r}, not a Response")
        return response
