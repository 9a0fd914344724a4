"""Modal's stacked decorators: ``concurrent``, ``batched`` and ``method``, with Modal's rules.

As on Modal they only mark the function or class; ``@app.function()`` / ``@app.cls()`` above
them registers it with everything at once (a generator function must be wrapped before it is
registered, and a parametrized class subclassed). Placed above an ``@app.function()`` instead,
they apply to the registered handle at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import concur_nb

from .._errors import InvalidError
from .._markers import BATCH, ROLE, batch_spec, check_batchable, is_method_definition
from .._markers import enter as _native_enter
from .._markers import method as _native_method
from . import _options
from ._functions import GENERATOR_FLAG, PENDING


def _no_positional(name: str, obj: Any) -> None:
    if obj is not None:
        raise InvalidError(
            f"Positional arguments are not allowed. Did you forget parentheses? "
            f"Suggestion: `@modal.{name}()`."
        )


CONCURRENCY = "__concur_nb_concurrency__"  # (max_inputs, target_inputs) given to a web function


def concurrent(
    _warn_parentheses_missing: Any = None,
    /,
    *,
    max_inputs: Any = None,
    target_inputs: Any = None,
) -> Callable[[Any], Any]:
    """Let each container run up to ``max_inputs`` inputs at once (``target_inputs``: what the
    autoscaler aims for). Stack it under ``@app.function()`` or ``@app.cls()``."""
    _no_positional("concurrent", _warn_parentheses_missing)
    native = concur_nb.concurrent(max_inputs=max_inputs, target_inputs=target_inputs)

    def mark(obj: Any) -> Any:
        if isinstance(obj, (concur_nb.Function, concur_nb.Cls)):
            return native(obj)
        if not callable(obj) or (not inspect.isclass(obj) and is_method_definition(obj)):
            return native(obj)  # the native error: decorate the class instead
        pending = list(getattr(obj, PENDING, ()))
        pending.append(native)
        setattr(obj, PENDING, pending)
        setattr(obj, CONCURRENCY, (max_inputs, target_inputs))  # read by web endpoints
        return obj

    return mark


def batched(
    _warn_parentheses_missing: Any = None, /, *, max_batch_size: Any = None, wait_ms: Any = None
) -> Callable[[Any], Any]:
    """Call the function with lists of up to ``max_batch_size`` inputs, gathered for at most
    ``wait_ms`` (Modal's bounds: 1-1000 and 0-600000)."""
    _no_positional("batched", _warn_parentheses_missing)
    _options.check_batching(max_batch_size, wait_ms)
    if max_batch_size is None:
        raise InvalidError(
            "batched() needs max_batch_size, e.g. @modal.batched(max_batch_size=8, wait_ms=100)."
        )
    spec = batch_spec(max_batch_size, wait_ms)

    def mark(fn: Any) -> Any:
        if isinstance(fn, (concur_nb.Function, concur_nb.Cls)) or inspect.isclass(fn):
            raise InvalidError(
                "@modal.batched goes directly on a function or method, under @app.function()."
            )
        if not callable(fn):
            raise InvalidError(f"@modal.batched decorates a function, got {fn!r}.")
        method_definition = is_method_definition(fn)
        check_batchable(fn, skip_self=method_definition)
        setattr(fn, BATCH, spec)
        if method_definition:
            setattr(fn, ROLE, "method")
        return fn

    return mark


def method(
    _warn_parentheses_missing: Any = None, /, *, is_generator: bool | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method of an ``@app.cls()`` class as callable (``is_generator=True`` for one
    that returns a generator object without being a generator function)."""
    _no_positional("method", _warn_parentheses_missing)
    mark = _native_method()

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = mark(fn)
        if is_generator is not None:
            setattr(fn, GENERATOR_FLAG, bool(is_generator))
        return fn

    return decorate


def enter(
    _warn_parentheses_missing: Any = None, /, *, snap: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method that runs once per container before its first input (load a model...).

    ``snap=True`` (Modal's memory snapshots) is accepted and ignored, with one warning.
    """
    _no_positional("enter", _warn_parentheses_missing)
    if snap:
        _options.warn_ignored("modal.enter", ["snap"])
    return _native_enter()
