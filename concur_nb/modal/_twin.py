"""Methods with an awaitable twin, as Modal's are: ``q.get(...)`` and ``await q.get.aio(...)``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class Twin:
    """A blocking method and its ``.aio`` twin, as Modal's methods have."""

    def __init__(self, sync: Callable[..., Any], aio: Callable[..., Any]) -> None:
        self._sync = sync
        self.aio = aio

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._sync(*args, **kwargs)

    # Computed when asked (help(), inspect), not on every call: a Twin is made per access.
    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self._sync)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return self._sync.__doc__


class twin:
    """Declare a method with an ``.aio`` twin; ``aio`` defaults to running the sync form, for
    methods that never wait (they only take a lock)."""

    def __init__(self, sync: Callable[..., Any]) -> None:
        self._sync = sync
        self._aio: Callable[..., Any] | None = None
        self.__doc__ = sync.__doc__

    def aio(self, fn: Callable[..., Any]) -> twin:
        self._aio = fn
        return self

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self._sync
        sync = self._sync.__get__(obj, owner)
        if self._aio is not None:
            return Twin(sync, self._aio.__get__(obj, owner))
        if inspect.isgeneratorfunction(self._sync):

            async def agen(*args: Any, **kwargs: Any) -> Any:
                for item in sync(*args, **kwargs):
                    yield item

            return Twin(sync, agen)

        async def aio(*args: Any, **kwargs: Any) -> Any:
            return sync(*args, **kwargs)

        return Twin(sync, aio)
