"""The user-facing API: decorators, ``Function``, ``Cls``, ``FunctionCall`` and ``gather``."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import queue
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from ._clock import Clock, MonotonicClock
from ._containers.aio import input_loops
from ._containers.base import Backend, Target
from ._containers.local import LocalBackend
from ._errors import InvalidError
from ._inputs import new_call_id
from ._markers import (
    BATCH,
    ROLE,
    batch_spec,
    check_batchable,
    is_method_definition,
    no_bare_use,
)
from ._outcomes import Call
from ._pool import Pool
from ._queues import BatchSpec
from ._settings import Settings
from ._state import Event, FunctionSnapshot, InputInfo, LogLine
from ._timers import timers

_UNSET: Any = object()
logger = logging.getLogger("concur_nb")


class _Dual:
    """A blocking callable with an awaitable twin: ``f.remote(x)`` / ``await f.remote.aio(x)``."""

    __slots__ = ("_sync", "aio")

    def __init__(self, sync: Callable[..., Any], aio: Callable[..., Any]) -> None:
        self._sync = sync
        self.aio = aio

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync(*args, **kwargs)

    # ``help(f.map)`` and ``f.map?`` show the blocking form's docstring and signature.
    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self._sync.__doc__

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        return self._sync


def _refuse_blocking_on_input_loop(what: str, instead: str) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop in input_loops:
        raise InvalidError(
            f"{what} would block the event loop this async input runs on, stalling every input "
            f"beside it (or deadlocking); inside async code write `{instead}`."
        )


def _require_running_loop(what: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise InvalidError(
            f"{what} is for async code (await it inside `async def`, or in a notebook cell); "
            f"from sync code call `{instead}`."
        ) from None


AUTO_DASHBOARD_AFTER = 1.0  # seconds a blocking call in a notebook waits before showing one


class _Patience:
    """Shows the live dashboard in the cell once a blocking call in a notebook waits long.

    Outside a Jupyter kernel it never fires, and the notebook front-end is never imported.
    """

    def __init__(self, handle: _Handle, pool: Pool, call: Call) -> None:
        self._handle = handle
        self._pool = pool
        self._call = call
        in_kernel = "ipykernel" in sys.modules
        self._deadline = time.monotonic() + AUTO_DASHBOARD_AFTER if in_kernel else None

    def timeout(self) -> float | None:
        """How long the next blocking wait may last before the dashboard should appear."""
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def lost(self) -> None:
        self._deadline = None
        try:
            from .notebook import auto

            single = len(self._call.values) == 1
            call = FunctionCall(self._handle, self._pool, self._call, single=single)
            auto.maybe_show(self._handle, call)  # with the call, its own cancel button
        except Exception:  # a display problem must never fail the user's call
            logger.debug("auto dashboard failed", exc_info=True)


def _wait(handle: _Handle, call: Call, pool: Pool, timeout: float | None = None) -> bool:
    """Block until ``call`` is done; Ctrl-C (a kernel interrupt) cancels its inputs."""
    try:
        if timeout is not None:
            return call.wait(timeout)
        patience = _Patience(handle, pool, call)
        while not call.wait(patience.timeout()):
            patience.lost()
        return True
    except KeyboardInterrupt:
        pool.cancel(call.inputs, reason="interrupted")
        raise


def _next_done(call: Call, patience: _Patience) -> int:
    while True:
        try:
            return call.next_done(patience.timeout())
        except queue.Empty:
            patience.lost()


def _outcome(call: Call, index: int, return_exceptions: bool) -> Any:
    value = call.values[index]
    if call.ok[index] or return_exceptions:
        return value
    raise value


# --- handles ----------------------------------------------------------------------------------

_registry: list[weakref.ref[Any]] = []
_registry_lock = threading.Lock()


def register(handle: Any) -> None:
    """Remember a user-facing handle for ``concur_nb.functions()``."""
    with _registry_lock:
        _registry[:] = [r for r in _registry if r() is not None]
        _registry.append(weakref.ref(handle))


def registered() -> list[Any]:
    with _registry_lock:
        alive = [r() for r in _registry]
    return [h for h in alive if h is not None]


class _Handle:
    """What a ``Function`` and a ``Cls`` share: settings, the pool, and state for front-ends."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._settings = Settings()
        self._backend: Any = None
        self._clock: Clock | None = None
        self._pool: Pool | None = None
        self._pool_lock = threading.Lock()
        register(self)

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
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is None:
                target, batching = self._make_target()
                backend, label, default_max = _resolve_backend(self._backend, target)
                pool = Pool(
                    self.name,
                    target,
                    self._settings,
                    backend,
                    timers,
                    self._clock or MonotonicClock(),
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
        pool = self._pool
        source = pool.settings if pool is not None else self._settings
        return source.replaced()

    @property
    def backend_name(self) -> str:
        return self._pool_now().backend_label

    def update(self, **changes: Any) -> Settings:
        """Change ``max_inputs``, ``target_inputs`` or autoscaler settings, even mid-run.

        Lowering ``max_inputs`` never cancels running inputs; it only stops new ones from
        starting until the count is below the new cap.
        """
        if self._pool is None:
            self._settings = self._settings.replaced(**changes)
            return self._settings.replaced()
        return self._pool.update(**changes).replaced()

    def snapshot(self) -> FunctionSnapshot:
        return self._pool_now().snapshot()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event (from engine threads: keep it quick)."""
        return self._pool_now().events.subscribe(callback)

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        return self._pool_now().inputs(limit)

    def logs(self, input_id: str) -> list[LogLine]:
        return self._pool_now().logs(input_id)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        return self._pool_now().search_logs(text, limit)

    def cancel_input(self, input_id: str) -> bool:
        """Cancel one input by id; False if it is unknown or already finished."""
        pool = self._pool_now()
        inp = pool.find_input(input_id)
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
        return self._pool is not None and self._pool.closed

    def shutdown(self) -> None:
        """Cancel everything and retire every container of this function."""
        if self._pool is not None:
            self._pool.shutdown()


def positive_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidError(f"name must be a non-empty string, got {value!r}.")
    return value


def _check_backend(choice: Any) -> None:
    known = choice is None or choice in ("local", "thread", "asyncio", "process")
    if not known and not (hasattr(choice, "create") and hasattr(choice, "max_containers")):
        raise InvalidError(
            f"backend must be None, 'thread', 'asyncio', 'process' or concur_nb.ssh(...), "
            f"got {choice!r}."
        )


def _resolve_backend(choice: Any, target: Target) -> tuple[Backend, str, int | None]:
    """The backend, its display name, and its default ``max_containers``.

    In-process containers share one interpreter, so by default there is one of them (set
    ``max_containers`` to watch the autoscaler add more); worker processes default to one per
    CPU; remote hosts to what the hosts offer.
    """
    is_async = bool(target.async_methods)
    if choice is None or choice in ("local", "thread", "asyncio"):
        label = "asyncio" if is_async else "thread"
        return LocalBackend(), label, 1
    if choice == "process":
        from ._containers.process import ProcessBackend

        return ProcessBackend(), "process", os.cpu_count() or 1
    if hasattr(choice, "create") and hasattr(choice, "max_containers"):
        label = str(getattr(choice, "name", type(choice).__name__))
        return choice, label, choice.max_containers()
    _check_backend(choice)
    raise AssertionError("unreachable")


class Function(_Handle):
    """A registered function (or a method of a registered class).

    Call it with ``.remote(x)``, ``.spawn(x)``, ``.map(xs)``, ...; each blocking call has an
    ``.aio`` twin for async code, e.g. ``await f.remote.aio(x)``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        owner: Cls | None = None,
        method: str | None = None,
        batching: tuple[int, float] | None = None,
    ) -> None:
        self._fn = fn
        self._owner = owner
        self._method = method
        self._batching = batching
        self._is_async = inspect.iscoroutinefunction(fn)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        if owner is None:
            super().__init__(getattr(fn, "__name__", "function"))
        else:
            self.name = f"{owner.name}.{method}"
        self.remote = _Dual(self._remote, self._remote_aio)
        self.spawn = _Dual(self._spawn, self._spawn_aio)
        self.map = _Dual(self._map, self._map_aio)
        self.starmap = _Dual(self._starmap, self._starmap_aio)
        self.for_each = _Dual(self._for_each, self._for_each_aio)
        self.spawn_map = _Dual(self._spawn_map, self._spawn_map_aio)

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<concur_nb.Function {self.name} max_inputs={s.max_inputs} target_inputs={s.target}>"
        )

    # -- handle plumbing: a method uses its class's pool
    def _pool_now(self) -> Pool:
        return self._owner._pool_now() if self._owner is not None else super()._pool_now()

    def _configure(self, **settings: Any) -> None:
        if self._owner is not None:
            raise InvalidError("configure the class, not one of its methods.")
        super()._configure(**settings)

    @property
    def settings(self) -> Settings:
        return self._owner.settings if self._owner is not None else super().settings

    def update(self, **changes: Any) -> Settings:
        return (
            self._owner.update(**changes) if self._owner is not None else super().update(**changes)
        )

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        target = Target(
            self.name,
            self._fn,
            is_class=False,
            async_methods=frozenset({"__call__"}) if self._is_async else frozenset(),
        )
        batching: dict[str | None, BatchSpec] = {}
        if self._batching:
            batching[None] = BatchSpec(*self._batching)
        return target, batching

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
        pool.submit(call, self._method, arg_tuples, kwargs)
        return pool, call

    def _remote(self, *args: Any, **kwargs: Any) -> Any:
        """Run one input and wait for its output (raises the input's exception if it failed)."""
        _refuse_blocking_on_input_loop(
            f"{self.name}.remote()", f"await {self.name}.remote.aio(...)"
        )
        pool, call = self._submit([args], kwargs, streaming=False)
        _wait(self, call, pool)
        return _outcome(call, 0, False)

    def _remote_aio(self, *args: Any, **kwargs: Any) -> Any:
        _require_running_loop(f"{self.name}.remote.aio()", f"{self.name}.remote(...)")
        pool, call = self._submit([args], kwargs, streaming=False)
        return _await_call(pool, call, single=True, return_exceptions=False)

    def _spawn(self, *args: Any, **kwargs: Any) -> FunctionCall:
        """Start one input and return at once; ``.get()`` on the result waits for its output."""
        pool, call = self._submit([args], kwargs, streaming=False)
        return FunctionCall(self, pool, call, single=True)

    async def _spawn_aio(self, *args: Any, **kwargs: Any) -> FunctionCall:
        return self._spawn(*args, **kwargs)

    @staticmethod
    def _zip(iterables: tuple[Iterable[Any], ...]) -> list[tuple[Any, ...]]:
        if not iterables:
            raise InvalidError(
                "map() needs at least one iterable of inputs, e.g. f.map(range(10))."
            )
        return list(zip(*iterables))

    @staticmethod
    def _star(iterable: Iterable[Any]) -> list[tuple[Any, ...]]:
        items = list(iterable)
        for args in items:
            if not isinstance(args, tuple):
                raise InvalidError(f"starmap() takes an iterable of tuples; got an item {args!r}.")
        return items

    def _map(
        self,
        *iterables: Iterable[Any],
        kwargs: dict[str, Any] | None = None,
        order_outputs: bool = True,
        return_exceptions: bool = False,
    ) -> Iterator[Any]:
        """Run one input per item (``zip`` of ``iterables``); yields outputs as they come."""
        _refuse_blocking_on_input_loop(
            f"{self.name}.map()", f"async for y in {self.name}.map.aio(...)"
        )
        pool, call = self._submit(
            self._zip(iterables), dict(kwargs or {}), streaming=not order_outputs
        )
        return _iterate(self, pool, call, order_outputs, return_exceptions)

    def _map_aio(
        self,
        *iterables: Iterable[Any],
        kwargs: dict[str, Any] | None = None,
        order_outputs: bool = True,
        return_exceptions: bool = False,
    ) -> AsyncIterator[Any]:
        _require_running_loop(f"{self.name}.map.aio()", f"{self.name}.map(...)")
        pool, call = self._submit(self._zip(iterables), dict(kwargs or {}), streaming=False)
        return _iterate_async(pool, call, order_outputs, return_exceptions)

    def _starmap(
        self,
        iterable: Iterable[tuple[Any, ...]],
        kwargs: dict[str, Any] | None = None,
        order_outputs: bool = True,
        return_exceptions: bool = False,
    ) -> Iterator[Any]:
        """Like ``map``, with each item a tuple of arguments: ``f.starmap([(1, 2), (3, 4)])``."""
        _refuse_blocking_on_input_loop(
            f"{self.name}.starmap()", f"async for y in {self.name}.starmap.aio(...)"
        )
        pool, call = self._submit(
            self._star(iterable), dict(kwargs or {}), streaming=not order_outputs
        )
        return _iterate(self, pool, call, order_outputs, return_exceptions)

    def _starmap_aio(
        self,
        iterable: Iterable[tuple[Any, ...]],
        kwargs: dict[str, Any] | None = None,
        order_outputs: bool = True,
        return_exceptions: bool = False,
    ) -> AsyncIterator[Any]:
        _require_running_loop(f"{self.name}.starmap.aio()", f"{self.name}.starmap(...)")
        pool, call = self._submit(self._star(iterable), dict(kwargs or {}), streaming=False)
        return _iterate_async(pool, call, order_outputs, return_exceptions)

    def _for_each(
        self,
        *iterables: Iterable[Any],
        kwargs: dict[str, Any] | None = None,
        ignore_exceptions: bool = False,
    ) -> None:
        """Run one input per item and wait for all; outputs are dropped, errors raised."""
        _refuse_blocking_on_input_loop(
            f"{self.name}.for_each()", f"await {self.name}.for_each.aio(...)"
        )
        pool, call = self._submit(self._zip(iterables), dict(kwargs or {}), streaming=False)
        _wait(self, call, pool)
        _raise_first_error(call, ignore_exceptions)

    async def _for_each_aio(
        self,
        *iterables: Iterable[Any],
        kwargs: dict[str, Any] | None = None,
        ignore_exceptions: bool = False,
    ) -> None:
        pool, call = self._submit(self._zip(iterables), dict(kwargs or {}), streaming=False)
        await _await_call(pool, call, single=False, return_exceptions=True)
        _raise_first_error(call, ignore_exceptions)

    def _spawn_map(
        self, *iterables: Iterable[Any], kwargs: dict[str, Any] | None = None
    ) -> FunctionCall:
        """Start one input per item and return at once; ``.get()`` collects the outputs."""
        pool, call = self._submit(self._zip(iterables), dict(kwargs or {}), streaming=False)
        return FunctionCall(self, pool, call, single=False)

    async def _spawn_map_aio(
        self, *iterables: Iterable[Any], kwargs: dict[str, Any] | None = None
    ) -> FunctionCall:
        return self._spawn_map(*iterables, kwargs=kwargs)


def _raise_first_error(call: Call, ignore: bool) -> None:
    if ignore:
        return
    for ok, value in zip(call.ok, call.values):
        if not ok:
            raise value


def _iterate(
    handle: _Handle, pool: Pool, call: Call, order_outputs: bool, return_exceptions: bool
) -> Iterator[Any]:
    count = len(call.values)
    patience = _Patience(handle, pool, call)
    try:
        if order_outputs:
            for index in range(count):
                if not call.is_settled(index):
                    while not call.wait_for(index, patience.timeout()):
                        patience.lost()
                yield _outcome(call, index, return_exceptions)
        else:
            for _ in range(count):
                yield _outcome(call, _next_done(call, patience), return_exceptions)
    except KeyboardInterrupt:
        pool.cancel(call.inputs, reason="interrupted")
        raise
    finally:
        if not call.is_done():  # the caller stopped early or an error is raised: stop the rest
            pool.cancel(call.inputs)


async def _iterate_async(
    pool: Pool, call: Call, order_outputs: bool, return_exceptions: bool
) -> AsyncIterator[Any]:
    waker = call.async_waker(ordered=order_outputs)
    count = len(call.values)
    try:
        if order_outputs:
            for index in range(count):
                await waker.until_settled(call, index)
                yield _outcome(call, index, return_exceptions)
        else:
            emitted = 0
            while emitted < count:
                for index in await waker.next_batch():
                    emitted += 1
                    yield _outcome(call, index, return_exceptions)
    finally:
        call.drop_waker(waker)
        if not call.is_done():
            pool.cancel(call.inputs)


async def _await_call(pool: Pool, call: Call, *, single: bool, return_exceptions: bool) -> Any:
    waker = call.async_waker()
    try:
        while not call.is_done():
            await waker.next_batch()
    except asyncio.CancelledError:
        pool.cancel(call.inputs)
        raise
    finally:
        call.drop_waker(waker)
    if single:
        return _outcome(call, 0, return_exceptions)
    return [_outcome(call, i, return_exceptions) for i in range(len(call.values))]


class FunctionCall:
    """A handle on work started with ``spawn`` or ``spawn_map``."""

    def __init__(self, handle: _Handle, pool: Pool, call: Call, *, single: bool) -> None:
        self._handle = handle
        self._pool = pool
        self._call = call
        self._single = single
        self.object_id = call.id
        self.get = _Dual(self._get, self._get_aio)

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        count = len(self._call.values)
        name = self._pool.name
        return f"<concur_nb.FunctionCall {self.object_id} of {name}: {count} input(s), {state}>"

    @property
    def input_ids(self) -> list[str]:
        return [inp.id for inp in self._call.inputs]

    def done(self) -> bool:
        return self._call.is_done()

    def _get(self, timeout: float | None = None) -> Any:
        """The output (a list for ``spawn_map``); raises the input's exception if it failed.

        Raises ``TimeoutError`` if not done within ``timeout`` seconds (the work goes on).
        """
        _refuse_blocking_on_input_loop("FunctionCall.get()", "await call.get.aio()")
        if not _wait(self._handle, self._call, self._pool, timeout):
            raise TimeoutError(f"{self.object_id} is not done after {timeout}s; it keeps running.")
        return self._result()

    async def _get_aio(self, timeout: float | None = None) -> Any:
        _require_running_loop("FunctionCall.get.aio()", "call.get()")
        try:
            await asyncio.wait_for(
                _await_call(self._pool, self._call, single=self._single, return_exceptions=True),
                timeout,
            )
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.object_id} is not done after {timeout}s.") from None
        return self._result()

    def _result(self) -> Any:
        if self._single:
            return _outcome(self._call, 0, False)
        return [_outcome(self._call, i, False) for i in range(len(self._call.values))]

    def cancel(self, terminate_container: bool = False) -> None:
        """Cancel the call's inputs: queued ones are dropped, running ones interrupted.

        With ``terminate_container=True`` the containers running them are terminated
        instead (out-of-process kinds); their other inputs are rescheduled, not lost.
        """
        if terminate_container:
            self._pool.kill_container_of(self._call.inputs)
        self._pool.cancel(self._call.inputs)


def _gather_sync(*calls: FunctionCall, return_exceptions: bool = False) -> list[Any]:
    """Wait for ``FunctionCall``s and return their outputs in order.

    With ``return_exceptions=True`` a failed call's exception takes its place in the list
    instead of being raised. ``await concur_nb.gather.aio(...)`` in async code.
    """
    results = []
    for call in calls:
        try:
            results.append(call.get())
        except Exception as exc:
            if not return_exceptions:
                raise
            results.append(exc)
    return results


async def _gather_aio(*calls: FunctionCall, return_exceptions: bool = False) -> list[Any]:
    results = []
    for call in calls:
        try:
            results.append(await call.get.aio())
        except Exception as exc:
            if not return_exceptions:
                raise
            results.append(exc)
    return results


gather = _Dual(_gather_sync, _gather_aio)  # wait for FunctionCalls; outputs in order (.aio too)


class _Instance:
    """What calling a ``Cls`` returns: its methods as ``Function`` handles."""

    def __init__(self, cls: Cls) -> None:
        self._cls = cls

    def __getattr__(self, name: str) -> Function:
        handle = self._cls._methods.get(name)
        if handle is None:
            raise AttributeError(
                f"{self._cls.name} has no method {name!r} to call remotely; methods: "
                f"{sorted(self._cls._methods)} (mark them with @concur_nb.method())."
            )
        return handle


class Cls(_Handle):
    """A registered class: all its methods share the same containers and run concurrently.

    Each container creates one instance, runs its ``@enter`` hooks before the first input and
    its ``@exit`` hooks when it retires. Call methods as ``MyCls().method.remote(x)``.
    """

    def __init__(self, user_cls: type) -> None:
        super().__init__(user_cls.__name__)
        self._user_cls = user_cls
        self.__doc__ = user_cls.__doc__
        members = {n: v for n, v in vars(user_cls).items() if callable(v)}
        marked = {n for n, v in members.items() if getattr(v, ROLE, None) == "method"}
        hooks = {n for n, v in members.items() if getattr(v, ROLE, None) in ("enter", "exit")}
        names = marked or {n for n in members if not n.startswith("_") and n not in hooks}
        if not names:
            raise InvalidError(
                f"class {self.name} has no method to call; mark one with @concur_nb.method()."
            )
        self._enter = tuple(n for n, v in members.items() if getattr(v, ROLE, None) == "enter")
        self._exit = tuple(n for n, v in members.items() if getattr(v, ROLE, None) == "exit")
        self._methods: dict[str, Function] = {}
        for n in sorted(names):
            batching = getattr(members[n], BATCH, None)
            self._methods[n] = Function(members[n], owner=self, method=n, batching=batching)
        self._instance = _Instance(self)
        self._local: Any = None
        self._local_lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return (
            f"<concur_nb.Cls {self.name} methods={sorted(self._methods)} max_inputs={s.max_inputs}>"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            raise InvalidError(
                f"{self.name}(...) takes no arguments here: one instance per container is made "
                "with no arguments; pass values to the methods, or read them in an @enter hook."
            )
        return self._instance

    def _make_target(self) -> tuple[Target, dict[str | None, BatchSpec]]:
        async_methods = frozenset(n for n, f in self._methods.items() if f._is_async)
        target = Target(self.name, self._user_cls, True, self._enter, self._exit, async_methods)
        batching: dict[str | None, BatchSpec] = {
            n: BatchSpec(*f._batching) for n, f in self._methods.items() if f._batching
        }
        return target, batching

    def _local_instance(self) -> Any:
        with self._local_lock:
            if self._local is None:
                instance = self._user_cls()
                for name in self._enter:
                    getattr(instance, name)()
                self._local = instance
            return self._local


# --- decorators -------------------------------------------------------------------------------


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
) -> Callable[[Any], Any]:
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

    return decorate


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
) -> Callable[[Any], Any]:
    """Autoscaler and run settings for a function or class (optional: defaults apply).

    ``backend``: None (threads for sync, asyncio for async), ``"process"``, or
    ``concur_nb.ssh(...)``. ``clock``: a ``concur_nb.testing.MockClock`` for tests.
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
    _check_backend(backend)  # fail at decoration, not at the first call
    extra = {"backend": backend, "clock": clock, "name": name}

    def decorate(obj: Any) -> Any:
        return _register(obj, {**settings, **extra}, "function")

    return decorate


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
