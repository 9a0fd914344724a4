"""The class each web endpoint runs as: one instance per container, built once by ``@enter``.

Modal calls a web function once per container to get its app (or to start its server); here
that call is the ``@enter`` hook of a generated class, and each HTTP request is one input of
its ``handle`` method. ASGI apps (and FastAPI wrappers) are served by an async method, so each
request is a task on the container's loop; WSGI apps by a sync method, so each request runs on
one of the container's threads. Either way the request runs inside its input, so what it
prints lands in that input's log.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from .. import enter, exit, method
from ._web_http import Lifespan, Request, Response, call_asgi, call_wsgi, error_response

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"content-length"}


def fastapi_app(fn: Callable[..., Any], http_method: str, docs: bool) -> Any:
    """Wrap a plain function in a FastAPI app at ``/``, as Modal's ``fastapi_endpoint`` does."""
    try:
        from fastapi import FastAPI
    except ImportError as exc:
        raise ImportError(
            "@modal.fastapi_endpoint needs fastapi: pip install 'concur-nb[web]' fastapi"
        ) from exc
    hidden: dict[str, Any] = (
        {} if docs else {"openapi_url": None, "docs_url": None, "redoc_url": None}
    )
    app = FastAPI(**hidden)
    app.add_api_route("/", fn, methods=[http_method])
    return app


async def _built(fn: Callable[..., Any]) -> Any:
    value = fn()
    return await value if inspect.isawaitable(value) else value


def asgi_host(fn: Callable[..., Any], kind: str, http_method: str, docs: bool) -> type:
    """The class for ``asgi_app`` (``fn`` returns the app) and ``fastapi_endpoint`` (``fn`` is
    the endpoint)."""

    class AsgiHost:
        @enter()
        async def build_app(self) -> None:
            app = await _built(fn) if kind == "asgi" else fastapi_app(fn, http_method, docs)
            if not callable(app):
                raise TypeError(
                    f"@modal.asgi_app function {fn.__name__} must return an ASGI app "
                    f"(e.g. a FastAPI or Starlette app), got {app!r}."
                )
            self.lifespan = Lifespan(app)
            await self.lifespan.startup()

        @method()
        async def handle(self, request: Request) -> Response:
            return await call_asgi(self.lifespan.app, request, self.lifespan.state)

        @exit()
        async def stop_app(self) -> None:
            if hasattr(self, "lifespan"):
                await self.lifespan.shutdown()

    return AsgiHost


def wsgi_host(fn: Callable[..., Any]) -> type:
    """The class for ``wsgi_app``: ``fn`` returns a WSGI app (Flask, Django, ...)."""

    class WsgiHost:
        @enter()
        def build_app(self) -> None:
            self.app = fn()
            if not callable(self.app):
                raise TypeError(
                    f"@modal.wsgi_app function {fn.__name__} must return a WSGI app "
                    f"(e.g. a Flask app), got {self.app!r}."
                )

        @method()
        def handle(self, request: Request) -> Response:
            return call_wsgi(self.app, request)

    return WsgiHost


async def wait_for_port(port: int, timeout: float, name: str) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; raise after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"@modal.web_server({port}) function {name} started no server on "
                    f"127.0.0.1:{port} within startup_timeout={timeout} s; start it listening "
                    "on that port (and on 0.0.0.0 or 127.0.0.1), or raise startup_timeout."
                ) from None
            await asyncio.sleep(0.02)
        else:
            writer.close()
            return


def web_server_host(fn: Callable[..., Any], port: int, startup_timeout: float) -> type:
    """The class for ``web_server``: ``fn`` starts a server on ``port``; requests are
    forwarded to it."""

    class WebServerHost:
        @enter()
        async def start_server(self) -> None:
            import httpx

            await _built(fn)
            await wait_for_port(port, startup_timeout, fn.__name__)
            self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None)
            self.unreachable = httpx.TransportError

        @method()
        async def handle(self, request: Request) -> Response:
            headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
            query = request.query_string.decode("latin-1")
            url = f"{request.path}?{query}" if query else request.path
            try:
                reply = await self.client.request(
                    request.method, url, headers=headers, content=request.body
                )
            except self.unreachable as exc:
                return error_response(502, f"the server on port {port} did not answer: {exc!r}")
            kept = tuple((k, v) for k, v in reply.headers.raw if k.lower() not in HOP_BY_HOP)
            return Response(reply.status_code, kept, reply.content)

        @exit()
        async def close_client(self) -> None:
            if hasattr(self, "client"):
                await self.client.aclose()

    return WebServerHost
