"""What each container runs for a web endpoint: built once by ``@enter``, one input per request.

Modal calls a web function once per container to get its app (or to start its server); here
that call is the ``@enter`` hook of a generated class, and each HTTP request is one input of
its ``handle`` method. ASGI apps (and FastAPI wrappers) are served by an async method, so each
request is a task on the container's loop; WSGI apps by a sync method, so each request runs on
one of the container's threads. Either way the request runs inside its input, so what it
prints lands in that input's log. An ``Endpoint`` is one such app in one container; the
classes of ``@app.cls`` with web methods (``_web_cls``) hold one per method.
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
            "@modal.fastapi_endpoint needs fastapi: pip install 'concur-nb[web]'"
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


def _checked(app: Any, decorator: str, name: str, what: str) -> Any:
    if not callable(app):
        raise TypeError(f"@modal.{decorator} function {name} must return {what}, got {app!r}.")
    return app


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


class Endpoint:
    """One web endpoint in one container. ``fn`` is the user's (perhaps bound) function;
    ``spec`` a ``WebSpec``. Sync endpoints (WSGI) answer on threads, the others on the loop."""

    def __init__(self, fn: Callable[..., Any], spec: Any) -> None:
        self.fn = fn
        self.spec = spec
        self.name = getattr(fn, "__name__", "endpoint")
        self.is_sync = spec.kind == "wsgi"
        self.app: Any = None
        self.lifespan: Lifespan | None = None
        self.client: Any = None

    async def start(self) -> None:
        kind = self.spec.kind
        if kind == "wsgi":
            self.app = _checked(self.fn(), "wsgi_app", self.name, "a WSGI app (e.g. Flask)")
        elif kind == "web_server":
            import httpx

            await _built(self.fn)
            await wait_for_port(self.spec.port, self.spec.startup_timeout, self.name)
            base = f"http://127.0.0.1:{self.spec.port}"
            self.client = httpx.AsyncClient(base_url=base, timeout=None)
        else:
            if kind == "asgi":
                app = _checked(await _built(self.fn), "asgi_app", self.name, "an ASGI app")
            else:
                app = fastapi_app(self.fn, self.spec.method, self.spec.docs)
            self.lifespan = Lifespan(app)
            await self.lifespan.startup()

    def start_sync(self) -> None:
        self.app = _checked(self.fn(), "wsgi_app", self.name, "a WSGI app (e.g. Flask)")

    def answer_sync(self, request: Request) -> Response:
        return call_wsgi(self.app, request)

    async def answer(self, request: Request) -> Response:
        if self.lifespan is not None:
            return await call_asgi(self.lifespan.app, request, self.lifespan.state)
        return await self._forward(request)

    async def _forward(self, request: Request) -> Response:
        import httpx

        headers = [(k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP]
        query = request.query_string.decode("latin-1")
        url = f"{request.path}?{query}" if query else request.path
        try:
            reply = await self.client.request(
                request.method, url, headers=headers, content=request.body
            )
        except httpx.TransportError as exc:
            port = self.spec.port
            return error_response(502, f"the server on port {port} did not answer: {exc!r}")
        kept = tuple((k, v) for k, v in reply.headers.raw if k.lower() not in HOP_BY_HOP)
        return Response(reply.status_code, kept, reply.content)

    async def stop(self) -> None:
        if self.lifespan is not None:
            await self.lifespan.shutdown()
        if self.client is not None:
            await self.client.aclose()


def function_host(fn: Callable[..., Any], spec: Any) -> type:
    """The class a web function runs as: one ``Endpoint`` per container, one method."""
    if spec.kind == "wsgi":

        class SyncHost:
            @enter()
            def start_endpoint(self) -> None:
                self.endpoint = Endpoint(fn, spec)
                self.endpoint.start_sync()

            @method()
            def handle(self, request: Request) -> Response:
                return self.endpoint.answer_sync(request)

        return SyncHost

    class AsyncHost:
        @enter()
        async def start_endpoint(self) -> None:
            self.endpoint = Endpoint(fn, spec)
            await self.endpoint.start()

        @method()
        async def handle(self, request: Request) -> Response:
            return await self.endpoint.answer(request)

        @exit()
        async def stop_endpoint(self) -> None:
            if hasattr(self, "endpoint"):
                await self.endpoint.stop()

    return AsyncHost
