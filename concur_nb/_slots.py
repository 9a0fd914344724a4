"""The pool's view of one container: its status and how many of its slots are in use."""

from __future__ import annotations

from ._containers.base import Container
from ._settings import Settings
from ._state import ContainerSnapshot

STARTING, RUNNING_SLOT, DRAINING = "starting", "running", "draining"


class Slot:
    __slots__ = (
        "alone",
        "container",
        "done",
        "idle_since",
        "in_use",
        "limit",
        "started_at",
        "status",
    )

    def __init__(self, container: Container) -> None:
        self.container = container
        self.status = STARTING
        self.in_use = 0
        self.idle_since: float | None = None
        self.started_at: float | None = None
        self.done = 0
        # Runs an input that was running when a container died: nothing else joins it, so a
        # crash it causes again takes no sibling down.
        self.alone = False
        # Set when the container could not take more works than it runs (no thread to spare).
        self.limit: int | None = None

    def cap(self, max_inputs: int) -> int:
        return max_inputs if self.limit is None else min(self.limit, max_inputs)

    def snapshot(self, settings: Settings, cancelling: int) -> ContainerSnapshot:
        container = self.container
        info = dict(container.info())
        if cancelling:
            info["cancelling"] = cancelling  # settled inputs whose code still runs here
        return ContainerSnapshot(
            id=container.id,
            kind=container.kind,
            status=self.status,
            in_use=self.in_use,
            target_inputs=settings.target,
            max_inputs=settings.max_inputs,
            host=container.host_name,
            gpus=tuple(container.gpus),
            started_at=self.started_at,
            inputs_done=self.done,
            info=info,
        )
