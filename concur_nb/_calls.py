"""How a caller waits for a call's outputs and reads them (``FunctionCall`` uses these too).

A caller blocks on a plain thread (Ctrl-C cancels what it waits for) or awaits on its own event
loop; it never blocks the loop an async input runs on (that would stall the input's siblings).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._containers.aio import input_loops
from ._context import current_input_id
from ._errors import InputCancellation, InvalidError
from ._outcomes import Call
from ._progress import Closable, start_terminal_progress

if TYPE_CHECKING:
    from ._pool import Pool

logger = logging.getLogger("concur_nb")
CHILD_WAIT_SLICE = 0.05  # seconds between checks for a cancel while an input waits on a call

# --- loop guards ------------------------------------------------------------------------------


def refuse_blocking_on_input_loop(what: str, instead: str) -> None:
    loop = asyncio._get_running_loop()  # None outside a loop, without raising (per blocking call)
    if loop is not None and loop in input_loops:
        raise InvalidError(
            f"{what} would block the event loop this async input runs on, stalling every input "
            f"beside it (or deadlocking); inside async code write `{instead}`."
        )


def require_running_loop(what: str, instead: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise InvalidError(
            f"{what} is for async code (await it inside `async def`, or in a notebook cell); "
            f"from sync code call `{instead}`."
        ) from None


# --- blocking waits ---------------------------------------------------------------------------


class _Patience:
    """Calls the front-end's ``_hooks.long_wait`` once a blocking call in a kernel waits long.

    Outside a kernel, or with no hook installed, it never fires. Waits stay plain blocking
    waits (no polling), so Ctrl-C lands at once, before and after the hook fired.
    """

    def __init__(self, handle: Any, pool: Pool, call: Call, progress: bool = True) -> None:
        self._handle = handle
        self._pool = pool
        self._call = call
        # In a kernel the front-end's view shows the wait; in a terminal, a progress bar.
        watch = _hooks.long_wait is not None if _hooks.in_kernel() else progress
        self._deadline = time.monotonic() + _hooks.AUTO_VIEW_AFTER if watch else None
        self._bar: Closable | None = None
        # Inside a sync input, a cancel arrives as an exception raised into this thread, which
        # lands only between waits: wait in short slices there, so the child call it waits on
        # is cancelled with it (``CHILD_WAIT_SLICE``).
        self._slice = CHILD_WAIT_SLICE if current_input_id() is not None else None

    def timeout(self) -> float | None:
        """How long the next blocking wait may last (before the hook fires, or a slice)."""
        if self._deadline is None:
            return self._slice
        remaining = max(0.0, self._deadline - time.monotonic())
        return remaining if self._slice is None else min(remaining, self._slice)

    def lost(self) -> None:
        if self._deadline is None or time.monotonic() < self._deadline:
            return  # only a slice ended
        self._deadline = None
        if not _hooks.in_kernel():
            self._bar = start_terminal_progress(self._call, self._pool.name)
            return
        hook = _hooks.long_wait
        if hook is None:
            return
        from ._function_call import FunctionCall  # the handle one layer up; a long wait only

        try:
            single = len(self._call.values) == 1
            hook(self._handle, FunctionCall(self._handle, self._pool, self._call, single=single))
        except Exception:  # a display problem must never fail the user's call
            logger.debug("the long-wait hook failed", exc_info=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def wait(
    handle: Any, call: Call, pool: Pool, timeout: float | None = None, progress: bool = True
) -> bool:
    """Block until ``call`` is done; Ctrl-C (a kernel interrupt) cancels its inputs.

    After a second, a kernel shows the call's view; a terminal, a progress bar (``progress``).
    """
    if timeout is not None or call.is_done():
        return call.wait(timeout)
    patience = _Patience(handle, pool, call, progress)
    try:
        while not call.wait(patience.timeout()):
            patience.lost()
        return True
    except (KeyboardInterrupt, InputCancellation):  # Ctrl-C, or the waiting input's cancel
        pool.cancel_call(call, reason="interrupted")
        raise
    finally:
        patience.close()


def outcome(call: Call, index: int, return_exceptions: bool) -> Any:
    value = call.values[index]
    if call.ok[index] or return_exceptions:
        return value
    raise value


def outcomes(call: Call, return_exceptions: bool) -> list[Any]:
    return [outcome(call, i, return_exceptions) for i in range(len(call.values))]


def raise_first_error(call: Call, ignore: bool) -> None:
    if ignore:
        return
    for ok, value in zip(call.ok, call.values):
        if not ok:
            raise value


def iterate(
    handle: Any,
    pool: Pool,
    call: Call,
    order_outputs: bool,
    return_exceptions: bool,
    *,
    start: int = 0,
    end: int | None = None,
    stop_rest: bool = True,
    progress: bool = True,
) -> Iterator[Any]:
    """Yield outputs ``start:end`` as they come (in order, or as they finish).

    ``stop_rest``: the caller owns the call, so stopping early (or Ctrl-C) cancels what is left.
    """
    count = len(call.values) if end is None else min(end, len(call.values))
    patience = _Patience(handle, pool, call, progress)
    try:
        if order_outputs:
            for index in range(start, count):
                if not call.is_settled(index):
                    while not call.wait_for(index, patience.timeout()):
                        patience.lost()
                yield outcome(call, index, return_exceptions)
        else:
            for _ in range(count):
                while True:
                    try:
                        index = call.next_done(patience.timeout())
                        break
                    except queue.Empty:
                        patience.lost()
                yield outcome(call, index, return_exceptions)
    except (KeyboardInterrupt, InputCancellation):
        if stop_rest:
            pool.cancel_call(call, reason="interrupted")
        raise
    finally:
        patience.close()
        if stop_rest and not call.is_done():  # stopped early or an error is raised
            pool.cancel_call(call)


# --- async waits ------------------------------------------------------------------------------


async def iterate_async(
    pool: Pool,
    call: Call,
    order_outputs: bool,
    return_exceptions: bool,
    *,
    start: int = 0,
    end: int | None = None,
    stop_rest: bool = True,
) -> AsyncIterator[Any]:
    waker = call.async_waker(ordered=order_outputs)
    count = len(call.values) if end is None else min(end, len(call.values))
    try:
        if order_outputs:
            for index in range(start, count):
                if not call.is_settled(index):  # most are, in a busy map: no coroutine then
                    await waker.until_settled(call, index)
                yield outcome(call, index, return_exceptions)
        else:
            emitted = 0
            while emitted < count:
                for index in await waker.next_batch():
                    emitted += 1
                    yield outcome(call, index, return_exceptions)
    finally:
        call.drop_waker(waker)
        if stop_rest and not call.is_done():
            pool.cancel_call(call)


async def await_call(pool: Pool, call: Call, *, stop_rest: bool = True) -> None:
    """Wait until ``call`` is done; cancelling the awaiting task cancels it if ``stop_rest``."""
    try:
        await until(call, -1)
    except asyncio.CancelledError:
        if stop_rest:
            pool.cancel_call(call)
        raise


async def until(call: Call, index: int, timeout: float | None = None) -> None:
    """Wait on the running loop until input ``index`` (-1: every input) of ``call`` settles;
    ``asyncio.TimeoutError`` after ``timeout`` seconds. One loop wake-up, at that outcome."""
    if call.is_done() or (index >= 0 and call.is_settled(index)):
        return
    future = call.future(index)
    try:
        if timeout is None:
            await future
        else:
            await asyncio.wait_for(future, timeout)
    finally:
        if not future.done() or future.cancelled():  # given up: it must not stay registered
            call.drop_future(future)
