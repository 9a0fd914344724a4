"""Modal's ``Function`` and ``Cls``: the native handles, plus what Modal code also calls on them.

``app.function`` and ``app.cls`` register through the public API (``concur_nb.function``,
``concur_nb.concurrent``) and return the native handle with its class switched to the
subclass here, so the handle is still a ``concur_nb.Function`` (views, ``update``, variants
work on it) and also has ``remote_gen``, ``from_name``, parameters and the rest. The
subclasses add no state of their own (no ``__slots__``), which is what makes the switch safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import concur_nb

from .._errors import InvalidError
from .._markers import BATCH, ROLE
from . import _generators, _registry, _variants
from ._params import bind
from ._twin import Twin

GENERATOR_FLAG = "__concur_nb_modal_is_generator__"
# Stacked decorators waiting for app.function/app.cls: a list of ``handle -> handle`` callables
# applied, in order, to the registered handle (``concurrent`` puts the native decorator here;
# any stacked Modal decorator that needs the registered handle can do the same).
PENDING = "__concur_nb_modal_pending__"


class _Refused(Twin):
    """A verb a generator function does not have (Modal's error, both forms)."""

    def __init__(self, message: str) -> None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise InvalidError(message)

        super().__init__(refuse, refuse)


class Function(concur_nb.Function):
    """A Modal ``Function``: a ``concur_nb.Function`` with Modal's extra names.

    A generator function is called with ``f.remote_gen(x)`` (``async for`` over
    ``f.remote_gen.aio(x)``), which yields each value as the input yields it.
    """

    _modal_generator = False
    _modal_spawn: Callable[..., Any] | None = None

    @staticmethod
    def from_name(
        app_name: str,
        name: str,
        *,
        version: Any = None,
        environment_name: str | None = None,
        client: Any = None,
    ) -> Function:
        """The function ``name`` registered on the ``App(app_name)`` of this process."""
        found = _registry.lookup(app_name, name, "function")
        if not isinstance(found, Function):
            raise AssertionError("the registry holds only adopted handles")
        return found

    @property
    def remote_gen(self) -> Twin:
        """Run a generator function once; iterate over its values as it yields them."""
        return Twin(self._remote_gen, self._remote_gen_aio)

    def _generator_spawn(self, verb: str) -> Callable[..., Any]:
        if not self._modal_generator or self._modal_spawn is None:
            raise InvalidError(
                f"A non-generator function cannot be called with `.{verb}(...)`. "
                f"Use `.remote(...)` instead (on {self.name})."
            )
        return self._modal_spawn

    def _remote_gen(self, *args: Any, **kwargs: Any) -> Any:
        return _generators.iterate(self._generator_spawn("remote_gen"), args, kwargs)

    def _remote_gen_aio(self, *args: Any, **kwargs: Any) -> Any:
        return _generators.iterate_async(self._generator_spawn("remote_gen.aio"), args, kwargs)

    # Modal's rules on the native variant and autoscaler methods (see _variants).
    @property
    def with_options(self) -> Callable[..., Function]:
        return _variants.with_options(self, Function, self._adopt_variant)

    @property
    def with_concurrency(self) -> Callable[..., Function]:
        return _variants.with_concurrency(self, Function, self._adopt_variant)

    @property
    def with_batching(self) -> Callable[..., Function]:
        return _variants.with_batching(self, Function, self._adopt_variant)

    @property
    def autoscaler(self) -> Any:
        return _variants.autoscaler(self, Function)

    @property
    def update_autoscaler(self) -> Callable[..., Any]:
        return _variants.update_autoscaler(self, Function)

    def _adopt_variant(self, variant: concur_nb.Function) -> Function:
        return adopt_function(variant, generator=self._modal_generator)

    def get_web_url(self) -> str | None:
        """The local URL of a web endpoint; None for other functions (as on Modal)."""
        native = getattr(super(), "get_web_url", None)
        return native() if native is not None else None

    def stats(
        self,
        since: Any = None,
        until: Any = None,
        container: Any = None,
        all_variants: bool = False,
    ) -> Any:
        """Locally: the function's snapshot (counts, latencies, containers); filters ignored."""
        return self.snapshot()

    def info(self, refresh: bool = False) -> Any:
        """Locally: the function's snapshot."""
        return self.snapshot()


def adopt_function(
    handle: concur_nb.Function, *, generator: bool = False, raw: Any = None
) -> Function:
    """Make a native handle a Modal ``Function`` (in place); a generator one streams."""
    if not isinstance(handle, Function):
        handle.__class__ = Function
    assert isinstance(handle, Function)
    if generator and not handle._modal_generator:
        handle._modal_spawn = handle.spawn
        handle._modal_generator = True
        for verb in ("remote", "spawn", "map", "starmap", "for_each", "spawn_map"):
            message = (
                f"A generator function cannot be called with `.{verb}(...)`. "
                f"Use `.remote_gen(...)` instead (on {handle.name})."
            )
            setattr(handle, verb, _Refused(message))
        if raw is not None:
            handle.local = raw  # type: ignore[method-assign]
    return handle


class _Obj:
    """What ``Model(...)`` returns: the methods of the pool for those parameter values."""

    def __init__(self, handle: Cls, values: dict[str, Any]) -> None:
        self._handle = handle
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        instance = concur_nb.Cls.__call__(self._handle)
        method = getattr(instance, name)
        return adopt_function(method, generator=name in self._handle._modal_generators)

    def __repr__(self) -> str:
        return f"<concur_nb.modal instance of {self._handle.name}>"


class Cls(concur_nb.Cls):
    """A Modal ``Cls``: a ``concur_nb.Cls`` whose instances may take ``modal.parameter`` values.

    ``Model(name="a").f.remote(x)`` runs on the pool for ``name="a"``, made on first use.
    """

    _modal_params: dict[str, tuple[type, Any]] = {}
    _modal_generators: frozenset[str] = frozenset()
    _modal_base: type | None = None
    _modal_build: Callable[[type, str], concur_nb.Cls] | None = None
    _modal_variants: dict[Any, Cls]
    _modal_lock: threading.Lock

    @staticmethod
    def from_name(
        app_name: str,
        name: str,
        *,
        version: Any = None,
        environment_name: str | None = None,
        client: Any = None,
    ) -> Cls:
        """The class ``name`` registered on the ``App(app_name)`` of this process."""
        found = _registry.lookup(app_name, name, "class")
        if not isinstance(found, Cls):
            raise AssertionError("the registry holds only adopted handles")
        return found

    @property
    def with_options(self) -> Callable[..., Cls]:
        return _variants.with_options(self, Cls, self._adopt_variant)

    @property
    def with_concurrency(self) -> Callable[..., Cls]:
        return _variants.with_concurrency(self, Cls, self._adopt_variant)

    @property
    def with_batching(self) -> Callable[..., Cls]:
        return _variants.with_batching(self, Cls, self._adopt_variant)

    def _adopt_variant(self, variant: concur_nb.Cls) -> Cls:
        # A variant of a parametrized class takes no parameters (not supported yet).
        return adopt_cls(variant, base=None, build=None, generators=self._modal_generators)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._modal_params:
            values = bind(self.name, self._modal_params, args, kwargs)
            return _Obj(self._variant(values), values)
        if args or kwargs:
            if self._modal_build is None:
                return super().__call__(*args, **kwargs)  # the native error
            return _Obj(self._variant({"__init__": (args, kwargs)}), {})
        return _Obj(self, {})

    def _variant(self, values: dict[str, Any]) -> Cls:
        """The pool for one set of parameter values (or constructor arguments)."""
        key = repr(sorted(values.items()))
        with self._modal_lock:
            found = self._modal_variants.get(key)
            if found is not None:
                return found
            assert self._modal_base is not None and self._modal_build is not None
            namespace = dict(values)
            if "__init__" in values:
                args, kwargs = values["__init__"]
                base = self._modal_base

                def __init__(obj: Any) -> None:
                    base.__init__(obj, *args, **kwargs)  # type: ignore[misc]

                namespace["__init__"] = __init__
                shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            else:
                shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            subclass = subclass_with(self._modal_base, namespace)
            handle = self._modal_build(subclass, f"{self.name}({shown})")
            variant = adopt_cls(
                handle, base=subclass, build=None, generators=self._modal_generators
            )
            self._modal_variants[key] = variant
            return variant


def subclass_with(base: type, namespace: dict[str, Any]) -> type:
    """A subclass of ``base`` that repeats its functions in its own namespace.

    The native ``Cls`` reads a class's own namespace for its methods and hooks, so they are
    copied; everything else (attributes, helpers) is inherited.
    """
    own = {
        name: value
        for name, value in vars(base).items()
        if callable(value) and not name.startswith("__")
    }
    subclass = type(base.__name__, (base,), {**own, **namespace})
    subclass.__qualname__ = base.__qualname__
    subclass.__module__ = base.__module__
    return subclass


def adopt_cls(
    handle: concur_nb.Cls,
    *,
    base: type | None,
    build: Callable[[type, str], concur_nb.Cls] | None,
    generators: frozenset[str] = frozenset(),
    params: dict[str, tuple[type, Any]] | None = None,
) -> Cls:
    if not isinstance(handle, Cls):
        handle.__class__ = Cls
    assert isinstance(handle, Cls)
    handle._modal_params = params or {}
    handle._modal_generators = generators
    handle._modal_base = base
    handle._modal_build = build
    handle._modal_variants = {}
    handle._modal_lock = threading.Lock()
    instance = concur_nb.Cls.__call__(handle)
    for name in generators:  # now, once: _Obj may be used from many threads at a time
        adopt_function(getattr(instance, name), generator=True)
    return handle


def generator_methods(user_cls: type) -> frozenset[str]:
    """The methods of a class that stream (generator functions, or ``is_generator=True``)."""
    names = set()
    for name, value in vars(user_cls).items():
        if not callable(value) or getattr(value, ROLE, "method") != "method":
            continue
        flag = getattr(value, GENERATOR_FLAG, None)
        if flag if flag is not None else _generators.is_generator(value):
            if getattr(value, BATCH, None) is not None:
                raise InvalidError(
                    f"Modal batched function {user_cls.__name__}.{name} cannot return generators."
                )
            names.add(name)
    return frozenset(names)


def streaming_class(user_cls: type, generators: frozenset[str]) -> type:
    """``user_cls``, with each generator method replaced by one that streams its values."""
    if not generators:
        return user_cls
    members = vars(user_cls)
    return subclass_with(user_cls, {n: _generators.streaming(members[n]) for n in generators})
