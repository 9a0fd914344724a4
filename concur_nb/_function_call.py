"""``FunctionCall``, a handle on work in flight, and ``gather``.

``FunctionCall.from_id`` finds a call made in this process while someone still holds it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._call_graph import InputNode, call_graph
from ._call_progress import CallProgress, call_progress
from ._calls import (
    iterate,
    iterate_async,
    outcome,
    outcomes,
    refuse_blocking_on_input_loop,
    require_running_loop,
    until,
    wait,
)
from ._errors import CallTimeoutError, InvalidError
from ._outcomes import Call
from ._state import LogLine
from ._twins import TwinMethod, twin

if TYPE_CHECKING:
    from ._pool import Pool

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
            await until(self._call, -1 if index is None else index, timeout)
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
