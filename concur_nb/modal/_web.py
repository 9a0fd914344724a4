"""Modal's web endpoints, served on 127.0.0.1: each HTTP request is one input.

::

    @app.function(max_containers=2)
    @modal.concurrent(max_inputs=4, target_inputs=2)
    @modal.asgi_app()
    def web():
        return my_fastapi_app

    url = web.get_web_url()  # http://127.0.0.1:PORT, served from now on

The decorators only mark the function (``WebSpec`` under ``WEB_MARK``); ``app.function`` sees
the mark (``_web_cls.build_web_handle``, which also handles classes with web methods) and
calls ``build_web_function``, which registers a generated class (one instance
per container, whose ``@enter`` builds the app once, as Modal calls the function once per
container) and returns a ``WebFunction``. Its requests have input ids, per-input logs, the
function's timeout, wait in its queue and drive its autoscaler, like any other inputs.
Responses are buffered (a streaming response arrives whole); websockets are not served.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .. import (
    Cls,
    Event,
    Function,
    FunctionSnapshot,
    InputInfo,
    InvalidError,
    LogLine,
    concurrent,
    function,
)
from ._decorators import CONCURRENCY
from ._web_front import Front
from ._web_hosts import function_host

WEB_MARK = "__concur_nb_web__"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class WebSpec:
    """What a web decorator asked for."""

    kind: str  # "asgi", "wsgi", "fastapi" or "web_server"
    method: str = "GET"
    docs: bool = False
    port: int | None = None
    startup_timeout: float = 5.0
    label: str | None = None
    # (max_inputs, target_inputs) when @modal.concurrent sat below the web decorator
    concurrency: tuple[int, int | None] | None = None


def _concurrency_of(handle: Function) -> tuple[int, int | None]:
    settings = handle.settings
    return settings.max_inputs, settings.target_inputs


def _mark(spec: WebSpec, decorator: str) -> Callable[[Any], Any]:
    def decorate(obj: Any) -> Any:
        if isinstance(obj, Function):  # @modal.concurrent below us: keep its numbers
            fn, marked = obj.__wrapped__, replace(spec, concurrency=_concurrency_of(obj))
        else:
            fn, marked = obj, spec
        if isinstance(fn, (type, Cls)) or not callable(fn):
            raise InvalidError(f"@modal.{decorator}() decorates a function, got {obj!r}.")
        setattr(fn, WEB_MARK, marked)
        return fn

    return decorate


def _no_bare_use(name: str, obj: Any) -> None:
    if obj is not None:
        raise InvalidError(f"@modal.{name} must be called: write @modal.{name}().")


def asgi_app(
    _fn: Any = None,
    /,
    *,
    label: str | None = None,
    custom_domains: Any = None,
    requires_proxy_auth: bool = False,
) -> Callable[[Any], Any]:
    """Serve the ASGI app the function returns (called once per container)."""
    _no_bare_use("asgi_app", _fn)
    return _mark(WebSpec("asgi", label=label), "asgi_app")


def wsgi_app(
    _fn: Any = None,
    /,
    *,
    label: str | None = None,
    custom_domains: Any = None,
    requires_proxy_auth: bool = False,
) -> Callable[[Any], Any]:
    """Serve the WSGI app the function returns; each request runs on a container thread."""
    _no_bare_use("wsgi_app", _fn)
    return _mark(WebSpec("wsgi", label=label), "wsgi_app")


def fastapi_endpoint(
    _fn: Any = None,
    /,
    *,
    method: str = "GET",
    label: str | None = None,
    custom_domains: Any = None,
    docs: bool = False,
    requires_proxy_auth: bool = False,
) -> Callable[[Any], Any]:
    """Serve the function itself at ``/`` for ``method``, wrapped in a FastAPI app."""
    _no_bare_use("fastapi_endpoint", _fn)
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise InvalidError(
            f"fastapi_endpoint(method=...) must be one of {', '.join(HTTP_METHODS)}, "
            f"got {method!r}."
        )
    return _mark(
        WebSpec("fastapi", method=method.upper(), docs=docs, label=label), "fastapi_endpoint"
    )


def web_endpoint(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    """Deprecated in Modal: the old name of ``fastapi_endpoint``."""
    warnings.warn(
        "modal.web_endpoint is deprecated; use modal.fastapi_endpoint, which takes the same "
        "arguments.",
        DeprecationWarning,
        stacklevel=2,
    )
    return fastapi_endpoint(*args, **kwargs)


def web_server(
    port: int,
    *,
    startup_timeout: float = 5.0,
    label: str | None = None,
    custom_domains: Any = None,
    requires_proxy_auth: bool = False,
) -> Callable[[Any], Any]:
    """The function starts a server listening on ``port``; requests are forwarded to it.

    Locally every container shares this machine's ports, so one server per port exists:
    such a function runs on one container (``max_containers`` above 1 is capped, with a
    warning); ``max_inputs`` still bounds the requests forwarded at once.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidError(f"web_server(port) must be a port number 1-65535, got {port!r}.")
    if isinstance(startup_timeout, bool) or not isinstance(startup_timeout, (int, float)):
        raise InvalidError(
            f"web_server(startup_timeout=...) must be a number of seconds, got {startup_timeout!r}."
        )
    if startup_timeout <= 0:
        raise InvalidError(
            f"web_server(startup_timeout=...) must be above 0 seconds, got {startup_timeout!r}."
        )
    spec = WebSpec("web_server", port=port, startup_timeout=float(startup_timeout), label=label)
    return _mark(spec, "web_server")


# --- what app.function calls --------------------------------------------------------------


def web_parts(obj: Any) -> tuple[Callable[..., Any], WebSpec, tuple[int, int | None] | None]:
    """``(fn, spec, concurrency)`` if ``obj`` is a marked web function (perhaps already
    wrapped by ``@modal.concurrent``); raises ``LookupError`` otherwise."""
    if isinstance(obj, Function) and isinstance(getattr(obj.__wrapped__, WEB_MARK, None), WebSpec):
        fn = obj.__wrapped__
        return fn, getattr(fn, WEB_MARK), _concurrency_of(obj)
    spec = getattr(obj, WEB_MARK, None)
    if not isinstance(spec, WebSpec) or isinstance(obj, (Function, Cls)):
        raise LookupError(obj)
    return obj, spec, spec.concurrency or getattr(obj, CONCURRENCY, None)


def build_web_function(
    fn: Callable[..., Any],
    spec: WebSpec,
    function_options: dict[str, Any],
    concurrency: tuple[int, int | None] | None,
) -> WebFunction:
    """Register ``fn``'s endpoint with ``function_options`` (``concur_nb.function``'s
    keywords) and ``concurrency`` (``(max_inputs, target_inputs)`` or None: one at a time)."""
    host = function_host(fn, spec)
    if spec.kind == "web_server":
        function_options = _one_container(fn, function_options)
    host.__name__ = host.__qualname__ = fn.__name__
    host.__doc__ = fn.__doc__
    host.__module__ = fn.__module__
    handle = function(**function_options)(host)
    if concurrency is not None:
        handle = concurrent(max_inputs=concurrency[0], target_inputs=concurrency[1])(handle)
    return WebFunction(handle, handle().handle, spec, fn)


def _one_container(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    wanted = options.get("max_containers")
    if wanted is not None and wanted != 1:
        warnings.warn(
            f"{fn.__name__}: a @modal.web_server runs on one container locally (every "
            f"container would need the same port); max_containers={wanted!r} is capped at 1.",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )
    return {**options, "max_containers": 1}


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside concur_nb (the user's decorator line)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        package + os.sep
    ):
        frame, level = frame.f_back, level + 1
    return level


# The endpoints defined so far, by module and qualified name: defining one again (a notebook
# cell run again) stops the earlier one's front and takes over its port.
_defined: dict[str, weakref.ref[WebFunction]] = {}
_defined_lock = threading.Lock()


class Watched:
    """The read API front-ends use (``Dashboard``, status), passed to the function's ``Cls``."""

    cls: Cls

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def backend_name(self) -> str:
        return self.cls.backend_name

    @property
    def settings(self) -> Any:
        return self.cls.settings

    @property
    def closed(self) -> bool:
        return self.cls.closed

    def update(self, **changes: Any) -> Any:
        return self.cls.update(**changes)

    def snapshot(self) -> FunctionSnapshot:
        return self.cls.snapshot()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        return self.cls.subscribe(callback)

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        return self.cls.inputs(limit)

    def logs(self, input_id: str) -> list[LogLine]:
        return self.cls.logs(input_id)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        return self.cls.search_logs(text, limit)

    def cancel_input(self, input_id: str) -> bool:
        return self.cls.cancel_input(input_id)

    def cancel_all(self) -> None:
        self.cls.cancel_all()


class WebFunction(Watched):
    """A web endpoint: ``get_web_url()`` serves it; its requests are the inputs of its
    ``handler`` (a method of the generated class ``cls``), read like any other function's
    (``snapshot``, ``inputs``, ``logs``, views)."""

    def __init__(
        self,
        handle: Cls,
        handler: Function,
        spec: WebSpec,
        fn: Callable[..., Any],
        name: str | None = None,
    ) -> None:
        self.cls = handle
        self.handler = handler
        self.spec = spec
        self.endpoint_name = name or handle.name
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__
        self._front: Front | None = None
        self._lock = threading.Lock()
        self._port_hint = self._replace_previous(f"{fn.__module__}.{fn.__qualname__}")

    def _replace_previous(self, key: str) -> int:
        """Stop an earlier definition of this endpoint (a notebook cell run again) and return
        its port, so the new one keeps the URL; 0 if there was none."""
        with _defined_lock:
            ref = _defined.get(key)
            _defined[key] = weakref.ref(self)
        previous = ref() if ref is not None else None
        if previous is None:
            return 0
        url = previous._front.url if previous._front is not None else None
        previous.stop_serving()
        return int(url.rsplit(":", 1)[1]) if url else 0

    def __repr__(self) -> str:
        where = self._front.url if self._front is not None else "not served yet"
        return f"<concur_nb.modal web endpoint {self.endpoint_name} ({self.spec.kind}): {where}>"

    # -- serving
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> str:
        """Start serving on ``host:port`` (0: a free port) unless already served; the URL."""
        with self._lock:
            if self._front is None:
                self._front = self._start_front(host, port or self._port_hint)
                self._port_hint = 0
            assert self._front.url is not None
            return self._front.url

    def _start_front(self, host: str, port: int) -> Front:
        front = Front(self.endpoint_name, self.handler.remote.aio, host, port)
        try:
            front.start()
        except OSError:
            if port != self._port_hint or not port:
                raise
            front = Front(self.endpoint_name, self.handler.remote.aio, host, 0)  # taken since
            front.start()
        return front

    def get_web_url(self) -> str:
        """The endpoint's local URL; the first call starts serving it."""
        return self.serve()

    @property
    def web_url(self) -> str:
        return self.get_web_url()

    def stop_serving(self) -> None:
        """Stop the HTTP front (the function's containers stay until they idle out)."""
        with self._lock:
            front, self._front = self._front, None
        if front is not None:
            front.stop()

    def shutdown(self) -> None:
        """Stop serving and retire every container (of the whole class, for a method)."""
        self.stop_serving()
        self.cls.shutdown()

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidError(
            f"{self.endpoint_name} is a web endpoint: send it HTTP requests at "
            f"{self.endpoint_name}.get_web_url() instead of calling .remote()."
        )
