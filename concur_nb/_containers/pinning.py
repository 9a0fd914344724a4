"""Tasks and callbacks an async input starts keep that input, after its slot moves on.

A loop slot names the input it runs in a ``SlotIdentity`` it set once (``_context``), not in a
context variable set per input. What an input schedules copies the context, so a copy would
follow the slot to its next input; instead, the slot's loop hands each task, callback and
``asyncio.to_thread`` call that an input starts a context with the input fixed in it
(``pinned_context``): a task factory, and ``call_soon``, the timer method and
``run_in_executor`` of a loop subclass. Only what the user's code schedules pays for the copy;
asyncio's own timer for ``asyncio.sleep`` prints nothing and is left alone.

Not covered (the copy is made in C, or by the user's own code): ``Future.add_done_callback``
and ``contextvars.copy_context``. What those run while the input runs is right; what they run
after it ended is counted to the input its slot runs at that moment.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from asyncio import futures
from collections.abc import Callable, Coroutine
from typing import Any

from .._context import pinned_context

# asyncio.sleep's timer callback: it only wakes the sleeper (no output, no identity read).
_QUIET = futures._set_result_unless_cancelled  # type: ignore[attr-defined]


def _pinning_methods(base: type[asyncio.AbstractEventLoop]) -> dict[str, Any]:
    """``call_soon`` and the one timer method every timer goes through on ``base`` (the stdlib
    loop's ``call_later`` calls its ``call_at``; uvloop's ``call_at`` calls its ``call_later``),
    each giving an input's callbacks that input's context. The base methods are bound here:
    ``call_soon`` runs for every task wake-up on the loop, so no ``super()`` per call."""
    base_call_soon = base.call_soon

    def call_soon(
        self: Any, callback: Callable[..., Any], *args: Any, context: Any = None
    ) -> asyncio.Handle:
        if context is None:
            context = pinned_context()
        return base_call_soon(self, callback, *args, context=context)

    timer = "call_later" if is_uvloop_class(base) else "call_at"
    base_timer = getattr(base, timer)

    def timer_method(
        self: Any, when: float, callback: Callable[..., Any], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        if context is None and callback is not _QUIET:
            context = pinned_context()
        return base_timer(self, when, callback, *args, context=context)

    base_run_in_executor = base.run_in_executor

    def run_in_executor(self: Any, executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        # ``asyncio.to_thread`` hands over ``partial(copy.run, f, ...)`` with a copy of the
        # input's context: the thread gets the pinned copy instead, and stays with its input.
        runner = getattr(func, "func", None)
        if isinstance(getattr(runner, "__self__", None), contextvars.Context):
            pinned = pinned_context()
            if pinned is not None:
                assert isinstance(func, functools.partial)
                func = functools.partial(pinned.run, *func.args, **func.keywords)
        return base_run_in_executor(self, executor, func, *args)

    return {"call_soon": call_soon, timer: timer_method, "run_in_executor": run_in_executor}


def is_uvloop_class(kind: type) -> bool:
    """``kind`` is uvloop's loop or made from it."""
    return any(k.__module__.startswith("uvloop") for k in kind.__mro__)


def pinned_task(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
) -> asyncio.Task[Any]:
    """The loop's task factory: a task an input creates runs as that input."""
    if kwargs.get("context") is None:
        kwargs.pop("context", None)
        pinned = pinned_context()
        if pinned is not None:  # a task copies the context it is made in
            return pinned.run(asyncio.Task, coro, loop=loop)
    return asyncio.Task(coro, loop=loop, **kwargs)


def pinning(loop_class: type[asyncio.AbstractEventLoop]) -> type[asyncio.AbstractEventLoop]:
    """A subclass of ``loop_class`` whose callbacks keep their input (one per loop class)."""
    made = _made.get(loop_class)
    if made is None:
        made = _made[loop_class] = type(
            f"Pinning{loop_class.__name__}", (loop_class,), _pinning_methods(loop_class)
        )
    return made


_made: dict[type[asyncio.AbstractEventLoop], type[asyncio.AbstractEventLoop]] = {}
