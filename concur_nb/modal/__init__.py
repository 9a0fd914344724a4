"""Run code written for Modal locally: ``import concur_nb.modal as modal``.

The names Modal code uses for input concurrency behave with the same semantics, on local
threads and event loops (or any concur_nb backend). Cloud-only parameters (``image``,
``gpu``, ``volumes``, ``secrets``, ...) are accepted and ignored, with one warning each time
a decorator receives some.

Example::

    import concur_nb.modal as modal

    app = modal.App()

    @app.function()
    @modal.concurrent(max_inputs=100)
    async def fetch(url: str) -> str: ...
"""

from __future__ import annotations

import contextlib
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .. import _api
from .._api import Cls as Cls
from .._api import Function as Function
from .._api import FunctionCall as FunctionCall
from .._api import batched as batched
from .._api import concurrent as concurrent
from .._api import gather as gather
from .._context import current_function_call_id as current_function_call_id
from .._context import current_input_id as current_input_id
from .._errors import FunctionTimeoutError, InputCancellation, InvalidError
from .._errors import RemoteError as RemoteError
from .._markers import enter as enter
from .._markers import exit as exit
from .._markers import method as method
from .._retries import Retries as Retries
from . import _web, _web_cls
from ._web import asgi_app as asgi_app
from ._web import fastapi_endpoint as fastapi_endpoint
from ._web import web_endpoint as web_endpoint
from ._web import web_server as web_server
from ._web import wsgi_app as wsgi_app

# Parameters of Modal's app.function/app.cls that mean the same thing here.
_KEPT = {
    "max_containers",
    "min_containers",
    "buffer_containers",
    "scaledown_window",
    "timeout",
    "retries",
}


class _CloudOnly:
    """Stands in for cloud-only builders (``modal.Image``, ``modal.Volume``, ``modal.Secret``):
    any chain of calls works and means nothing locally."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return lambda *args, **kwargs: self

    def __call__(self, *args: Any, **kwargs: Any) -> _CloudOnly:
        return self

    def __repr__(self) -> str:
        return f"<concur_nb.modal stand-in for modal.{self._name}: ignored locally>"

    @contextlib.contextmanager
    def imports(self) -> Iterator[None]:
        yield


Image = _CloudOnly("Image")
Volume = _CloudOnly("Volume")
Secret = _CloudOnly("Secret")
CloudBucketMount = _CloudOnly("CloudBucketMount")


def _split_options(kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    kept = {k: v for k, v in kwargs.items() if k in _KEPT}
    concurrency = kwargs.get("allow_concurrent_inputs")
    ignored = sorted(k for k in kwargs if k not in _KEPT and k != "allow_concurrent_inputs")
    if ignored:
        warnings.warn(
            f"{where}: cloud-only parameter(s) {', '.join(ignored)} are ignored when running "
            "locally with concur_nb.",
            UserWarning,
            stacklevel=3,
        )
    if concurrency is not None:
        kept["_max_inputs"] = concurrency
    return kept


class App:
    """A Modal ``App`` whose functions run locally."""

    def __init__(self, name: str | None = None, **_cloud_options: Any) -> None:
        self.name = name
        self.registered_functions: dict[
            str, Function | Cls | _web.WebFunction | _web_cls.WebCls
        ] = {}

    def function(self, _fn: Any = None, /, **kwargs: Any) -> Callable[[Any], Any]:
        """Register a function (``@app.function(...)`` above ``@modal.concurrent(...)``)."""
        if _fn is not None:
            raise InvalidError("@app.function must be called: write @app.function().")
        return self._decorator(kwargs, "app.function")

    def cls(self, _cls: Any = None, /, **kwargs: Any) -> Callable[[Any], Any]:
        """Register a class; its ``@modal.method()``s share containers."""
        if _cls is not None:
            raise InvalidError("@app.cls must be called: write @app.cls().")
        return self._decorator(kwargs, "app.cls")

    def _decorator(self, kwargs: dict[str, Any], where: str) -> Callable[[Any], Any]:
        options = _split_options(kwargs, where)
        legacy_max_inputs = options.pop("_max_inputs", None)

        def decorate(obj: Any) -> Any:
            web = _web_cls.build_web_handle(obj, options, legacy_max_inputs)
            if web is not None:  # a web endpoint (or a class with some): requests are inputs
                self.registered_functions[web.name] = web
                return web
            handle = _api.function(**options)(obj)
            if legacy_max_inputs is not None:
                handle = _api.concurrent(max_inputs=legacy_max_inputs)(handle)
            self.registered_functions[handle.name] = handle
            return handle

        return decorate

    def local_entrypoint(self, _fn: Any = None, /, **_options: Any) -> Callable[[Any], Any]:
        """Mark the script's entry point; locally it is just the function."""
        return lambda fn: fn

    @contextlib.contextmanager
    def run(self, **_options: Any) -> Iterator[App]:
        """Modal's ephemeral app context; locally there is nothing to start."""
        yield self


def _exception_module() -> types.ModuleType:
    module = types.ModuleType(f"{__name__}.exception", "Modal's exception names, mapped.")
    module.InputCancellation = InputCancellation  # type: ignore[attr-defined]
    module.FunctionTimeoutError = FunctionTimeoutError  # type: ignore[attr-defined]
    module.InvalidError = InvalidError  # type: ignore[attr-defined]
    module.RemoteError = RemoteError  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module


exception = _exception_module()
