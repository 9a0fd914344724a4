"""Decorators that only mark: ``method``, ``enter``, ``exit`` on a class's functions, and the
``batched`` spec. The class or function decorators read the marks."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._errors import InvalidError
from ._validate import non_negative_number, positive_int

ROLE = "__concur_nb_role__"
BATCH = "__concur_nb_batched__"
MAX_BATCH_SIZE = 1000


def is_method_definition(fn: Callable[..., Any]) -> bool:
    """True while ``fn`` is being defined in a class body (``Cls.f``, not ``outer.<locals>.f``)."""
    parts = getattr(fn, "__qualname__", "").split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


def no_bare_use(name: str, obj: Any, example: str) -> None:
    if obj is not None:
        raise InvalidError(
            f"@{name} must be called: write @concur_nb.{name}({example}) (with parentheses)."
        )


def _role(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise InvalidError(f"@{name}() decorates a function of a class, got {fn!r}.")
        setattr(fn, ROLE, name)
        return fn

    return mark


def method(
    _fn: Any = None, /, **_modal_options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method of a ``@concurrent`` class as callable with ``.remote``/``.map``/..."""
    no_bare_use("method", _fn, "")
    return _role("method")


def enter(
    _fn: Any = None, /, **_modal_options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method that runs once per container, before its first input (load a model...)."""
    no_bare_use("enter", _fn, "")
    return _role("enter")


def exit(
    _fn: Any = None, /, **_modal_options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method that runs when its container retires or the function shuts down."""
    no_bare_use("exit", _fn, "")
    return _role("exit")


def check_batchable(fn: Callable[..., Any], *, skip_self: bool) -> None:
    """A batched function takes lists: no defaults, no ``*args``/``**kwargs``."""
    params = list(inspect.signature(fn).parameters.values())[1 if skip_self else 0 :]
    name = getattr(fn, "__qualname__", repr(fn))
    if not params:
        raise InvalidError(f"batched function {name} must take at least one parameter (a list).")
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InvalidError(
                f"batched function {name} cannot take *{p.name}; name each parameter, "
                "each receives a list with one item per input."
            )
        if p.default is not p.empty:
            raise InvalidError(
                f"batched function {name} has a default for {p.name!r}; batched functions "
                "receive a list per parameter, so defaults cannot apply: remove the default."
            )


def batch_spec(max_batch_size: Any, wait_ms: Any) -> tuple[int, float]:
    size = positive_int("max_batch_size", max_batch_size)
    if size > MAX_BATCH_SIZE:
        raise InvalidError(
            f"max_batch_size must be between 1 and {MAX_BATCH_SIZE}, got {max_batch_size!r}."
        )
    if wait_ms is None:
        raise InvalidError("batched() needs wait_ms: how long a batch waits to fill, e.g. 100.")
    return size, non_negative_number("wait_ms", wait_ms)
