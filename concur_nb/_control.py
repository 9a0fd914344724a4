"""Autoscaler control and current stats of a function (Modal 1.6's ``f.autoscaler``,
``f.get_current_stats()``), read from and applied to its live settings."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._state import FunctionSnapshot


@dataclasses.dataclass(frozen=True)
class AutoscalerSettings:
    """A function's autoscaler settings, as ``f.autoscaler.settings()`` reads them."""

    min_containers: int
    max_containers: int | None
    buffer_containers: int
    scaledown_window: float


@dataclasses.dataclass(frozen=True)
class FunctionCurrentStats:
    """What a function is doing now (``f.get_current_stats()``).

    ``backlog``: inputs waiting for a slot; ``num_total_runners``: containers up or starting;
    ``num_running_inputs``: inputs running; ``input_headroom``: free slots on the containers
    that are up, i.e. how many more inputs could start right now.
    """

    backlog: int
    num_total_runners: int
    num_running_inputs: int
    input_headroom: int


def current_stats(snapshot: FunctionSnapshot) -> FunctionCurrentStats:
    live = [c for c in snapshot.containers if c.status in ("starting", "running")]
    headroom = sum(max(0, c.max_inputs - c.in_use) for c in live if c.status == "running")
    return FunctionCurrentStats(
        backlog=snapshot.queued,
        num_total_runners=len(live),
        num_running_inputs=snapshot.in_flight,
        input_headroom=headroom,
    )


class Autoscaler:
    """``f.autoscaler``: change a function's autoscaler while it runs, or read its settings."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def __repr__(self) -> str:
        return f"<autoscaler of {self._handle.name}: {self.settings()}>"

    def update(
        self,
        *,
        min_containers: int | None = None,
        max_containers: int | None = None,
        buffer_containers: int | None = None,
        scaledown_window: int | None = None,
    ) -> None:
        """Change the settings given; those omitted stay as they are. Applies at once, to work
        in flight too (more containers start, or idle ones retire)."""
        asked = {
            "min_containers": min_containers,
            "max_containers": max_containers,
            "buffer_containers": buffer_containers,
            "scaledown_window": scaledown_window,
        }
        changes = {k: v for k, v in asked.items() if v is not None}
        if changes:
            self._handle.update(**changes)

    def settings(self) -> AutoscalerSettings:
        s = self._handle.settings
        return AutoscalerSettings(
            min_containers=s.min_containers,
            max_containers=s.max_containers,
            buffer_containers=s.buffer_containers,
            scaledown_window=s.scaledown_window,
        )
