"""How a call's outcomes reach its caller.

A call (one ``remote``/``spawn``, or one ``map``) owns its inputs' outcomes in submission
order. Outcomes are delivered from engine threads; a caller waits on them from a plain thread
(``wait``, ``wait_for``, ``next_done``) or from its own event loop (``async_waker``). Any number
of readers may wait on one call at once (two threads reading a ``spawn_map``'s outputs).
"""

from __future__ import annotations

import _thread
import asyncio
import queue
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._inputs import Input

_PENDING = object()
# A one-shot async wait: the input's index (-1: the whole call), the waiting loop, its future.
_Wait = tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]


class Call:
    """The outcomes of one call's inputs, filled in by engine threads, read by the caller."""

    def __init__(self, call_id: str, count: int, streaming: bool) -> None:
        self.id = call_id
        self.function = ""  # the function's name, for views and call graphs
        self.inputs: list[Input] = []
        self.values: list[Any] = [_PENDING] * count
        self.ok: list[bool] = [False] * count
        self._remaining = count
        self._lock = threading.Lock()
        # Waiting is on plain locks used as latches (held until they open; a waiter takes and
        # gives back), not ``threading.Event``s: an Event is a Condition, a deque and bound
        # methods, all tracked by the garbage collector, and a call is made per ``remote``.
        # Fewer tracked objects per call in flight is fewer collections, and each full
        # collection stalls every thread (a p99 latency).
        self._done = _closed_latch() if count else _thread.allocate_lock()  # opens at the end
        self._stream: queue.SimpleQueue[int] | None = queue.SimpleQueue() if streaming else None
        # Ordered blocking readers: the index each waits for -> the latch that index opens, so
        # a reader is woken by its own index only, and any number of readers can wait at once.
        self._awaited: dict[int, _thread.LockType] | None = None
        # Async readers of a stream of outcomes, woken once per burst (a tuple: replaced, never
        # mutated), and one-shot async waits: (index, or -1 for the whole call; loop; future).
        self._async_wakers: tuple[_LoopWaker, ...] = ()
        self._futures: tuple[_Wait, ...] = ()
        self.origin: Any = None  # what made the call (the API's handle and pool), for from_id
        # Set (under the pool's lock) when the whole call is cancelled: inputs it submits
        # later are settled as cancelled too.
        self.cancelled_reason: str | None = None

    def settle(self, index: int, ok: bool, value: Any) -> None:
        """Record input ``index``'s outcome (at most once) and wake whoever waits."""
        with self._lock:
            if self.values[index] is not _PENDING:
                return
            self.values[index] = value
            self.ok[index] = ok
            self._remaining -= 1
            finished = self._remaining == 0
            wakers = self._async_wakers
            reader = self._awaited.pop(index, None) if self._awaited else None
            due = self._take_futures(index, finished) if self._futures else None
        if reader is not None:
            reader.release()
        if due:
            _resolve_soon(due)
        if self._stream is not None:
            self._stream.put(index)
        if finished:
            self._done.release()
        for waker in wakers:
            waker.wake(index)

    def _take_futures(self, index: int, finished: bool) -> list[_Wait]:
        """The one-shot waits that ``index`` settling (and ``finished``) ends; under the lock."""
        due = [w for w in self._futures if w[0] == index or (finished and w[0] < 0)]
        if due:
            self._futures = tuple(w for w in self._futures if w not in due)
        return due

    def is_done(self) -> bool:
        return self._remaining == 0

    def is_settled(self, index: int) -> bool:
        return self.values[index] is not _PENDING

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every input has an outcome; False on timeout."""
        return self._remaining == 0 or _pass(self._done, timeout)

    def wait_for(self, index: int, timeout: float | None = None) -> bool:
        """Block until input ``index`` has its outcome; False on timeout (ordered readers)."""
        with self._lock:
            if self.values[index] is not _PENDING:
                return True
            if self._awaited is None:
                self._awaited = {}
            latch = self._awaited.get(index)
            if latch is None:
                latch = self._awaited[index] = _closed_latch()
        _pass(latch, timeout)
        return self.values[index] is not _PENDING

    def next_done(self, timeout: float | None = None) -> int:
        """Block until another input settles and return its index (streaming calls).

        Each index is handed out once: a streaming call has one reader, the ``map`` that made it.
        """
        assert self._stream is not None
        return self._stream.get(timeout=timeout)

    def future(self, index: int = -1) -> asyncio.Future[None]:
        """A future on the running loop, done once input ``index`` (-1: every input) has its
        outcome; ``drop_future`` it if it is given up before.

        One wake-up of the loop, at that outcome only: the cheapest wait for one ``spawn`` or
        ``remote`` from async code (a caller's loop also serves its other arrivals meanwhile).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._remaining == 0 or (index >= 0 and self.values[index] is not _PENDING):
                future.set_result(None)
            else:
                self._futures = (*self._futures, (index, loop, future))
        return future

    def drop_future(self, future: asyncio.Future[None]) -> None:
        with self._lock:
            self._futures = tuple(w for w in self._futures if w[2] is not future)

    def async_waker(self, ordered: bool = False) -> _LoopWaker:
        """A waker on the running loop that collects settled indices as they come.

        ``ordered``: the reader takes outputs in order, waiting on one index at a time with
        ``until_settled`` (and only that index wakes it).
        """
        waker = _LoopWaker(asyncio.get_running_loop(), ordered)
        with self._lock:
            self._async_wakers = (*self._async_wakers, waker)
            already = [i for i, v in enumerate(self.values) if v is not _PENDING]
        for index in already:
            waker.wake(index)
        return waker

    def drop_waker(self, waker: _LoopWaker) -> None:
        with self._lock:
            self._async_wakers = tuple(w for w in self._async_wakers if w is not waker)


def _resolve_soon(waits: list[_Wait]) -> None:
    for _, loop, future in waits:
        try:
            loop.call_soon_threadsafe(_resolve, future)
        except RuntimeError:  # the caller's loop is closed; nobody is waiting
            pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # not given up (a timeout, a cancelled task) meanwhile
        future.set_result(None)


def _closed_latch() -> _thread.LockType:
    latch = _thread.allocate_lock()
    latch.acquire()
    return latch


def _pass(latch: _thread.LockType, timeout: float | None) -> bool:
    """Wait until ``latch`` opens (False after ``timeout``), and leave it open for the next."""
    if not latch.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
        return False
    latch.release()
    return True


class _LoopWaker:
    """Hands settled indices to one event loop, one thread-safe wake-up per burst.

    An ordered reader is woken only by the index it waits for: any other wake-up would cost a
    trip through its event loop (and a GIL hand-off with the engine's threads) for nothing.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, ordered: bool = False) -> None:
        self._loop = loop
        self._ready: deque[int] = deque()
        self._scheduled = False
        self._event = asyncio.Event()
        self._ordered = ordered
        self._awaited = -1  # the index an ordered reader waits for

    def wake(self, index: int) -> None:
        if self._ordered:
            if index != self._awaited:
                return
        else:
            self._ready.append(index)
        if not self._scheduled:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._set)
            except RuntimeError:  # the caller's loop is closed; nobody is waiting
                pass

    def _set(self) -> None:
        self._scheduled = False
        self._event.set()

    async def next_batch(self) -> list[int]:
        """Wait until at least one index is ready and return all that are."""
        while not self._ready:
            self._event.clear()
            if self._ready:
                break
            await self._event.wait()
        batch = list(self._ready)
        for _ in batch:
            self._ready.popleft()
        return batch

    async def until_settled(self, call: Call, index: int) -> None:
        """Wait until input ``index`` of ``call`` has its outcome (ordered readers)."""
        # Set before checking: a settle that lands after the check sees it and wakes us.
        self._awaited = index
        while not call.is_settled(index):
            self._event.clear()
            await self._event.wait()
