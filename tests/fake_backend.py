"""A backend whose containers run nothing: they record what the pool hands them, and the test
says when a container is ready, when a work ends and when a container dies. No threads."""

from __future__ import annotations

from typing import Any

from concur_nb._containers.base import ContainerHost, Outcome, Target, Work


class FakeContainer:
    kind = "fake"
    host_name = "local"
    gpus: tuple[str, ...] = ()

    def __init__(
        self,
        cid: str,
        host: ContainerHost,
        refuse_after: int | None,
        start_error: BaseException | None = None,
    ) -> None:
        self.id = cid
        self.host = host
        self.works: dict[str, Work] = {}
        self.cancelled: list[str] = []
        self.stopping = False
        self._refuse_after = refuse_after
        self._start_error = start_error

    def start(self) -> None:
        if self._start_error is not None:
            raise self._start_error

    def submit(self, work: Work) -> None:
        if self._refuse_after is not None and len(self.works) >= self._refuse_after:
            raise RuntimeError("can't start new thread")
        self.works[work.id] = work

    def cancel(self, work_id: str) -> None:
        self.cancelled.append(work_id)

    def set_capacity(self, max_inputs: int) -> None:
        pass

    def stop(self, *, graceful: bool) -> None:
        self.stopping = True

    def info(self) -> dict[str, Any]:
        return {}

    def kill(self) -> None:
        pass

    # --- what the test does

    def ready(self) -> None:
        self.host.ready(self)

    def finish(self, work_id: str, outcome: Outcome) -> Work | None:
        """End a work; a next work handed back takes its place (as a real slot would run it)."""
        work = self.works.pop(work_id)
        following = self.host.finished(self, work.id, outcome)
        if following is not None:
            self.works[following.id] = following
        return following

    def die(self, error: BaseException) -> None:
        self.works.clear()
        self.stopping = True  # gone
        self.host.failed(self, error)


class FakeBackend:
    name = "fake"
    out_of_process = True

    def __init__(
        self, refuse_after: int | None = None, start_error: BaseException | None = None
    ) -> None:
        self.containers: list[FakeContainer] = []
        self._refuse_after = refuse_after
        self._start_error = start_error

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> FakeContainer:
        container = FakeContainer(container_id, host, self._refuse_after, self._start_error)
        self.containers.append(container)
        return container

    def max_containers(self) -> int | None:
        return None


class FakeTimers:
    """Stands in for the timer thread: the test ticks the pool itself."""

    def __init__(self) -> None:
        self.pokes = 0

    def poke(self, timed: object, wait: bool = False) -> None:
        self.pokes += 1
