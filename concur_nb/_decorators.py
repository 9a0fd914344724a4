"""The decorators: ``concurrent``, ``function`` and ``batched`` turn a function or a class into
a handle (``Function`` or ``Cls``), or configure one that already is."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, cast, overload

from ._classes import Cls
from ._clock import Clock
from ._containers.choice import check_backend
from ._errors import InvalidError
from ._function import Function
from ._markers import (
    BATCH,
    ROLE,
    batch_spec,
    check_batchable,
    is_method_definition,
    no_bare_use,
)
from ._settings import Settings


class Decorator(Protocol):
    """What ``concurrent(...)`` and ``function(...)`` return: a class becomes a ``Cls``, a
    function (or a callable object) a ``Function``; a handle stays what it is."""

    @overload
    def __call__(self, obj: Function, /) -> Function: ...
    @overload
    def __call__(self, obj: Cls, /) -> Cls: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, obj: type, /) -> Cls: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, obj: Callable[..., Any], /) -> Function: ...


def _register(obj: Any, settings: dict[str, Any], decorator: str) -> Function | Cls:
    """Turn ``obj`` (a function, class, or an already registered one) into a handle."""
    if isinstance(obj, Function) and obj._owner is not None:
        raise InvalidError(f"@{decorator} goes on the class, not on one of its methods.")
    if isinstance(obj, (Function, Cls)):
        obj._configure(**settings)
        return obj
    if inspect.isclass(obj):
        handle: Function | Cls = Cls(obj)
    elif callable(obj):
        if is_method_definition(obj):
            raise InvalidError(
                f"@{decorator} cannot decorate the method {obj.__qualname__}: all methods of a "
                "class share its containers, so decorate the class instead."
            )
        if inspect.isgeneratorfunction(obj) or inspect.isasyncgenfunction(obj):
            raise InvalidError(
                f"{obj.__qualname__} is a generator; concurrent functions return a value. "
                "Return a list, or call it once per item with .map()."
            )
        handle = Function(obj, batching=getattr(obj, BATCH, None))
    else:
        raise InvalidError(f"@{decorator} decorates a function or a class, got {obj!r}.")
    handle._configure(**settings)
    return handle


def concurrent(
    _obj: Any = None, /, *, max_inputs: Any = None, target_inputs: Any = None
) -> Decorator:
    """Let each container run up to ``max_inputs`` inputs at once.

    ``target_inputs`` (default: ``max_inputs``) is what the autoscaler aims for per container;
    containers burst up to ``max_inputs`` while new ones start. Sync functions run on threads
    (they must be thread-safe), async functions as tasks on one event loop per container.

    Example::

        @concur_nb.concurrent(max_inputs=100, target_inputs=80)
        def fetch(url): ...
    """
    no_bare_use("concurrent", _obj, "max_inputs=10")
    if max_inputs is None:
        raise InvalidError(
            "concurrent() needs max_inputs, the most inputs one container runs at once: "
            "e.g. @concur_nb.concurrent(max_inputs=10)."
        )
    settings = Settings(max_inputs=max_inputs, target_inputs=target_inputs)
    settings.validate()

    def decorate(obj: Any) -> Any:
        return _register(
            obj, {"max_inputs": max_inputs, "target_inputs": target_inputs}, "concurrent"
        )

    return cast(Decorator, decorate)


def function(
    _obj: Any = None,
    /,
    *,
    max_containers: Any = None,
    min_containers: Any = 0,
    buffer_containers: Any = 0,
    scaledown_window: Any = 60,
    timeout: Any = 300,
    retries: Any = None,
    backend: Any = None,
    name: str | None = None,
    clock: Clock | None = None,
) -> Decorator:
    """Autoscaler and run settings for a function or class (optional: defaults apply).

    ``backend``: None (threads for sync, asyncio for async), ``"process"``, or
    ``concur_nb.ssh(...)`` or ``concur_nb.ray(...)``. ``clock``: a ``concur_nb.testing.MockClock``
    for tests.
    """
    no_bare_use("function", _obj, "")
    settings = {
        "max_containers": max_containers,
        "min_containers": min_containers,
        "buffer_containers": buffer_containers,
        "scaledown_window": scaledown_window,
        "timeout": timeout,
        "retries": retries,
    }
    Settings(**settings).validate()
    check_backend(backend)  # fail at decoration, not at the first call
    extra = {"backend": backend, "clock": clock, "name": name}

    def decorate(obj: Any) -> Any:
        return _register(obj, {**settings, **extra}, "function")

    return cast(Decorator, decorate)


def batched(
    _obj: Any = None, /, *, max_batch_size: Any = None, wait_ms: Any = None
) -> Callable[[Any], Any]:
    """Call the function with lists: callers pass single inputs, up to ``max_batch_size`` are
    grouped, and a batch runs when full or ``wait_ms`` after its first input arrived.

    The function must return a list with one output per input, in order.
    """
    no_bare_use("batched", _obj, "max_batch_size=8, wait_ms=100")
    if max_batch_size is None:
        raise InvalidError(
            "batched() needs max_batch_size, e.g. @batched(max_batch_size=8, wait_ms=100)."
        )
    spec = batch_spec(max_batch_size, wait_ms)

    def decorate(fn: Any) -> Any:
        if isinstance(fn, (Function, Cls)) or inspect.isclass(fn) or not callable(fn):
            raise InvalidError(
                "@batched goes directly on a function or method, below @function/@concurrent."
            )
        method_definition = is_method_definition(fn)
        check_batchable(fn, skip_self=method_definition)
        setattr(fn, BATCH, spec)
        if method_definition:
            setattr(fn, ROLE, "method")
            return fn
        return _register(fn, {}, "batched")

    return decorate
