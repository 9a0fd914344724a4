"""A pool's containers: starting and retiring them as the autoscaler decides, and finding a
free slot for the next input."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from ._autoscale import ContainerLoad, Decision
from ._containers.base import Backend, ContainerHost, Target
from ._settings import Settings
from ._slots import DRAINING, RUNNING_SLOT, Slot
from ._state import ContainerSnapshot


class Fleet:
    def __init__(self, name: str, target: Target, backend: Backend) -> None:
        self._name = name
        self._target = target
        self._backend = backend
        self.slots: dict[str, Slot] = {}
        self._numbers = itertools.count(1)

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots.values())

    def free_slot(self, target: int, cap: int) -> Slot | None:
        """Below ``target`` the oldest container first; above it the least loaded one bursts,
        up to ``cap`` (``max_inputs``)."""
        burst: Slot | None = None
        for slot in self.slots.values():
            if slot.status != RUNNING_SLOT or slot.alone:
                continue
            limit = slot.cap(cap)
            if slot.in_use < min(target, limit):
                return slot
            if slot.in_use < limit and (burst is None or slot.in_use < burst.in_use):
                burst = slot
        return burst

    def active_count(self) -> int:
        return sum(1 for s in self.slots.values() if s.status != DRAINING)

    def any_running(self) -> bool:
        return any(s.status == RUNNING_SLOT for s in self.slots.values())

    def loads(self) -> list[ContainerLoad]:
        return [ContainerLoad(c, s.status, s.in_use, s.idle_since) for c, s in self.slots.items()]

    def apply(self, decision: Decision, max_inputs: int, host: ContainerHost) -> int:
        """Start and retire what ``decision`` says; how many containers were started."""
        started = 0
        if decision.start:
            count = decision.start
            room = self._backend.max_containers()
            if room is not None:
                count = min(count, room - len(self.slots))
            for _ in range(max(count, 0)):
                cid = f"{self._name}-c{next(self._numbers)}"
                container = self._backend.create(cid, self._target, max_inputs, host)
                self.slots[cid] = Slot(container)
                container.start()
                started += 1
        for cid in decision.retire:
            slot = self.slots[cid]
            slot.status = DRAINING
            slot.container.stop(graceful=True)
        return started

    def stop_all(self) -> None:
        for slot in list(self.slots.values()):
            if slot.status != DRAINING:
                slot.status = DRAINING
                slot.container.stop(graceful=False)

    def set_capacity(self, max_inputs: int) -> None:
        for slot in self.slots.values():
            slot.container.set_capacity(max_inputs)

    def snapshots(
        self, settings: Settings, cancelling: dict[str, int]
    ) -> tuple[ContainerSnapshot, ...]:
        return tuple(s.snapshot(settings, cancelling.get(c, 0)) for c, s in self.slots.items())
