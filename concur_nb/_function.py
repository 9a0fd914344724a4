"""``Function``: a registered function (or a method of a registered class), and its verbs.

Everything a handle has (settings, the pool, what front-ends read) is ``_Handle``'s, in
``_handles.py``; here is what a function adds: its target, its variants, and how it is called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, Protocol, cast

from ._call_graph import adopt
from ._containers.base import Target
from ._context import note_call
from ._errors import InvalidError
from ._handles import _Handle
from ._inputs import new_call_id
from ._markers import check_batchable
from ._outcomes import Call
from ._pool import Pool
from ._queues import BatchSpec
from ._settings import Settings
from ._variants import variant_name
from ._verbs import ALL, ONE, SPAWN, STREAM, Inputs, starred, verb, zipped


class ClassHandle(Protocol):
    """What a method's handle needs of its class's (``_classes.Cls``): a handle, and an
    instance to run ``.local()`` calls on."""

    name: str

    def _local_instance(self) -> Any: ...


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
        owner: ClassHandle | None = None,
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
        return cast(_Handle, self._owner) if self._owner is not None else self

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
