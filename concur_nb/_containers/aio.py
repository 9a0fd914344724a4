"""Async works as tasks on one event loop, in a thread of its own.

A task that finishes a work asks the host for the next one and runs it itself, so a busy
container behaves like a fixed set of worker tasks (no task per input, no semaphore). A
watchdog notices when an input blocks the loop and says so.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from .._context import LogHost, current_host, current_work, ensure_capture
from .base import CANCELLED, ERROR, Outcome, Work, ok_outcome

CANCELLED_OUTCOME = Outcome(CANCELLED)
LAG_CHECK_EVERY = 0.1  # seconds between watchdog ticks
LAG_WARN_AFTER = 0.5  # a tick this late means something blocked the loop (not mere load)

# Loops that run inputs: a blocking call made on one of them would stall its siblings or
# deadlock, so the API refuses it there.
input_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


class LoopSlots:
    def __init__(
        self,
        name: str,
        resolve: Callable[[Work], Callable[..., Any]],
        plain_fn: Callable[..., Any] | None,
        log_host: LogHost,
        finished: Callable[[Work, Outcome, bool], Work | None],
        warn: Callable[[str], None],
    ) -> None:
        self._name = name
        self._resolve = resolve
        self._plain_fn = plain_fn  # a function's own (not a method): no resolving per work
        self._log_host = log_host
        self._finished = finished
        self._warn = warn
        self._inbox: deque[Work] = deque()
        self._wake_pending = False
        # Running works (read from any thread) and their tasks (used on the loop only). Two
        # dicts rather than one of pairs: no pair object per running input to collect.
        self._running: dict[str, Work] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._cancelled_before_start: set[str] = set()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=name, daemon=True)
        self._loop_thread_id: int | None = None
        self._last_lag_warning = 0.0

    def start(self) -> None:
        ready = threading.Event()
        self.loop.call_soon(ready.set)
        self._thread.start()
        ready.wait()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on this loop from another thread and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def submit(self, work: Work) -> None:
        if threading.get_ident() == self._loop_thread_id:  # on the loop already: start it now
            self.loop.create_task(self._serve(work))
            return
        self._inbox.append(work)
        if not self._wake_pending:
            self._wake_pending = True
            self.loop.call_soon_threadsafe(self._drain)

    def cancel(self, work_id: str) -> bool:
        work = self._running.get(work_id)
        if work is not None:
            work.cancel_requested = True
        self.loop.call_soon_threadsafe(self._cancel_on_loop, work_id)
        return work is not None

    def forget_early_cancels(self) -> None:
        """Drop cancels noted for works not started yet (call when none is outstanding)."""
        self._cancelled_before_start.clear()

    def running_ids(self) -> list[str]:
        return list(self._running)

    def stop(self, timeout: float | None = None) -> None:
        if self.loop.is_closed():
            return
        if self._thread.ident is None:  # never started: nothing runs on the loop
            self.loop.close()
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- on the loop's thread -------------------------------------------------------------

    def _run_loop(self) -> None:
        self._loop_thread_id = threading.get_ident()
        asyncio.set_event_loop(self.loop)
        input_loops.add(self.loop)
        self.loop.call_soon(self._watch_lag, self.loop.time() + LAG_CHECK_EVERY)
        try:
            self.loop.run_forever()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.run_until_complete(asyncio.sleep(0))
        finally:
            self.loop.close()

    def _drain(self) -> None:
        self._wake_pending = False
        while self._inbox:
            self.loop.create_task(self._serve(self._inbox.popleft()))

    def _cancel_on_loop(self, work_id: str) -> None:
        work = self._running.get(work_id)
        if work is None:
            self._cancelled_before_start.add(work_id)  # still in the inbox
        else:
            work.cancel_requested = True
            self._tasks[work_id].cancel()

    async def _serve(self, work: Work | None) -> None:
        # Each work runs inline in this loop rather than in a helper coroutine: at tens of
        # thousands of inputs a second, one object less per input is measurably less GC work.
        # (The names bound here save a lookup per input on the hottest path there is.)
        task = asyncio.current_task()
        assert task is not None
        current_host.set(self._log_host)  # in this task's own context, for all its works
        running, tasks, cancelled_early = self._running, self._tasks, self._cancelled_before_start
        resolve, plain_fn, finished = self._resolve, self._plain_fn, self._finished
        set_work, reset_work = current_work.set, current_work.reset
        while work is not None:
            work_id = work.id
            if cancelled_early and work_id in cancelled_early:
                cancelled_early.discard(work_id)
                work = finished(work, CANCELLED_OUTCOME, True)
                continue
            ensure_capture()  # cheap; re-routes if a kernel or pytest swapped the streams since
            fn = plain_fn if plain_fn is not None else resolve(work)
            work.cancel_requested = False
            token = set_work(work)
            tasks[work_id] = task
            running[work_id] = work
            try:
                kwargs = work.kwargs
                value = await (fn(*work.args, **kwargs) if kwargs else fn(*work.args))
                outcome = ok_outcome(value)
            except asyncio.CancelledError:
                outcome = CANCELLED_OUTCOME
            except BaseException as exc:
                outcome = Outcome(ERROR, exc)
            finally:
                del running[work_id]
                del tasks[work_id]
                reset_work(token)
                if work.cancel_requested:
                    _uncancel(task)
            work = finished(work, outcome, True)
            del outcome  # not kept alive through the next work's await (GC work)

    def _watch_lag(self, expected: float) -> None:
        now = self.loop.time()
        lag = now - expected
        if lag > LAG_WARN_AFTER and time.monotonic() - self._last_lag_warning > 10:
            self._last_lag_warning = time.monotonic()
            self._warn(
                f"an async input blocked the event loop of {self._name} for {lag:.2f}s, "
                "stalling every other input on it; await non-blocking calls, or move "
                "blocking work off the loop with `await asyncio.to_thread(...)`."
            )
        self.loop.call_at(now + LAG_CHECK_EVERY, self._watch_lag, now + LAG_CHECK_EVERY)


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Our cancel must not linger in the reused task (asyncio.timeout counts these)."""
    uncancel = getattr(task, "uncancel", None)  # Python >= 3.11
    if uncancel is not None and task.cancelling():  # type: ignore[attr-defined,unused-ignore]
        uncancel()
