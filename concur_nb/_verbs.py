"""The verbs of a function (``remote``, ``spawn``, ``map``, ...) from one table.

Each verb is written once, as a *plan*: a method with the verb's real parameters that only
says which inputs to submit (an ``Inputs``). How the outputs come back is one of four
*deliveries*, each with its blocking form and its async twin::

    delivery  blocking form                  .aio twin
    ONE       wait, return the output        await the output
    STREAM    iterate outputs as they come   async-iterate them
    ALL       wait for all, raise the first  await all, raise the first
    SPAWN     return a FunctionCall at once  the same, awaited

``@verb(STREAM) def map(self, *iterables, ...)`` makes ``f.map(...)`` and ``f.map.aio(...)``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast

from ._calls import (
    await_call,
    iterate,
    iterate_async,
    outcome,
    raise_first_error,
    refuse_blocking_on_input_loop,
    require_running_loop,
    wait,
)
from ._errors import InvalidError
from ._function_call import FunctionCall
from ._inputs import OneArgEach
from ._twins import TwinMethod

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A")


class Inputs:
    """What a verb submits: one input per argument tuple, all with the same ``kwargs``, and how
    its caller wants the outputs."""

    __slots__ = (
        "arg_tuples",
        "ignore_exceptions",
        "kwargs",
        "order_outputs",
        "progress",
        "return_exceptions",
        "single",
    )

    def __init__(
        self,
        arg_tuples: list[tuple[Any, ...]],
        kwargs: dict[str, Any] | None,
        *,
        order_outputs: bool = True,
        return_exceptions: bool = False,
        ignore_exceptions: bool = False,
        single: bool = False,
        progress: bool = True,
    ) -> None:
        self.arg_tuples = arg_tuples
        self.kwargs = dict(kwargs) if kwargs else {}
        self.order_outputs = order_outputs
        self.return_exceptions = return_exceptions
        self.ignore_exceptions = ignore_exceptions
        self.single = single
        self.progress = progress  # a bar in a terminal once the wait is long


def zipped(iterables: tuple[Iterable[Any], ...]) -> list[tuple[Any, ...]]:
    if not iterables:
        raise InvalidError("map() needs at least one iterable of inputs, e.g. f.map(range(10)).")
    if len(iterables) == 1:  # the common case: no tuple per input until it starts
        return OneArgEach(iterables[0])
    return list(zip(*iterables))


def starred(iterable: Iterable[Any]) -> list[tuple[Any, ...]]:
    items = list(iterable)
    for args in items:
        if not isinstance(args, tuple):
            raise InvalidError(f"starmap() takes an iterable of tuples; got an item {args!r}.")
    return items


class Delivery(Generic[R, A]):
    """How a verb's outputs come back, blocking (``run``) and in async code (``run_aio``)."""

    def __init__(
        self,
        run: Callable[[Any, str, Inputs], R],
        run_aio: Callable[[Any, str, Inputs], A],
        returns: Any,
        aio_returns: Any,
        aio_doc: str,
    ) -> None:
        self.run = run
        self.run_aio = run_aio
        self.returns = returns
        self.aio_returns = aio_returns
        self.aio_doc = aio_doc


def _one(handle: Any, verb: str, inputs: Inputs) -> Any:
    refuse_blocking_on_input_loop(f"{handle.name}.{verb}()", f"await {handle.name}.{verb}.aio(...)")
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)
    wait(handle, call, pool)
    return outcome(call, 0, False)


def _one_aio(handle: Any, verb: str, inputs: Inputs) -> Coroutine[Any, Any, Any]:
    require_running_loop(f"{handle.name}.{verb}.aio()", f"{handle.name}.{verb}(...)")
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)

    async def finish() -> Any:
        await await_call(pool, call)
        return outcome(call, 0, False)

    return finish()


def _stream(handle: Any, verb: str, inputs: Inputs) -> Iterator[Any]:
    refuse_blocking_on_input_loop(
        f"{handle.name}.{verb}()", f"async for y in {handle.name}.{verb}.aio(...)"
    )
    order = inputs.order_outputs
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=not order)
    return iterate(handle, pool, call, order, inputs.return_exceptions, progress=inputs.progress)


def _stream_aio(handle: Any, verb: str, inputs: Inputs) -> AsyncIterator[Any]:
    require_running_loop(f"{handle.name}.{verb}.aio()", f"{handle.name}.{verb}(...)")
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)
    return iterate_async(pool, call, inputs.order_outputs, inputs.return_exceptions)


def _all(handle: Any, verb: str, inputs: Inputs) -> None:
    refuse_blocking_on_input_loop(f"{handle.name}.{verb}()", f"await {handle.name}.{verb}.aio(...)")
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)
    wait(handle, call, pool, progress=inputs.progress)
    raise_first_error(call, inputs.ignore_exceptions)


async def _all_aio(handle: Any, verb: str, inputs: Inputs) -> None:
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)
    await await_call(pool, call)
    raise_first_error(call, inputs.ignore_exceptions)


def _spawn(handle: Any, verb: str, inputs: Inputs) -> FunctionCall:
    pool, call = handle._submit(inputs.arg_tuples, inputs.kwargs, streaming=False)
    return FunctionCall(handle, pool, call, single=inputs.single)


async def _spawn_aio(handle: Any, verb: str, inputs: Inputs) -> FunctionCall:
    return _spawn(handle, verb, inputs)


ONE: Delivery[Any, Coroutine[Any, Any, Any]] = Delivery(
    _one, _one_aio, Any, Coroutine[Any, Any, Any], "Await the output, in async code."
)
STREAM: Delivery[Iterator[Any], AsyncIterator[Any]] = Delivery(
    _stream,
    _stream_aio,
    Iterator[Any],
    AsyncIterator[Any],
    "The outputs as an async iterator: ``async for y in f.{name}.aio(xs)``.",
)
ALL: Delivery[None, Coroutine[Any, Any, None]] = Delivery(
    _all, _all_aio, None, Coroutine[Any, Any, None], "Await every input, in async code."
)
SPAWN: Delivery[FunctionCall, Coroutine[Any, Any, FunctionCall]] = Delivery(
    _spawn,
    _spawn_aio,
    FunctionCall,
    Coroutine[Any, Any, FunctionCall],
    "The same, from async code: ``call = await f.{name}.aio(...)``.",
)


def verb(
    delivery: Delivery[R, A],
) -> Callable[[Callable[Concatenate[Any, P], Inputs]], TwinMethod[P, R, A]]:
    """Make a verb from its plan (see the module's docstring)."""

    def make(plan: Callable[Concatenate[Any, P], Inputs]) -> TwinMethod[P, R, A]:
        run, run_aio = delivery.run, delivery.run_aio

        def sync(handle: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return run(handle, method.name, plan(handle, *args, **kwargs))

        aio: Callable[..., Any]
        if inspect.iscoroutinefunction(run_aio):

            async def aio(handle: Any, /, *args: Any, **kwargs: Any) -> Any:
                return await cast(Any, run_aio)(handle, method.name, plan(handle, *args, **kwargs))

        else:

            def aio(handle: Any, /, *args: Any, **kwargs: Any) -> Any:
                return run_aio(handle, method.name, plan(handle, *args, **kwargs))

        method = TwinMethod(
            sync,
            cast("Callable[Concatenate[Any, P], A]", aio),
            template=plan,
            returns=delivery.returns,
            aio_returns=delivery.aio_returns,
            aio_doc=f"The async twin of ``{plan.__name__}``. "
            + delivery.aio_doc.format(name=plan.__name__),
            cache=True,
        )
        return method

    return make
