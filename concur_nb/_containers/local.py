"""The in-process container: sync works on threads, async works as tasks on one loop.

It hosts a function or one instance of a class. ``enter`` hooks run once before the first
work, ``exit`` hooks when the container retires. Out-of-process workers (``concur_nb.worker``)
run this same container and relay its reports as messages.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from .._context import ensure_capture
from .._errors import ContainerError
from .._errors_text import describe, safe_repr
from .aio import LoopSlots
from .base import ERROR, ContainerHost, Outcome, Target, Work
from .threads import ThreadSlots

STOP_TIMEOUT = 5.0  # seconds to wait for cancelled works before giving up on a thread


def needs_loop(target: Target) -> bool:
    if target.is_class:
        return bool(target.async_methods) or any(
            inspect.iscoroutinefunction(getattr(target.obj, name))
            for name in (*target.enter, *target.exit)
        )
    return inspect.iscoroutinefunction(target.obj)


class LocalContainer:
    host_name = "local"
    gpus: tuple[str, ...] = ()

    def __init__(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> None:
        self.id = container_id
        self.kind = "asyncio" if needs_loop(target) else "thread"
        self._target = target
        self._host = host
        self._instance: Any = None
        self._lock = threading.Lock()
        self._outstanding = 0  # works submitted and not yet finished
        self._idle = threading.Condition(self._lock)
        self._stopping = False
        self._plain_fn = None if target.is_class else target.obj
        self._threads = ThreadSlots(f"{container_id}-thread", self._resolve, host, self._after)
        self._loop: LoopSlots | None = None
        # Works run on threads, on the loop, or (a class with sync and async methods) on
        # either: only then is each outstanding work's executor noted, for ``cancel``.
        self._mixed = target.is_class and needs_loop(target)
        self._on_loop: dict[str, bool] = {}  # outstanding work id -> runs on the loop (mixed)
        self._start_done = threading.Event()  # set once starting ended, well or not

    # --- Container interface --------------------------------------------------------------

    def start(self) -> None:
        try:
            threading.Thread(target=self._start, name=f"{self.id}-start", daemon=True).start()
        except RuntimeError as exc:
            raise ContainerError(
                f"could not start container {self.id}: the system refused a new thread "
                f"({describe(exc)}); lower max_inputs or max_containers, or raise the limit "
                "on threads."
            ) from exc

    def submit(self, work: Work) -> None:
        with self._lock:
            self._outstanding += 1
        try:
            self._route(work)
        except ContainerError:
            with self._lock:
                # A thread that has just reported its input counts as busy until it is back
                # waiting: with as many threads as works, one is about to take this one.
                freeing = not self._mixed and self._outstanding <= self._threads.count()
            if freeing:
                self._threads.enqueue(work)
                return
            self._forget_outstanding(work)  # no thread for it: the caller fails the work
            raise

    def cancel(self, work_id: str) -> None:
        if self._mixed:
            on_loop = self._on_loop.get(work_id)
            if on_loop is None:
                return  # already finished
        else:
            on_loop = self._loop is not None
        if on_loop:
            assert self._loop is not None
            self._loop.cancel(work_id)
        else:
            self._threads.cancel(work_id)

    def set_capacity(self, max_inputs: int) -> None:
        pass  # threads start lazily as load needs them; the scheduler enforces the cap

    def stop(self, *, graceful: bool) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        try:
            threading.Thread(
                target=self._stop, args=(graceful,), name=f"{self.id}-stop", daemon=True
            ).start()
        except RuntimeError:
            # At the system's thread limit: one of this container's own threads stops it once
            # free (cancelled works end at once); with none, the stop runs here.
            if not graceful:
                self.kill()
            if not self._threads.run_soon(lambda: self._stop(graceful)):
                self._stop(graceful)

    def kill(self) -> None:
        for work_id in self._running_ids():
            self.cancel(work_id)

    def info(self) -> dict[str, Any]:
        return {"outstanding": self._outstanding}

    # --- internals ------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            self._start_executors()
        finally:
            self._start_done.set()

    def _start_executors(self) -> None:
        try:
            ensure_capture()
            if needs_loop(self._target):
                self._loop = LoopSlots(
                    f"{self.id}-loop",
                    self._resolve,
                    self._plain_fn,
                    self._host,
                    self._after,
                    lambda message: self._host.warning(self, message),
                )
                self._loop.start()
            if self._target.is_class:
                self._instance = self._target.obj()
                self._run_hooks(self._target.enter)
        except BaseException as exc:
            error = ContainerError(
                f"container {self.id} of {self._target.name} failed to start: {safe_repr(exc)}"
            )
            error.__cause__ = exc
            self._shut_executors()
            self._host.failed(self, error)
            return
        self._host.ready(self)

    def _run_hooks(self, names: tuple[str, ...]) -> None:
        for name in names:
            hook = getattr(self._instance, name)
            if inspect.iscoroutinefunction(hook):
                assert self._loop is not None
                self._loop.run(hook())
            else:
                hook()

    def _stop(self, graceful: bool) -> None:
        self._start_done.wait(None if graceful else STOP_TIMEOUT)  # never stop half-started
        if not graceful:
            self.kill()
        with self._lock:
            self._idle.wait_for(
                lambda: self._outstanding == 0, timeout=None if graceful else STOP_TIMEOUT
            )
        try:
            if self._target.is_class and self._instance is not None:
                self._run_hooks(self._target.exit)
        except BaseException as exc:
            self._host.warning(self, f"exit hook of {self._target.name} raised {safe_repr(exc)}")
        finally:
            try:
                self._shut_executors()
            finally:
                self._host.stopped(self)

    def _shut_executors(self) -> None:
        self._threads.stop(timeout=STOP_TIMEOUT)
        if self._loop is not None:
            self._loop.stop(timeout=STOP_TIMEOUT)

    def _running_ids(self) -> list[str]:
        ids = self._threads.running_ids()
        if self._loop is not None:
            ids += self._loop.running_ids()
        return ids

    def _route(self, work: Work) -> None:
        if self._mixed:
            self._on_loop[work.id] = work.is_async
        if work.is_async:
            assert self._loop is not None, "async work on a container without a loop"
            self._loop.submit(work)
        else:
            self._threads.submit(work)

    def _resolve(self, work: Work) -> Callable[..., Any]:
        if self._plain_fn is not None:
            return self._plain_fn
        return getattr(self._instance, work.method or "")

    def _after(self, work: Work, outcome: Outcome, on_loop: bool) -> Work | None:
        """Report ``work``'s end; keep the next work if it runs on the same executor."""
        if self._mixed:
            self._on_loop.pop(work.id, None)
        try:
            following = self._host.finished(self, work.id, outcome)
        except Exception as exc:  # the host's bug; this thread and the work must not be lost
            following = self._report_instead(work, exc)
        while following is not None and following.is_async != on_loop:
            try:
                self._route(following)  # the same slot, the other executor
                return None
            except ContainerError as exc:  # no thread for it: it fails, the slot serves on
                work, following = following, None
                if self._mixed:
                    self._on_loop.pop(work.id, None)
                try:
                    following = self._host.finished(self, work.id, Outcome(ERROR, exc))
                except Exception as broken:
                    following = self._report_instead(work, broken)
        if following is not None:
            if self._mixed:
                self._on_loop[following.id] = on_loop
            return following
        with self._lock:
            self._outstanding -= 1
            if self._outstanding == 0:
                # No work waits to start: a cancel that raced a work's end left its id behind.
                self._threads.forget_early_cancels()
                if self._loop is not None:
                    self._loop.forget_early_cancels()
                self._idle.notify_all()
        return None

    def _forget_outstanding(self, work: Work) -> None:
        if self._mixed:
            self._on_loop.pop(work.id, None)
        with self._lock:
            self._outstanding -= 1
            if self._outstanding == 0:
                self._idle.notify_all()

    def _report_instead(self, work: Work, exc: Exception) -> Work | None:
        """``host.finished`` raised: report the work failed with that error instead, so it
        still ends (and the thread or task that ran it lives on)."""
        error = ContainerError(
            f"the outcome of input {work.id} could not be reported: {describe(exc)}"
        )
        error.__cause__ = exc
        try:
            return self._host.finished(self, work.id, Outcome(ERROR, error))
        except Exception:
            return None  # nothing more can be said; the host takes back works of a lost slot


class LocalBackend:
    """In-process containers: the default for every function."""

    name = "local"
    out_of_process = False

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> LocalContainer:
        return LocalContainer(container_id, target, max_inputs, host)

    def max_containers(self) -> int | None:
        return None
