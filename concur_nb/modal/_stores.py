"""What ``modal.Dict`` and ``modal.Queue`` share: names, copies, ``.aio`` twins, and waiting.

Values are stored as pickles, as Modal stores them serialized: what a caller gets is a copy,
and a value that cannot be pickled fails at ``put``, as it would on Modal. Waiting works from
threads (a condition) and from any event loop (futures woken thread-safely), so a ``get`` that
blocks never blocks an event loop when called as ``await q.get.aio()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import cloudpickle

from .._errors import InvalidError, NotFoundError

T = TypeVar("T")


def dump(value: Any) -> bytes:
    try:
        return cloudpickle.dumps(value)
    except Exception as exc:
        raise InvalidError(
            f"{type(value).__name__} value cannot be stored: Modal stores values serialized "
            f"(pickled) and this one cannot be pickled ({exc})."
        ) from exc


def load(blob: bytes) -> Any:
    return pickle.loads(blob)


class Guarded:
    """A lock, with waiting for a condition from threads and from event loops."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def changed(self) -> None:
        """Wake every waiter to re-check (call with ``cond`` held)."""
        self.cond.notify_all()
        for loop, future in self._waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits there
                loop.call_soon_threadsafe(_resolve, future)
        self._waiters.clear()

    def when(
        self, ready: Callable[[], bool], action: Callable[[], T], timeout: float | None
    ) -> tuple[bool, T | None]:
        """Run ``action`` once ``ready()``; ``(False, None)`` if ``timeout`` passes first."""
        with self.cond:
            if not self.cond.wait_for(ready, timeout):
                return False, None
            return True, action()

    async def when_async(
        self, ready: Callable[[], bool], action: Callable[[], T], timeout: float | None
    ) -> tuple[bool, T | None]:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.cond:
                if ready():
                    return True, action()
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False, None
            try:
                await asyncio.wait_for(future, remaining)
            except asyncio.TimeoutError:
                pass


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


S = TypeVar("S", bound="Store")


class Store:
    """What ``modal.Dict`` and ``modal.Queue`` share: a handle on contents that live in this
    process, made by ``from_name`` or ``ephemeral``, never by calling the class (as on Modal).
    A subclass sets ``_named``, the registry of its named contents."""

    _named: ClassVar[Named]
    _contents: Any
    _name: str | None

    def __init__(self) -> None:
        kind = type(self).__name__
        raise RuntimeError(
            f"{kind}() is not allowed. "
            f"Please use `{kind}.from_name(...)` or `{kind}.ephemeral()` instead."
        )

    @classmethod
    def _new(cls: type[S], contents: Any, name: str | None) -> S:
        obj = cls.__new__(cls)
        obj._contents = contents
        obj._name = name
        return obj

    @classmethod
    def from_name(
        cls: type[S],
        name: str,
        *,
        environment_name: str | None = None,
        create_if_missing: bool = False,
        client: Any = None,
    ) -> S:
        """The one called ``name`` in this process (``NotFoundError`` unless it exists or
        ``create_if_missing=True``)."""
        check_name(name, cls.__name__)
        return cls._new(cls._named.get(name, create_if_missing), name)

    @classmethod
    def ephemeral(
        cls, client: Any = None, environment_name: str | None = None, _heartbeat_sleep: float = 300
    ) -> Ephemeral:
        """An anonymous one for a ``with`` (or ``async with``) block."""
        return Ephemeral(lambda: cls._new(cls._named.make(), None))

    @classmethod
    def delete(cls, name: str, *, allow_missing: bool = False, **_options: Any) -> None:
        """Forget the named one (``NotFoundError`` if there is none, unless allowed)."""
        if not allow_missing:
            cls._named.get(name, False)
        cls._named.delete(name)

    @property
    def name(self) -> str | None:
        return self._name


class Named:
    """The named objects of one kind (``Dict`` or ``Queue``) in this process."""

    def __init__(self, kind: str, make: Callable[[], Any]) -> None:
        self._kind = kind
        self.make = make  # new, empty contents
        self._objects: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str, create: bool) -> Any:
        with self._lock:
            found = self._objects.get(name)
            if found is None and create:
                found = self._objects[name] = self.make()
        if found is None:
            raise NotFoundError(
                f"{self._kind} {name!r} not found in this process; create it with "
                f"modal.{self._kind}.from_name({name!r}, create_if_missing=True)."
            )
        return found

    def delete(self, name: str) -> None:
        with self._lock:
            self._objects.pop(name, None)


def check_name(name: Any, kind: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidError(f"{kind} name must be a non-empty string, got {name!r}.")
    return name


class Ephemeral:
    """``with X.ephemeral() as x`` and ``async with X.ephemeral() as x``: an anonymous object."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make

    def __enter__(self) -> Any:
        return self._make()

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> Any:
        return self._make()

    async def __aexit__(self, *exc: object) -> None:
        return None
