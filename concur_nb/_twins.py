"""A blocking callable and its async twin, with real signatures: ``f.map(...)``, ``f.map.aio(...)``.

``f.map`` is a plain function object (so ``help(f.map)``, ``f.map?`` and ``inspect.signature``
show its own parameters and docstring) carrying ``.aio``, another plain function with its own.
For type checkers both are typed from one parameter list (a ``ParamSpec``), so an IDE completes
``f.map(xs, order_outputs=False)`` and ``f.map.aio(...)`` alike.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast, overload

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A")
R_co = TypeVar("R_co", covariant=True)
A_co = TypeVar("A_co", covariant=True)


class Twin(Protocol[P, R_co, A_co]):
    """What ``f.map`` is: call it to block, or call ``.aio`` from async code."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    @property
    def aio(self) -> Callable[P, A_co]: ...


def twin(aio: Callable[P, A]) -> Callable[[Callable[P, R]], Twin[P, R, A]]:
    """Give the decorated blocking function ``aio`` as its async twin::

    @twin(_gather_aio)
    def gather(*calls, return_exceptions=False): ...
    """

    def attach(sync: Callable[P, R]) -> Twin[P, R, A]:
        aio.__name__ = "aio"
        aio.__qualname__ = f"{sync.__qualname__}.aio"
        sync.aio = aio  # type: ignore[attr-defined]
        return cast("Twin[P, R, A]", sync)

    return attach


def _signature(template: Callable[..., Any], returns: Any, bound: bool) -> inspect.Signature:
    """``template``'s signature returning ``returns``, without ``self`` if ``bound``."""
    try:
        sig = inspect.signature(template, eval_str=True)
    except (NameError, TypeError):  # an annotation only a type checker can resolve
        sig = inspect.signature(template)
    params = list(sig.parameters.values())[1 if bound else 0 :]
    return sig.replace(parameters=params, return_annotation=returns)


class TwinMethod(Generic[P, R, A]):
    """A method with an async twin: ``obj.name(...)`` blocks, ``obj.name.aio(...)`` is awaited.

    ``template`` is the method whose parameters and docstring the twins show; ``returns`` and
    ``aio_returns`` their return annotations. With ``cache``, the bound pair is made once per
    object (kept in its ``__dict__``, which then shadows this descriptor).
    """

    def __init__(
        self,
        sync: Callable[Concatenate[Any, P], R],
        aio: Callable[Concatenate[Any, P], A],
        *,
        template: Callable[..., Any],
        returns: Any,
        aio_returns: Any,
        aio_doc: str,
        cache: bool = False,
    ) -> None:
        self._sync = sync
        self._aio = aio
        self._aio_is_coroutine = inspect.iscoroutinefunction(aio)  # asked once, not per bind
        self._template = template
        self._returns = returns
        self._aio_returns = aio_returns
        self._aio_doc = aio_doc
        self._cache = cache
        self.name = getattr(template, "__name__", "verb")
        self._qualname = self.name
        self._signatures: tuple[inspect.Signature, inspect.Signature] | None = None
        self._unbound: Callable[..., Any] | None = None
        self.__doc__ = template.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self._qualname = f"{owner.__qualname__}.{name}"

    def alias(self) -> TwinMethod[P, R, A]:
        """The same method under another name (``experimental_spawn_map = spawn_map.alias()``)."""
        made = copy.copy(self)
        made._signatures = made._unbound = None
        return made

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Callable[Concatenate[Any, P], R]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Twin[P, R, A]: ...

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:  # on the class (``help(Function)``): the plain function, self first
            if self._unbound is None:
                self._unbound = self._make_unbound()
            return self._unbound
        bound = self._bind(obj)
        if self._cache:
            obj.__dict__[self.name] = bound
        return bound

    def signatures(self) -> tuple[inspect.Signature, inspect.Signature]:
        """The blocking form's signature and the async twin's (computed once)."""
        if self._signatures is None:
            self._signatures = (
                _signature(self._template, self._returns, bound=True),
                _signature(self._template, self._aio_returns, bound=True),
            )
        return self._signatures

    def _make_unbound(self) -> Callable[..., Any]:
        sync, aio = self._sync, self._aio

        def call(obj: Any, /, *args: Any, **kwargs: Any) -> Any:
            return sync(obj, *args, **kwargs)

        module = self._template.__module__
        sig = _signature(self._template, self._returns, bound=False)
        _dress(call, module, self.name, self._qualname, self.__doc__, sig)
        call.aio = aio  # type: ignore[attr-defined]
        return call

    def _bind(self, obj: object) -> Any:
        sync, aio = self._sync, self._aio

        def call(*args: Any, **kwargs: Any) -> Any:
            return sync(obj, *args, **kwargs)

        call_aio: Callable[..., Any]
        if self._aio_is_coroutine:

            async def call_aio(*args: Any, **kwargs: Any) -> Any:
                return await cast(Any, aio)(obj, *args, **kwargs)

        else:

            def call_aio(*args: Any, **kwargs: Any) -> Any:
                return aio(obj, *args, **kwargs)

        sig, aio_sig = self.signatures()
        module = self._template.__module__
        _dress(call, module, self.name, self._qualname, self.__doc__, sig)
        _dress(call_aio, module, "aio", f"{self._qualname}.aio", self._aio_doc, aio_sig)
        call.aio = call_aio  # type: ignore[attr-defined]
        return call


def _dress(
    fn: Callable[..., Any],
    module: str,
    name: str,
    qualname: str,
    doc: str | None,
    sig: inspect.Signature,
) -> None:
    fn.__module__ = module
    fn.__name__ = name
    fn.__qualname__ = qualname
    fn.__doc__ = doc
    fn.__signature__ = sig  # type: ignore[attr-defined]
