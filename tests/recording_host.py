"""A small, real ContainerHost for testing container kinds without the scheduler.

It keeps a queue of works, hands the next one to a slot that frees (as the pool does), records
every report, and lets a test wait for a condition without sleeping.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable
from typing import Any

from concur_nb._containers.base import Container, Outcome, Work

_ids = itertools.count(1)


def make_work(*args: Any, method: str | None = None, is_async: bool = False, **kwargs: Any) -> Work:
    number = next(_ids)
    return Work(f"in-{number}", f"fc-{number}", method, args, kwargs, is_async)


class RecordingHost:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.queue: collections.deque[Work] = collections.deque()
        self.outcomes: dict[str, Outcome] = {}
        self.logs: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        self.warnings: list[str] = []
        self.ready_containers: list[Container] = []
        self.failures: list[BaseException] = []
        self.stopped_containers: list[Container] = []

    # --- ContainerHost --------------------------------------------------------------------

    def ready(self, container: Container) -> None:
        self._record(lambda: self.ready_containers.append(container))

    def failed(self, container: Container, error: BaseException) -> None:
        self._record(lambda: self.failures.append(error))

    def log(self, work_id: str, stream: str, text: str) -> None:
        self._record(lambda: self.logs[work_id].append((stream, text)))

    def warning(self, container: Container, message: str) -> None:
        self._record(lambda: self.warnings.append(message))

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        with self._changed:
            self.outcomes[work_id] = outcome
            self._changed.notify_all()
            return self.queue.popleft() if self.queue else None

    def stopped(self, container: Container) -> None:
        self._record(lambda: self.stopped_containers.append(container))

    # --- for tests ------------------------------------------------------------------------

    def _record(self, change: Callable[[], None]) -> None:
        with self._changed:
            change()
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout):
                raise AssertionError(
                    f"timed out; outcomes={len(self.outcomes)} failures={self.failures!r} "
                    f"ready={len(self.ready_containers)} stopped={len(self.stopped_containers)}"
                )

    def wait_ready(self, timeout: float = 20.0) -> None:
        self.wait_for(lambda: bool(self.ready_containers or self.failures), timeout)
        if self.failures:
            raise AssertionError(f"the container failed to start: {self.failures[0]}")

    def result(self, work: Work, timeout: float = 20.0) -> Any:
        self.wait_for(lambda: work.id in self.outcomes or bool(self.failures), timeout)
        if work.id not in self.outcomes:
            raise AssertionError(f"the container failed instead: {self.failures[0]}")
        return self.outcomes[work.id]

    def run_all(self, container: Container, works: list[Work], slots: int) -> list[Outcome]:
        """Fill ``slots`` slots, queue the rest (refilled through ``finished``), and wait."""
        with self._changed:
            self.queue.extend(works[slots:])
        for work in works[:slots]:
            container.submit(work)
        self.wait_for(lambda: all(w.id in self.outcomes for w in works) or bool(self.failures))
        return [self.outcomes[w.id] for w in works]
