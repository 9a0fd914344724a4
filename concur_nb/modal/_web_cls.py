"""Web endpoints on the methods of an ``@app.cls`` class, as Modal allows::

    @app.cls()
    @modal.concurrent(max_inputs=10)
    class Model:
        @modal.enter()
        def load(self): self.weights = ...

        @modal.fastapi_endpoint(method="POST")
        def predict(self, item: dict): ...

    url = Model().predict.get_web_url()

The class is registered as a copy of itself in which each web method is replaced by a method
that takes one request; a last ``@enter`` hook, after the user's, builds each method's app
(the user's method, bound to the container's instance). All methods, web or not, share the
class's containers and its ``max_inputs``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .. import Cls, Function, concurrent, enter, exit, function, method
from ._decorators import CONCURRENCY
from ._web import (
    WEB_MARK,
    Watched,
    WebFunction,
    WebSpec,
    _one_container,
    build_web_function,
    web_parts,
)
from ._web_hosts import Endpoint
from ._web_http import Request, Response

ENDPOINTS = "_concur_nb_endpoints"


def web_methods(user_cls: type) -> dict[str, WebSpec]:
    return {
        name: spec
        for name, value in vars(user_cls).items()
        if isinstance(spec := getattr(value, WEB_MARK, None), WebSpec)
    }


def class_parts(obj: Any) -> tuple[type, tuple[int, int | None] | None]:
    """``(user_cls, concurrency)`` if ``obj`` is a class (or a ``Cls``: ``@modal.concurrent``
    below ``@app.cls``) with web methods; raises ``LookupError`` otherwise."""
    if isinstance(obj, Cls):
        user_cls = obj._user_cls  # the class @modal.concurrent registered; rebuilt here
        settings = obj.settings
        concurrency: tuple[int, int | None] | None = (settings.max_inputs, settings.target_inputs)
    elif inspect.isclass(obj):
        user_cls, concurrency = obj, getattr(obj, CONCURRENCY, None)
    else:
        raise LookupError(obj)
    if not web_methods(user_cls):
        raise LookupError(obj)
    return user_cls, concurrency


def _handler(name: str, spec: WebSpec) -> Callable[..., Any]:
    if spec.kind == "wsgi":

        def answer_sync(self: Any, request: Request) -> Response:
            return getattr(self, ENDPOINTS)[name].answer_sync(request)

        answer: Callable[..., Any] = answer_sync
    else:

        async def answer_async(self: Any, request: Request) -> Response:
            return await getattr(self, ENDPOINTS)[name].answer(request)

        answer = answer_async
    answer.__name__ = name
    return method()(answer)


def web_host_class(user_cls: type, specs: dict[str, WebSpec]) -> tuple[type, dict[str, Any]]:
    """A copy of ``user_cls`` whose web methods take requests; and the user's web methods."""
    originals = {name: vars(user_cls)[name] for name in specs}
    namespace = {k: v for k, v in vars(user_cls).items() if k not in ("__dict__", "__weakref__")}
    for name, spec in specs.items():
        namespace[name] = _handler(name, spec)

    async def start_endpoints(self: Any) -> None:  # after the user's @enter hooks
        endpoints = {}
        for name, spec in specs.items():
            endpoint = Endpoint(originals[name].__get__(self), spec)
            await endpoint.start()
            endpoints[name] = endpoint
        setattr(self, ENDPOINTS, endpoints)

    async def stop_endpoints(self: Any) -> None:
        for endpoint in getattr(self, ENDPOINTS, {}).values():
            await endpoint.stop()

    namespace["_concur_nb_start_endpoints"] = enter()(start_endpoints)
    namespace["_concur_nb_stop_endpoints"] = exit()(stop_endpoints)
    return type(user_cls.__name__, user_cls.__bases__, namespace), originals


class WebCls(Watched):
    """An ``@app.cls`` class with web methods: ``Model().predict.get_web_url()`` serves one;
    its other methods are called as usual (``Model().other.remote(x)``)."""

    def __init__(self, handle: Cls, specs: dict[str, WebSpec], originals: dict[str, Any]):
        self.cls = handle
        instance = handle()
        self.endpoints = {
            name: WebFunction(
                handle, getattr(instance, name), spec, originals[name], f"{handle.name}.{name}"
            )
            for name, spec in specs.items()
        }
        self.__doc__ = handle.__doc__

    def __repr__(self) -> str:
        return f"<concur_nb.modal class {self.name} with web endpoints {sorted(self.endpoints)}>"

    def __call__(self, *args: Any, **kwargs: Any) -> _WebInstance:
        return _WebInstance(self, self.cls(*args, **kwargs))

    def shutdown(self) -> None:
        """Stop serving every endpoint and retire every container."""
        for endpoint in self.endpoints.values():
            endpoint.stop_serving()
        self.cls.shutdown()


class _WebInstance:
    def __init__(self, owner: WebCls, instance: Any) -> None:
        self._owner = owner
        self._instance = instance

    def __getattr__(self, name: str) -> WebFunction | Function:
        endpoint = self._owner.endpoints.get(name)
        return endpoint if endpoint is not None else getattr(self._instance, name)


def build_web_class(
    user_cls: type,
    function_options: dict[str, Any],
    concurrency: tuple[int, int | None] | None,
) -> WebCls:
    """Register ``user_cls`` (which has web methods) as ``app.cls`` would; see the module."""
    specs = web_methods(user_cls)
    host, originals = web_host_class(user_cls, specs)
    if any(spec.kind == "web_server" for spec in specs.values()):
        function_options = _one_container(user_cls, function_options)
    handle = function(**function_options)(host)
    if concurrency is not None:
        handle = concurrent(max_inputs=concurrency[0], target_inputs=concurrency[1])(handle)
    return WebCls(handle, specs, originals)


def build_web_handle(
    obj: Any, function_options: dict[str, Any], default_max_inputs: int | None = None
) -> WebFunction | WebCls | None:
    """What ``app.function``/``app.cls`` return for ``obj`` if it is a web function or a class
    with web methods; None otherwise (register ``obj`` as usual then).

    ``function_options``: ``concur_nb.function``'s keywords; ``default_max_inputs``: the
    ``max_inputs`` to use when no ``@modal.concurrent`` was given (Modal's deprecated
    ``allow_concurrent_inputs``).
    """
    default = (default_max_inputs, None) if default_max_inputs is not None else None
    try:
        fn, spec, concurrency = web_parts(obj)
    except LookupError:
        pass
    else:
        return build_web_function(fn, spec, function_options, concurrency or default)
    try:
        user_cls, concurrency = class_parts(obj)
    except LookupError:
        return None
    return build_web_class(user_cls, function_options, concurrency or default)
