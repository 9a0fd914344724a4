"""Async works as tasks on one event loop, in a thread of its own.

A task that finishes a work asks the host for the next one and runs it itself, so a busy
container behaves like a fixed set of worker tasks (no task per input, no semaphore). A
watchdog notices when an input blocks the loop and says so (``_LagWatch``). The loop is
uvloop's when it is installed (``loop_choice.py``); nothing here depends on which.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from .._context import LogHost, SlotIdentity, current_host, current_work, ensure_capture
from .base import CANCELLED, ERROR, Outcome, Work, ok_outcome
from .loop_choice import new_loop

CANCELLED_OUTCOME = Outcome(CANCELLED)
LAG_BEAT_EVERY = 0.05  # seconds between the loop's marks that it turns
LAG_SAMPLE_EVERY = 0.05  # seconds between the watchdog's looks at each loop
LAG_WARN_AFTER = 0.2  # one step of an input that holds the loop this long gets a warning
LAG_STILL_BLOCKED = 2.0  # a step still running after this is reported before it ends
LAG_WARN_INTERVAL = 10.0  # seconds between two warnings of one loop

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
        self.loop = new_loop()  # uvloop when installed, unless turned off (loop_choice.py)
        self._thread = threading.Thread(target=self._run_loop, name=name, daemon=True)
        self._loop_thread_id: int | None = None
        # The lag watch's view (see ``_LagWatch``): beats count the loop's turns; while
        # ``engine_step`` is true the running task is in this module's code, not an input's.
        self.beats = 0
        self.engine_step = False
        self._seen: tuple[int, object] | None = None  # (beats, task) the watch last saw
        self._seen_since = self._seen_last = 0.0
        self._gc_since = self._gc_last = 0.0  # the GC's total seconds at those two looks
        self._told = False  # this stall was reported already
        self._last_lag_warning = -LAG_WARN_INTERVAL

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
        self.loop.call_soon(self._beat)
        lag_watch.add(self)
        try:
            self.loop.run_forever()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.run_until_complete(asyncio.sleep(0))
        finally:
            lag_watch.remove(self)
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
        # In this task's own context, once for all its works (see ``_context``).
        current_host.set(self._log_host)
        identity = SlotIdentity()
        current_work.set(identity)
        running, tasks, cancelled_early = self._running, self._tasks, self._cancelled_before_start
        resolve, plain_fn, finished = self._resolve, self._plain_fn, self._finished
        self.engine_step = True  # until the input's own code runs (read by the lag watch)
        while work is not None:
            work_id = work.id
            if cancelled_early and work_id in cancelled_early:
                cancelled_early.discard(work_id)
                work = finished(work, CANCELLED_OUTCOME, True)
                continue
            ensure_capture()  # cheap; re-routes if a kernel or pytest swapped the streams since
            fn = plain_fn if plain_fn is not None else resolve(work)
            work.cancel_requested = False
            identity.work = work
            tasks[work_id] = task
            running[work_id] = work
            try:
                kwargs = work.kwargs
                self.engine_step = False
                value = await (fn(*work.args, **kwargs) if kwargs else fn(*work.args))
                outcome = ok_outcome(value)
            except asyncio.CancelledError:
                outcome = CANCELLED_OUTCOME
            except BaseException as exc:
                outcome = Outcome(ERROR, exc)
            finally:
                self.engine_step = True
                del running[work_id]
                del tasks[work_id]
                identity.work = None
                if work.cancel_requested:
                    _uncancel(task)
            work = finished(work, outcome, True)
            del outcome  # not kept alive through the next work's await (GC work)
        self.engine_step = False

    def _beat(self) -> None:
        self.beats += 1
        self.loop.call_at(self.loop.time() + LAG_BEAT_EVERY, self._beat)

    # --- in the lag watch's thread --------------------------------------------------------

    def sample(self, now: float, gc_spent: float = 0.0) -> None:
        """Look at the loop from outside: a loop that has not turned while one task stayed
        current and in an input's own code is blocked by that input.

        ``gc_spent`` is the cyclic GC's running total of seconds. A collection holds the GIL,
        so it stalls every loop whichever allocation set it off (in W4 on uvloop, full ones
        took up to 0.17 s): its time is not the input's.
        """
        task = asyncio.current_task(self.loop)  # a dict lookup: safe from another thread
        self.judge(now, gc_spent, self.beats, task, self.engine_step)

    def judge(
        self, now: float, gc_spent: float, beats: int, task: object, engine_step: bool
    ) -> None:
        """``sample``'s verdict on what it saw (apart, so a test can play a timeline)."""
        seen = (beats, task)
        if task is None or engine_step or seen != self._seen:
            if self._seen is not None and not self._told:
                self._report(self._blocked(self._seen_last, self._gc_last), ended=True)
            self._seen, self._seen_since, self._seen_last, self._told = seen, now, now, False
            self._gc_since = self._gc_last = gc_spent
            if task is None or engine_step:
                self._seen = None
            return
        self._seen_last, self._gc_last = now, gc_spent
        if not self._told and self._blocked(now, gc_spent) >= LAG_STILL_BLOCKED:
            self._report(self._blocked(now, gc_spent), ended=False)

    def _blocked(self, until: float, gc_until: float) -> float:
        return until - self._seen_since - (gc_until - self._gc_since)

    def _report(self, blocked: float, *, ended: bool) -> None:
        if blocked < LAG_WARN_AFTER:
            return
        self._told = True
        now = time.monotonic()
        if now - self._last_lag_warning < LAG_WARN_INTERVAL:
            return
        self._last_lag_warning = now
        how_long = f"for {blocked:.2f}s" if ended else f"for {blocked:.1f}s so far"
        self._warn(
            f"an async input blocked the event loop of {self._name} {how_long}, "
            "stalling every other input on it; await non-blocking calls, or move "
            "blocking work off the loop with `await asyncio.to_thread(...)`."
        )


class _LagWatch:
    """One thread that looks at every input loop a few times a second.

    It blames an input only when the loop stopped turning while that input's own code was
    running: a loop that is merely busy (the engine starting thousands of tasks in a burst,
    each step short) turns over many tasks between two looks, and is not blamed on anyone.
    The thread runs while some loop does, so an idle process keeps no extra thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: set[LoopSlots] = set()
        self._running = False

    def add(self, slots: LoopSlots) -> None:
        with self._lock:
            self._watched.add(slots)
            if self._running:
                return
            self._running = True
        try:
            count_gc_time()
            threading.Thread(target=self._run, name="concur_nb-lag-watch", daemon=True).start()
        except RuntimeError:  # at the system's thread limit: the loops run unwatched
            with self._lock:
                self._running = False

    def remove(self, slots: LoopSlots) -> None:
        with self._lock:
            self._watched.discard(slots)

    def _run(self) -> None:
        while True:
            time.sleep(LAG_SAMPLE_EVERY)
            with self._lock:
                if not self._watched:
                    self._running = False
                    return
                watched = list(self._watched)
            now, gc_spent = time.monotonic(), gc_time.total
            for slots in watched:
                try:
                    slots.sample(now, gc_spent)
                except Exception:  # a warning that cannot be given must not end the watch
                    pass


class _GcTime:
    """A ``gc.callbacks`` entry that adds up the seconds the cyclic GC runs (one collection
    runs at a time, in whichever thread's allocation set it off)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        else:
            self.total += time.monotonic() - self._started


gc_time = _GcTime()
lag_watch = _LagWatch()


def count_gc_time() -> None:
    """Start adding up the GC's time (once; it stays: two clock reads per collection)."""
    if gc_time not in gc.callbacks:
        gc.callbacks.append(gc_time)


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Our cancel must not linger in the reused task (asyncio.timeout counts these)."""
    uncancel = getattr(task, "uncancel", None)  # Python >= 3.11
    if uncancel is not None and task.cancelling():  # type: ignore[attr-defined,unused-ignore]
        uncancel()
