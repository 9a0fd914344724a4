"""``modal.Queue``: FIFO queues shared by every input of this process, with partitions,
thread- and task-safe, with Modal's methods and their ``.aio`` twins.

``get``/``put`` block as Modal's do (``queue.Empty``/``queue.Full`` after ``timeout``; with
``block=False`` an empty ``get`` returns None). A partition holds at most 5,000 items, Modal's
limit. ``partition_ttl`` is accepted and not applied: partitions live as long as the process.
"""

from __future__ import annotations

import itertools
import queue
import warnings
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .._errors import InvalidError
from ._options import user_stacklevel
from ._stores import Guarded, Named, Store, dump, load
from ._twin import twin

PARTITION_LIMIT = 5000
DEFAULT_TTL = 24 * 3600


class _Contents(Guarded):
    def __init__(self) -> None:
        super().__init__()
        self.partitions: dict[str, deque[tuple[int, bytes]]] = {}
        self.sequence = itertools.count()

    def part(self, key: str) -> deque[tuple[int, bytes]]:
        found = self.partitions.get(key)
        if found is None:
            found = self.partitions[key] = deque()
        return found


_named = Named("Queue", _Contents)


def _key(partition: str | None) -> str:
    if partition is None:
        return ""
    if not isinstance(partition, str) or not 1 <= len(partition.encode()) <= 64:
        raise InvalidError(
            f"Queue partition key must be between 1 and 64 characters, got {partition!r}."
        )
    return partition


def _no_timeout_without_block(block: bool, timeout: float | None) -> None:
    if not block and timeout is not None:
        warnings.warn("Timeout is ignored for non-blocking get.", stacklevel=user_stacklevel())


class Queue(Store):
    """A FIFO queue shared by inputs: ``modal.Queue.from_name("jobs", create_if_missing=True)``."""

    _named = _named
    _contents: _Contents

    def __repr__(self) -> str:
        return f"<concur_nb.modal.Queue {self._name or '(ephemeral)'}>"

    # -- taking
    def _taker(self, partition: str | None, n_values: int) -> tuple[Any, Any]:
        if not isinstance(n_values, int) or isinstance(n_values, bool) or n_values < 1:
            raise InvalidError(f"n_values must be a positive int, got {n_values!r}.")
        items = self._contents.part(_key(partition))

        def ready() -> bool:
            return bool(items)

        def take() -> list[Any]:
            blobs = [items.popleft()[1] for _ in range(min(n_values, len(items)))]
            self._contents.changed()  # room for blocked puts
            return blobs

        return ready, take

    @twin
    def get_many(
        self,
        n_values: int,
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
    ) -> list[Any]:
        """Remove and return up to ``n_values`` items (waits for at least one if ``block``)."""
        ready, take = self._taker(partition, n_values)
        _no_timeout_without_block(block, timeout)
        ok, blobs = self._contents.when(ready, take, timeout if block else 0)
        if not ok:
            if block:
                raise queue.Empty()
            return []
        return [load(b) for b in blobs or []]

    @get_many.aio
    async def _get_many_aio(
        self,
        n_values: int,
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
    ) -> list[Any]:
        ready, take = self._taker(partition, n_values)
        _no_timeout_without_block(block, timeout)
        ok, blobs = await self._contents.when_async(ready, take, timeout if block else 0)
        if not ok:
            if block:
                raise queue.Empty()
            return []
        return [load(b) for b in blobs or []]

    @twin
    def get(
        self, block: bool = True, timeout: float | None = None, *, partition: str | None = None
    ) -> Any:
        """Remove and return the next item; waits if ``block`` (``queue.Empty`` after
        ``timeout``), else None when empty."""
        values = self.get_many(1, block, timeout, partition=partition)
        return values[0] if values else None

    @get.aio
    async def _get_aio(
        self, block: bool = True, timeout: float | None = None, *, partition: str | None = None
    ) -> Any:
        values = await self.get_many.aio(1, block, timeout, partition=partition)
        return values[0] if values else None

    # -- putting
    def _putter(self, partition: str | None, vs: list[Any]) -> tuple[Any, Any]:
        blobs = [dump(v) for v in vs]
        if len(blobs) > PARTITION_LIMIT:
            raise InvalidError(
                f"put_many of {len(blobs)} items: a partition holds at most {PARTITION_LIMIT}."
            )
        items = self._contents.part(_key(partition))

        def ready() -> bool:
            return len(items) + len(blobs) <= PARTITION_LIMIT

        def put() -> None:
            items.extend((next(self._contents.sequence), blob) for blob in blobs)
            self._contents.changed()

        return ready, put

    @twin
    def put_many(
        self,
        vs: list[Any],
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
        partition_ttl: int = DEFAULT_TTL,
    ) -> None:
        """Add items at the end; waits for room if ``block`` (``queue.Full`` after ``timeout``)."""
        ready, put = self._putter(partition, list(vs))
        ok, _ = self._contents.when(ready, put, timeout if block else 0)
        if not ok:
            raise queue.Full(f"partition {partition!r} holds {PARTITION_LIMIT} items")

    @put_many.aio
    async def _put_many_aio(
        self,
        vs: list[Any],
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
        partition_ttl: int = DEFAULT_TTL,
    ) -> None:
        ready, put = self._putter(partition, list(vs))
        ok, _ = await self._contents.when_async(ready, put, timeout if block else 0)
        if not ok:
            raise queue.Full(f"partition {partition!r} holds {PARTITION_LIMIT} items")

    @twin
    def put(
        self,
        v: Any,
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
        partition_ttl: int = DEFAULT_TTL,
    ) -> None:
        """Add an item at the end (see ``put_many``)."""
        self.put_many([v], block, timeout, partition=partition, partition_ttl=partition_ttl)

    @put.aio
    async def _put_aio(
        self,
        v: Any,
        block: bool = True,
        timeout: float | None = None,
        *,
        partition: str | None = None,
        partition_ttl: int = DEFAULT_TTL,
    ) -> None:
        await self.put_many.aio(
            [v], block, timeout, partition=partition, partition_ttl=partition_ttl
        )

    # -- the rest
    @twin
    def len(self, *, partition: str | None = None, total: bool = False) -> int:
        """Items in a partition (``total=True``: in all of them)."""
        if partition and total:
            raise InvalidError("Partition must be null when requesting total length.")
        with self._contents.cond:
            if total:
                return sum(len(p) for p in self._contents.partitions.values())
            return len(self._contents.part(_key(partition)))

    @twin
    def clear(self, *, partition: str | None = None, all: bool = False) -> None:
        """Empty a partition (``all=True``: every partition)."""
        if partition and all:
            raise InvalidError("Partition must be null when requesting to clear all.")
        with self._contents.cond:
            if all:
                self._contents.partitions.clear()
            else:
                self._contents.part(_key(partition)).clear()
            self._contents.changed()

    def _after(self, key: str, last: int) -> tuple[Any, Any]:
        items = self._contents.part(key)

        def ready() -> bool:
            return bool(items) and items[-1][0] > last

        def next_item() -> tuple[int, bytes]:
            return next(item for item in items if item[0] > last)

        return ready, next_item

    @twin
    def iterate(
        self, *, partition: str | None = None, item_poll_timeout: float = 0.0
    ) -> Iterator[Any]:
        """The items, without removing them; waits ``item_poll_timeout`` for more at the end."""
        key, last = _key(partition), -1
        while True:
            ready, next_item = self._after(key, last)
            ok, item = self._contents.when(ready, next_item, item_poll_timeout)
            if not ok or item is None:
                return
            last = item[0]
            yield load(item[1])

    @iterate.aio
    async def _iterate_aio(
        self, *, partition: str | None = None, item_poll_timeout: float = 0.0
    ) -> AsyncIterator[Any]:
        key, last = _key(partition), -1
        while True:
            ready, next_item = self._after(key, last)
            ok, item = await self._contents.when_async(ready, next_item, item_poll_timeout)
            if not ok or item is None:
                return
            last = item[0]
            yield load(item[1])
