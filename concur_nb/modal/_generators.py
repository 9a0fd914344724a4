"""Generator functions: ``f.remote_gen(x)`` streams the values an input yields, as it yields them.

The engine runs functions that return one value, so a generator function is wrapped into one
that pushes each yielded value into a channel keyed by its input id and returns how many it
yielded. The caller reads the same channel; the channel closes when the input settles (done,
failed, cancelled or timed out), whoever gets there first creates it. A consumer that stops
early cancels the input. The channel lives in this process, so generator functions run on the
in-process backends (threads, asyncio) only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .._context import current_input_id
from .._errors import InvalidError


class _Channel:
    """Values from one input to its caller: thread-safe, and awaitable from any event loop."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._closed = False
        self._cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def push(self, value: Any) -> None:
        with self._cond:
            self._items.append(value)
            self._wake()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._wake()

    def _wake(self) -> None:  # called with the lock held
        self._cond.notify_all()
        for loop, future in self._waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future)
        self._waiters.clear()

    def take(self) -> tuple[bool, Any]:
        """``(True, value)``, or ``(False, None)`` once closed and drained."""
        with self._cond:
            while not self._items and not self._closed:
                self._cond.wait()
            return (True, self._items.popleft()) if self._items else (False, None)

    async def take_async(self) -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    return True, self._items.popleft()
                if self._closed:
                    return False, None
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            await future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_channels: dict[str, _Channel] = {}
_channels_lock = threading.Lock()


def _channel(input_id: str) -> _Channel:
    with _channels_lock:
        channel = _channels.get(input_id)
        if channel is None:
            channel = _channels[input_id] = _Channel()
        return channel


def _drop(input_id: str) -> None:
    with _channels_lock:
        _channels.pop(input_id, None)


def _producer_channel(pid: int, name: str) -> _Channel:
    input_id = current_input_id()
    if input_id is None or os.getpid() != pid:
        raise InvalidError(
            f"generator function {name} ran outside this process; generator functions stream "
            "through memory, so they run on the in-process backends (threads, asyncio) only: "
            "remove backend= from it."
        )
    return _channel(input_id)


def streaming(gen_fn: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function (or coroutine function) that streams what ``gen_fn`` yields."""
    pid = os.getpid()
    name = getattr(gen_fn, "__qualname__", repr(gen_fn))
    if inspect.isasyncgenfunction(gen_fn):

        @functools.wraps(gen_fn)
        async def run_async(*args: Any, **kwargs: Any) -> int:
            channel = _producer_channel(pid, name)
            count = 0
            agen = gen_fn(*args, **kwargs)
            try:
                async for value in agen:
                    channel.push(value)
                    count += 1
            finally:
                await agen.aclose()
            return count

        return run_async

    @functools.wraps(gen_fn)
    def run(*args: Any, **kwargs: Any) -> int:
        channel = _producer_channel(pid, name)
        count = 0
        values = gen_fn(*args, **kwargs)
        try:
            for value in values:
                channel.push(value)
                count += 1
        finally:
            close = getattr(values, "close", None)  # a generator: run its cleanup now
            if close is not None:
                close()
        return count

    return run


def is_generator(fn: Any) -> bool:
    return inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)


def _close_when_settled(call: Any, channel: _Channel) -> None:
    try:
        while True:
            try:
                call.get(timeout=3600)  # a timeout keeps the wait free of notebook displays
                return
            except TimeoutError:
                if call.done():
                    return
    except BaseException:
        return  # the consumer raises the input's error itself
    finally:
        channel.close()


def iterate(
    spawn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Iterator[Any]:
    """The values one input yields, as it yields them; then its error, if it failed."""
    call = spawn(*args, **kwargs)
    input_id = call.input_ids[0]
    channel = _channel(input_id)
    closer = threading.Thread(
        target=_close_when_settled, args=(call, channel), name="concur_nb-gen", daemon=True
    )
    closer.start()
    try:
        while True:
            ok, value = channel.take()
            if not ok:
                break
            yield value
        call.get()  # settled: raises the input's exception if it failed
    finally:
        if not call.done():
            call.cancel()  # the consumer stopped early
        _drop(input_id)


async def iterate_async(
    spawn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> AsyncIterator[Any]:
    call = spawn(*args, **kwargs)
    input_id = call.input_ids[0]
    channel = _channel(input_id)

    async def close_when_settled() -> None:
        try:
            await call.get.aio()
        except (Exception, asyncio.CancelledError):
            pass
        finally:
            channel.close()

    closer = asyncio.ensure_future(close_when_settled())
    try:
        while True:
            ok, value = await channel.take_async()
            if not ok:
                break
            yield value
        await closer
        await call.get.aio()
    finally:
        if not call.done():
            call.cancel()
        if not closer.done():
            closer.cancel()
        _drop(input_id)
