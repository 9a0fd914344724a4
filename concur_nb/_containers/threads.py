"""Sync works on a pool of long-lived threads, one work per thread at a time.

Threads are started lazily, as load needs them, up to the container's capacity, and each keeps
serving: when its work ends it asks the host for the next one directly, so a busy container
never waits on the scheduler's thread. When the OS refuses a new thread, ``submit`` raises
``ContainerError`` and the pool keeps the threads it has.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from .._context import LogHost, current_host, current_work, ensure_capture
from .._errors import ContainerError, InputCancellation
from .._errors_text import describe
from .base import CANCELLED, ERROR, Outcome, Work, ok_outcome
from .cancel_into_thread import clear_pending, raise_in_thread

CANCELLED_OUTCOME = Outcome(CANCELLED)


class Job:
    """Engine work handed to a serving thread when no new thread can be started."""

    __slots__ = ("run",)

    def __init__(self, run: Callable[[], object]) -> None:
        self.run = run


class ThreadSlots:
    def __init__(
        self,
        name: str,
        resolve: Callable[[Work], Callable[..., object]],
        log_host: LogHost,
        finished: Callable[[Work, Outcome, bool], Work | None],
    ) -> None:
        self._name = name
        self._resolve = resolve
        self._log_host = log_host
        self._finished = finished
        self._inbox: queue.SimpleQueue[Work | Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._load = 0  # works handed to this pool and not yet done
        self._running: dict[str, tuple[int, Work]] = {}
        self._cancelled_before_start: set[str] = set()

    def submit(self, work: Work) -> None:
        """Queue ``work`` for a thread, starting one if all are busy; ``ContainerError`` if
        the OS refuses it (nothing is then counted: the caller fails the work)."""
        with self._lock:
            if self._load >= len(self._threads):
                # Started under the lock, so no other submit counts on a thread that may fail.
                thread = threading.Thread(
                    target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError as exc:  # "can't start new thread": a limit was reached
                    raise ContainerError(
                        f"could not start a thread for input {work.id}: the system refused "
                        f"thread {len(self._threads) + 1} of {self._name} ({describe(exc)}); "
                        "lower max_inputs, or raise the limit on threads (ulimit -u, "
                        "ulimit -v, pids.max)."
                    ) from exc
                self._threads.append(thread)
            self._load += 1
        self._hand_over(work)

    def count(self) -> int:
        """Threads started."""
        return len(self._threads)

    def enqueue(self, work: Work) -> None:
        """Queue ``work`` for the next thread that is free, without starting one."""
        with self._lock:
            self._load += 1
        self._hand_over(work)

    def _hand_over(self, work: Work) -> None:
        self._inbox.put(work)  # the next free thread takes it

    def run_soon(self, job: Callable[[], object]) -> bool:
        """Run ``job`` on one of the threads once one is free; False if there are none."""
        with self._lock:
            if not self._threads:
                return False
        self._inbox.put(Job(job))
        return True

    def cancel(self, work_id: str) -> bool:
        """Raise ``InputCancellation`` in the thread running ``work_id``; False if none is."""
        with self._lock:
            entry = self._running.get(work_id)
            if entry is None:
                self._cancelled_before_start.add(work_id)  # still in the inbox
                return False
            thread_id, work = entry
            if not work.cancel_requested:
                work.cancel_requested = True
                raise_in_thread(thread_id, InputCancellation)
        return True

    def forget_early_cancels(self) -> None:
        """Drop cancels noted for works not started yet (call when none is outstanding)."""
        with self._lock:
            self._cancelled_before_start.clear()

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def stop(self, timeout: float | None = None) -> None:
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._inbox.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _serve(self) -> None:
        current_host.set(self._log_host)  # this thread's context, for all its works
        thread_id = threading.get_ident()
        while True:
            work = self._inbox.get()
            if work is None:
                return
            if isinstance(work, Job):
                work.run()
                continue
            while work is not None:
                work = self._finished(work, self._execute(work, thread_id), False)
            with self._lock:
                self._load -= 1

    def _execute(self, work: Work, thread_id: int) -> Outcome:
        ensure_capture()  # cheap; re-routes if a kernel or pytest swapped the streams since
        fn = self._resolve(work)
        with self._lock:
            if work.id in self._cancelled_before_start:
                self._cancelled_before_start.discard(work.id)
                return CANCELLED_OUTCOME
            work.cancel_requested = False
            self._running[work.id] = (thread_id, work)
        token = current_work.set(work)
        outcome: Outcome | None = None
        try:
            try:
                kwargs = work.kwargs
                outcome = ok_outcome(fn(*work.args, **kwargs) if kwargs else fn(*work.args))
            except InputCancellation:
                outcome = CANCELLED_OUTCOME
            except BaseException as exc:
                outcome = Outcome(ERROR, exc)
            self._forget(work.id, thread_id)
        except InputCancellation:
            # The cancellation landed after the user's code returned; its result is moot.
            self._forget(work.id, thread_id)
            if outcome is None:
                outcome = CANCELLED_OUTCOME
        finally:
            current_work.reset(token)
        return outcome

    def _forget(self, work_id: str, thread_id: int) -> None:
        with self._lock:
            entry = self._running.pop(work_id, None)
            if entry is not None and entry[1].cancel_requested:
                clear_pending(
                    thread_id
                )  # a cancellation that has not fired yet must not hit the next work
