"""Wake-ups held back while a thread reports a work's end under the pool's lock.

A thread container reports each finished work to the pool, which settles the input's call
under its lock. Waking the caller there (a futex wake, a write to a loop's self-pipe) would
hold the lock across those system calls, and a caller that woke and submitted again would find
it taken. Inside ``with held_wakes():`` a call's wake-ups are queued in this thread instead and
run, in order, when the block ends: the caller needs this thread's GIL anyway, which it keeps
until it waits for the next work, so it wakes no later in practice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class _Held(threading.local):
    # The wake-ups this thread holds back now: None outside ``held_wakes``.
    wakes: list[tuple[Callable[..., None], tuple[Any, ...]]] | None = None


held = _Held()


class held_wakes:
    """``with held_wakes():`` wake-ups queued in the block (``held.wakes``) run when it ends.

    Only around reporting a work's end or placing works under the pool's lock: nothing inside
    may wait for a caller it wakes. One object per thread, reused for every work. Inside
    another such block it holds nothing itself: the outer block runs everything at its end.
    """

    __slots__ = ("_inner", "_wakes")

    def __init__(self) -> None:
        self._wakes: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._inner = False

    def __enter__(self) -> None:
        self._inner = held.wakes is not None
        if not self._inner:
            held.wakes = self._wakes

    def __exit__(self, *exc: object) -> None:
        if self._inner:
            return
        held.wakes = None
        wakes = self._wakes
        if not wakes:
            return
        failed: BaseException | None = None
        for wake, args in wakes:
            try:
                wake(*args)
            except BaseException as exc:  # the other callers are woken all the same
                failed = failed or exc
        wakes.clear()
        if failed is not None:
            raise failed
