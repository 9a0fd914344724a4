"""Calls in flight: ``FunctionCall``, ``gather``, and how a caller waits for and reads outputs.

A caller blocks on a plain thread (Ctrl-C cancels what it waits for) or awaits on its own event
loop; it never blocks the loop an async input runs on (that would stall the input's siblings).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._call_graph import InputNode, call_graph
from ._call_progress import CallProgress, call_progress
from ._containers.aio import input_loops
from ._context import current_input_id
from ._errors import CallTimeoutError, InputCancellation, InvalidError
from ._outcomes import Call
from ._progress import Closable, start_terminal_progress
from ._state import LogLine
from ._twins import TwinMethod, twin

if TYPE_CHECKING:
    from ._pool import Pool

logger = logging.getLogger("concur_nb")
CHILD_WAIT_SLICE = 0.05  # seconds between checks for a cancel while an input waits on a call

# Calls that someone still holds, by id, for ``FunctionCall.from_id`` (within this process).
# Plain weak references, swept now and then: a ``WeakValueDictionary`` runs Python code as
# each call is made and again as it dies, and a call is made per ``spawn``.
_live_calls: dict[str, weakref.ref[Call]] = {}
_sweep_above = 1024  # entries past which the dead ones are swept out


def _remember(call: Call) -> None:
    global _sweep_above
    _live_calls[call.id] = weakref.ref(call)
    if len(_live_calls) > _sweep_above:
        for call_id, ref in list(_live_calls.items()):
            if ref() is None:
                _live_calls.pop(call_id, None)
        _sweep_above = max(1024, 2 * len(_live_calls))


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
        await _until(call, -1)
    except asyncio.CancelledError:
        if stop_rest:
            pool.cancel_call(call)
        raise


async def await_index(call: Call, index: int) -> None:
    """Wait until input ``index`` of ``call`` has its outcome (reading only: nothing cancels)."""
    await _until(call, index)


async def _until(call: Call, index: int, timeout: float | None = None) -> None:
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


# --- FunctionCall and gather ----------------------------------------------------------------------


async def _gather_aio(*calls: FunctionCall, return_exceptions: bool = False) -> list[Any]:
    """Await ``FunctionCall``s; outputs in order."""
    results = []
    for call in calls:
        try:
            results.append(await call.get.aio())
        except Exception as exc:
            if not return_exceptions:
                raise
            results.append(exc)
    return results


@twin(_gather_aio)
def gather(*calls: FunctionCall, return_exceptions: bool = False) -> list[Any]:
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


class FunctionCall:
    """A handle on work started with ``spawn`` or ``spawn_map``.

    ``get()`` waits for the output(s), ``iter()`` reads them in order as they come, ``cancel()``
    stops the work. Any number of threads or tasks may read one call at once. A reader that
    gives up (``get(timeout=...)`` running out, an ``iter()`` left early) leaves the work
    running; Ctrl-C during a blocking ``get()`` cancels it.
    """

    def __init__(self, handle: Any, pool: Pool, call: Call, *, single: bool) -> None:
        self._handle = handle
        self._pool = pool
        self._call = call
        self._single = single
        self.object_id = call.id
        if call.origin is None:
            call.origin = (handle, pool, single)
            _remember(call)

    def __repr__(self) -> str:
        state = "done" if self.done() else "running"
        count = len(self._call.values)
        name = self._pool.name
        return f"<concur_nb.FunctionCall {self.object_id} of {name}: {count} input(s), {state}>"

    def get_call_graph(self) -> list[InputNode]:
        """This call's inputs as a tree: each with the calls it made while it ran (in-process
        functions calling functions), and theirs, down to the leaves."""
        return call_graph(self._call)

    def logs(self) -> list[tuple[str, LogLine]]:
        """The captured lines of this call's inputs, input by input: ``(input_id, line)``."""
        return [(i, line) for i in self.input_ids for line in self._handle.logs(i)]

    @classmethod
    def from_id(cls, function_call_id: str, client: Any = None) -> FunctionCall:
        """The call with this id, made in this process and still held by someone."""
        ref = _live_calls.get(function_call_id)
        call = ref() if ref is not None else None
        if call is None:
            raise InvalidError(
                f"no call {function_call_id!r} in this process: ids come from "
                "FunctionCall.object_id, and a finished call is forgotten once nothing holds it."
            )
        handle, pool, single = call.origin
        return cls(handle, pool, call, single=single)

    @property
    def input_ids(self) -> list[str]:
        return [inp.id for inp in self._pool.inputs_of(self._call)]

    def num_inputs(self) -> int:
        """How many inputs the call has (1 for ``spawn``)."""
        return len(self._call.values)

    def done(self) -> bool:
        return self._call.is_done()

    def progress(self) -> CallProgress:
        """Where the call's inputs are: queued, running, cancelling, succeeded, failed,
        cancelled (they add up to its size), with its rate and ETA."""
        return call_progress(self._call)

    def _index(self, index: int | None) -> int | None:
        if index is not None and not (
            isinstance(index, int) and 0 <= index < len(self._call.values)
        ):
            raise InvalidError(
                f"index must be an input's position, 0 to {len(self._call.values) - 1}, "
                f"got {index!r}."
            )
        return index

    def _timed_out(self, timeout: float | None) -> CallTimeoutError:
        return CallTimeoutError(
            f"{self.object_id} is not done after {timeout}s; it keeps running "
            "(call .get() again to wait more, or .cancel() to stop it)."
        )

    def _result(self, index: int | None) -> Any:
        if index is not None:
            return outcome(self._call, index, False)
        if self._single:
            return outcome(self._call, 0, False)
        return outcomes(self._call, False)

    def _get(self, timeout: float | None = None, *, index: int | None = None) -> Any:
        """The output (a list for ``spawn_map``, or the output of input ``index``).

        Raises the input's exception if it failed, and ``CallTimeoutError`` (a
        ``TimeoutError``) if not done within ``timeout`` seconds; the work goes on.
        """
        refuse_blocking_on_input_loop("FunctionCall.get()", "await call.get.aio()")
        index = self._index(index)
        if index is not None:
            if not self._call.wait_for(index, timeout):
                raise self._timed_out(timeout)
        elif not wait(self._handle, self._call, self._pool, timeout):
            raise self._timed_out(timeout)
        return self._result(index)

    async def _get_aio(self, timeout: float | None = None, *, index: int | None = None) -> Any:
        require_running_loop("FunctionCall.get.aio()", "call.get()")
        index = self._index(index)
        try:  # reading only: a cancelled reader leaves the work running
            await _until(self._call, -1 if index is None else index, timeout)
        except asyncio.TimeoutError:
            raise self._timed_out(timeout) from None
        return self._result(index)

    get = TwinMethod(
        _get,
        _get_aio,
        template=_get,
        returns=Any,
        aio_returns="Coroutine[Any, Any, Any]",
        aio_doc="Await the output(s): ``await call.get.aio(timeout=None, index=None)``.",
    )

    def _iter(self, *, start: int = 0, end: int | None = None) -> Iterator[Any]:
        """Yield the outputs of inputs ``start`` to ``end`` in order, each as soon as it is ready.

        A failed input's exception is raised when its turn comes.
        """
        refuse_blocking_on_input_loop("FunctionCall.iter()", "async for y in call.iter.aio()")
        return iterate(
            self._handle, self._pool, self._call, True, False, start=start, end=end, stop_rest=False
        )

    def _iter_aio(self, *, start: int = 0, end: int | None = None) -> AsyncIterator[Any]:
        require_running_loop("FunctionCall.iter.aio()", "call.iter()")
        return iterate_async(
            self._pool, self._call, True, False, start=start, end=end, stop_rest=False
        )

    iter = TwinMethod(
        _iter,
        _iter_aio,
        template=_iter,
        returns="Iterator[Any]",
        aio_returns="AsyncIterator[Any]",
        aio_doc="Outputs in order, in async code: ``async for y in call.iter.aio()``.",
    )

    def cancel(
        self, terminate_containers: bool = False, *, terminate_container: bool = False
    ) -> None:
        """Cancel the call's inputs: queued ones are dropped, running ones interrupted.

        With ``terminate_containers=True`` the containers running them are terminated
        instead (out-of-process kinds); their other inputs are rescheduled, not lost.
        (``terminate_container`` is the older spelling.)
        """
        if terminate_containers or terminate_container:
            self._pool.kill_container_of(self._call.inputs)
        self._pool.cancel_call(self._call)

    gather = staticmethod(gather)  # Modal's spelling: FunctionCall.gather(*calls)
