"""User handles: what every handle has, ``Function``, and the registry of handles that
``concur_nb.functions()`` reads (``Cls`` and its instances are in ``_classes.py``).

A handle owns its settings and, from its first use, one pool of containers. A method of a class
is a ``Function`` whose pool is its class's: everything about containers goes to the class.
"""

from __future__ import annotations

import inspect
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from ._call_graph import adopt
from ._clock import Clock, MonotonicClock
from ._containers.base import Target
from ._containers.choice import resolve_backend
from ._context import note_call
from ._control import Autoscaler, FunctionCurrentStats, current_stats
from ._errors import InvalidError
from ._inputs import new_call_id
from ._markers import check_batchable
from ._outcomes import Call
from ._pool import Pool
from ._queues import BatchSpec
from ._settings import Settings
from ._state import Event, FunctionSnapshot, InputInfo, LoadSample, LogLine
from ._timers import timers
from ._variants import CLOUD_ONLY, Variants, batching_option, variant_name, warn_cloud_only
from ._verbs import ALL, ONE, SPAWN, STREAM, Inputs, starred, verb, zipped

if TYPE_CHECKING:
    from ._classes import Cls

_UNSET: Any = object()
H = TypeVar("H", bound="_Handle")

# --- the registry -----------------------------------------------------------------------------

_registry_lock = threading.Lock()
_registry: list[weakref.ref[_Handle]] = []


def register(handle: _Handle) -> None:
    """Remember a handle for ``concur_nb.functions()`` (weakly: a dropped handle is forgotten)."""
    with _registry_lock:
        _registry[:] = [r for r in _registry if r() is not None]
        _registry.append(weakref.ref(handle))


def handles() -> list[_Handle]:
    """Every registered function and class still referenced, oldest first."""
    with _registry_lock:
        alive = [r() for r in _registry]
    return [h for h in alive if h is not None]


def positive_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidError(f"name must be a non-empty string, got {value!r}.")
    return value


# --- what every handle has --------------------------------------------------------------------


class _Handle:
    """What a ``Function`` and a ``Cls`` share: settings, the pool, and state for front-ends."""

    def __init__(self, name: str, *, registered: bool = True) -> None:
        self.name = name
        self._settings = Settings()
        self._backend: Any = None
        self._clock: Clock | None = None
        self._pool: Pool | None = None
        self._pool_lock = threading.Lock()
        self._variants = Variants()
        self._variant_of: _Handle | None = None
        self._variant_options: dict[str, Any] = {}
        if registered:
            register(self)

    def _home(self) -> _Handle:
        """The handle that owns the settings and the pool (a method's is its class)."""
        return self

    # -- configuration, before first use
    def _configure(self, **settings: Any) -> None:
        if self._pool is not None:
            raise InvalidError(
                f"{self.name} is already running; change its settings with "
                f"{self.name}.update(...) instead of decorating it again."
            )
        for key in ("backend", "clock", "name"):
            value = settings.pop(key, _UNSET)
            if value is _UNSET or value is None:
                continue
            if key == "name":
                self.name = positive_name(value)
            else:
                setattr(self, f"_{key}", value)
        self._settings = self._settings.replaced(**settings)

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        raise NotImplementedError

    def _pool_now(self) -> Pool:
        home = self._home()
        if home is not self:
            return home._pool_now()
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is None:
                target, batching = self._make_target()
                backend, label, default_max = resolve_backend(self._backend, target)
                clock = self._clock or MonotonicClock()
                pool = Pool(
                    self.name,
                    target,
                    self._settings,
                    backend,
                    timers,
                    clock,
                    batching,
                    label,
                    default_max,
                )
                timers.add(pool)
                pool.start()  # brings up min_containers
                self._pool = pool
            return self._pool

    # -- what front-ends read
    @property
    def settings(self) -> Settings:
        """A copy of the current settings."""
        home = self._home()
        pool = home._pool
        source = pool.settings if pool is not None else home._settings
        return source.replaced()

    @property
    def backend_name(self) -> str:
        return self._pool_now().backend_label

    def update(self, **changes: Any) -> Settings:
        """Change ``max_inputs``, ``target_inputs`` or autoscaler settings, even mid-run.

        Lowering ``max_inputs`` never cancels running inputs; it only stops new ones from
        starting until the count is below the new cap.
        """
        home = self._home()
        if home._pool is None:
            home._settings = home._settings.replaced(**changes)
            return home._settings.replaced()
        return home._pool.update(**changes).replaced()

    def snapshot(self) -> FunctionSnapshot:
        return self._pool_now().snapshot()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event (from engine threads: keep it quick)."""
        return self._pool_now().events.subscribe(callback)

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        return self._pool_now().ledger.inputs(limit)

    def logs(self, input_id: str) -> list[LogLine]:
        return self._pool_now().ledger.logs(input_id)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        return self._pool_now().ledger.search_logs(text, limit)

    def history(self, since: float | None = None) -> list[LoadSample]:
        """The function's load over time (clock time, ~10 samples a second while it works),
        from ``since`` on; views draw a call's history from its start."""
        return self._pool_now().ledger.history.since(since)

    def cancel_input(self, input_id: str) -> bool:
        """Cancel one input by id; False if it is unknown or already finished."""
        pool = self._pool_now()
        inp = pool.ledger.find_input(input_id)
        if inp is None or inp.settled:
            return False
        pool.cancel([inp])
        return True

    def cancel_all(self) -> None:
        """Cancel every queued and running input."""
        self._pool_now().cancel_all()

    @property
    def closed(self) -> bool:
        """True once the function was shut down (define it again to use it)."""
        pool = self._home()._pool
        return pool is not None and pool.closed

    def shutdown(self) -> None:
        """Cancel everything and retire every container of this function (a method's: its
        class's, as all its methods share them)."""
        pool = self._home()._pool
        if pool is not None:
            pool.shutdown()

    # -- Modal 1.6's names
    @property
    def autoscaler(self) -> Autoscaler:
        """``f.autoscaler.update(max_containers=4)`` while it runs; ``.settings()`` reads."""
        return Autoscaler(self._home())

    def update_autoscaler(
        self,
        *,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
    ) -> None:
        """Deprecated: use ``f.autoscaler.update(...)`` (the same parameters)."""
        changes = {k: v for k, v in locals().items() if k != "self"}
        message = f"{self.name}.update_autoscaler(...) is deprecated; use .autoscaler.update(...)."
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        self.autoscaler.update(**changes)

    def get_current_stats(self) -> FunctionCurrentStats:
        """Backlog, containers, running inputs and free slots, now."""
        return current_stats(self.snapshot())

    def hydrate(self: H, client: Any = None) -> H:
        """Modal's lookup step; locally there is nothing to look up."""
        return self

    def with_options(
        self: H,
        *,
        cpu: Any = None,
        memory: Any = None,
        gpu: Any = None,
        env: Any = None,
        secrets: Any = None,
        volumes: Any = None,
        retries: Any = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: float | None = None,
        timeout: float | None = None,
        region: Any = None,
        cloud: Any = None,
        routing_region: Any = None,
    ) -> H:
        """A variant with other run settings, in its own containers (cloud-only ones ignored)."""
        options = {k: v for k, v in locals().items() if k != "self"}
        cloud_only = {k: options.pop(k) for k in CLOUD_ONLY}
        warn_cloud_only(f"{self.name}.with_options", cloud_only)
        return self._variant({k: v for k, v in options.items() if v is not None})

    def with_concurrency(self: H, *, max_inputs: int, target_inputs: int | None = None) -> H:
        """A variant whose containers run up to ``max_inputs`` inputs at once, in its own
        containers: ``fetch.with_concurrency(max_inputs=4).map(urls)``."""
        return self._variant({"max_inputs": max_inputs, "target_inputs": target_inputs})

    def with_batching(self: H, *, max_batch_size: int, wait_ms: int) -> H:
        """A variant that gets lists of up to ``max_batch_size`` inputs (see ``@batched``)."""
        return self._variant(batching_option(max_batch_size, wait_ms))

    def _variant(self: H, options: dict[str, Any]) -> H:
        if self._home() is not self:
            raise InvalidError(
                f"{self.name} is a method: make a variant of its class instead, e.g. "
                f"{self._home().name}.with_options(...)().{self.name.rsplit('.', 1)[-1]}."
            )
        root = self._variant_of or self
        merged = {**self._variant_options, **options}
        return cast(H, root._variants.get(merged, root.settings, root._make_variant))

    def _make_variant(self: H, options: dict[str, Any], settings: Settings) -> H:
        raise NotImplementedError

    def _adopt(self, root: _Handle, options: dict[str, Any], settings: Settings) -> None:
        """Become ``root``'s variant for ``options``: its settings, backend and clock."""
        self._settings = settings
        self._backend, self._clock = root._backend, root._clock
        self._variant_of, self._variant_options = root, options


# --- functions --------------------------------------------------------------------------------


def _runs_as_coroutine(fn: Callable[..., Any]) -> bool:
    """An ``async def`` function, or an object whose class's ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isroutine(fn) or inspect.isclass(fn):
        return False
    return inspect.iscoroutinefunction(type(fn).__call__)


class Function(_Handle):
    """A registered function (or a method of a registered class).

    Call it with ``.remote(x)``, ``.spawn(x)``, ``.map(xs)``, ...; each blocking call has an
    ``.aio`` twin for async code, e.g. ``await f.remote.aio(x)``. Calling it directly, ``f(x)``,
    raises ``InvalidError``: say where it should run (``.remote`` or ``.local``).
    """

    is_generator = False

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        owner: Cls | None = None,
        method: str | None = None,
        batching: tuple[int, float] | None = None,
        name: str | None = None,
    ) -> None:
        self._fn = fn
        self._owner = owner
        self._method = method
        self._batching = batching
        self._is_async = _runs_as_coroutine(fn)
        if owner is None:
            default = getattr(fn, "__name__", None) or type(fn).__name__
            super().__init__(name or default)
        else:
            super().__init__(f"{owner.name}.{method}", registered=False)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<concur_nb.Function {self.name} max_inputs={s.max_inputs} target_inputs={s.target}>"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise InvalidError(
            f"{self.name} is a concur_nb.Function and is not called directly: run an input "
            f"in its containers with {self.name}.remote(...) (or .spawn / .map), or run it "
            f"here, in the caller, with {self.name}.local(...)."
        )

    def _home(self) -> _Handle:
        return self._owner if self._owner is not None else self

    def _configure(self, **settings: Any) -> None:
        if self._owner is not None:
            raise InvalidError("configure the class, not one of its methods.")
        super()._configure(**settings)

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        fn = self._fn
        if self._is_async and not inspect.iscoroutinefunction(fn):
            fn = type(fn).__call__.__get__(fn)  # an async __call__, as a bound coroutine method
        async_methods = frozenset({"__call__"}) if self._is_async else frozenset()
        target = Target(self.name, fn, is_class=False, async_methods=async_methods)
        batching: dict[str | None, BatchSpec] = {}
        if self._batching:
            batching[None] = BatchSpec(*self._batching)
        return target, batching

    def _make_variant(self, options: dict[str, Any], settings: Settings) -> Function:
        batching = options.get("batching", self._batching)
        if "batching" in options:
            check_batchable(self._fn, skip_self=False)
        made = Function(self._fn, batching=batching, name=variant_name(self.name, options))
        made._adopt(self, options, settings)
        return made

    # -- calling
    def local(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function here and now, in the caller, without the engine."""
        if self._owner is not None:
            return getattr(self._owner._local_instance(), self._method or "")(*args, **kwargs)
        return self._fn(*args, **kwargs)

    def _submit(
        self, arg_tuples: list[tuple[Any, ...]], kwargs: dict[str, Any], streaming: bool
    ) -> tuple[Pool, Call]:
        """Queue one input per tuple of ``arg_tuples``, all with the same ``kwargs``."""
        pool = self._pool_now()
        call = Call(new_call_id(), len(arg_tuples), streaming)
        call.function = pool.name
        adopt(call)
        note_call(call.id)
        pool.submit(call, self._method, arg_tuples, kwargs)
        return pool, call

    # -- the verbs (see _verbs.py): each says what to submit; its delivery, how outputs return
    @verb(ONE)
    def remote(self, *args: Any, **kwargs: Any) -> Inputs:
        """Run one input and wait for its output (raises the input's exception if it failed)."""
        return Inputs([args], kwargs)

    @verb(SPAWN)
    def spawn(self, *args: Any, **kwargs: Any) -> Inputs:
        """Start one input and return at once; ``.get()`` on the result waits for its output."""
        return Inputs([args], kwargs, single=True)

    @verb(STREAM)
    def map(
        self,
        *iterables: Iterable[Any],
        order_outputs: bool = True,
        return_exceptions: bool = False,
        kwargs: dict[str, Any] | None = None,
        wrap_returned_exceptions: bool = True,
        progress: bool = True,
    ) -> Inputs:
        """Run one input per item (``zip`` of ``iterables``); yields the outputs, in the order
        of the inputs (``order_outputs=False``: as they finish).

        ``return_exceptions=True`` yields a failed input's exception instead of raising it;
        ``kwargs`` go to every input; ``progress=False``: no bar in a terminal (also
        ``CONCUR_NB_PROGRESS=0``). (``wrap_returned_exceptions`` is Modal's; exceptions come
        back as they were raised.)
        """
        return Inputs(
            zipped(iterables),
            kwargs,
            order_outputs=order_outputs,
            return_exceptions=return_exceptions,
            progress=progress,
        )

    @verb(STREAM)
    def starmap(
        self,
        input_iterator: Iterable[tuple[Any, ...]],
        *,
        order_outputs: bool = True,
        return_exceptions: bool = False,
        kwargs: dict[str, Any] | None = None,
        wrap_returned_exceptions: bool = True,
        progress: bool = True,
    ) -> Inputs:
        """Like ``map``, with each item a tuple of arguments: ``f.starmap([(1, 2), (3, 4)])``."""
        return Inputs(
            starred(input_iterator),
            kwargs,
            order_outputs=order_outputs,
            return_exceptions=return_exceptions,
            progress=progress,
        )

    @verb(ALL)
    def for_each(
        self,
        *iterables: Iterable[Any],
        kwargs: dict[str, Any] | None = None,
        ignore_exceptions: bool = False,
        progress: bool = True,
    ) -> Inputs:
        """Run one input per item and wait for all; outputs are dropped, the first error raised
        (unless ``ignore_exceptions=True``)."""
        return Inputs(
            zipped(iterables), kwargs, ignore_exceptions=ignore_exceptions, progress=progress
        )

    @verb(SPAWN)
    def spawn_map(self, *iterables: Iterable[Any], kwargs: dict[str, Any] | None = None) -> Inputs:
        """Start one input per item and return at once; ``.get()`` collects the outputs."""
        return Inputs(zipped(iterables), kwargs)

    experimental_spawn_map = spawn_map.alias()  # Modal 1.6's name for the same
