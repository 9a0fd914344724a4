"""A pool's containers: starting and retiring them as the autoscaler decides, and finding a
free slot for the next input."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import NamedTuple

from ._autoscale import ContainerLoad, Decision, decide
from ._containers.base import Backend, Container, ContainerHost, Target
from ._settings import Settings
from ._slots import DRAINING, RUNNING_SLOT, Slot
from ._state import ContainerSnapshot

EARLY_DEATHS_BEFORE_GIVING_UP = 3
MAX_RESTART_PAUSE = 30.0  # seconds, at most, between starts of containers that keep dying


class Lost(NamedTuple):
    slot: Slot
    give_up: bool  # containers keep dying before they run anything: fail the queue


class Fleet:
    def __init__(
        self, name: str, target: Target, backend: Backend, default_max_containers: int | None
    ) -> None:
        self._name = name
        self._default_max_containers = default_max_containers
        self._target = target
        self._backend = backend
        self.slots: dict[str, Slot] = {}
        self._numbers = itertools.count(1)
        self._early_deaths = 0  # containers in a row that died before running any input
        self._restart_after = 0.0  # no container starts before then (backoff after deaths)
        self._unstarted: list[tuple[Container, BaseException]] = []

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

    def effective(self, settings: Settings) -> Settings:
        """``settings`` with the backend's default ``max_containers`` where none is set (one
        in-process container, one worker process per CPU, what the hosts offer)."""
        default = self._default_max_containers
        if settings.max_containers is None and default is not None:
            return dataclasses.replace(
                settings, max_containers=max(default, settings.min_containers)
            )
        return settings

    def active_count(self) -> int:
        return sum(1 for s in self.slots.values() if s.status != DRAINING)

    def any_running(self) -> bool:
        return any(s.status == RUNNING_SLOT for s in self.slots.values())

    def loads(self) -> list[ContainerLoad]:
        return [ContainerLoad(c, s.status, s.in_use, s.idle_since) for c, s in self.slots.items()]

    def lost(self, container_id: str, ran_inputs: bool, now: float) -> Lost | None:
        """A container failed: forget it (None if it was forgotten already)."""
        slot = self.slots.pop(container_id, None)
        if slot is None:
            return None
        if ran_inputs or slot.done:
            self._early_deaths = 0
            self._restart_after = 0.0
            return Lost(slot, give_up=False)
        # Died starting, or before running anything: the function's containers may not be
        # able to live at all. Replace it after a growing pause; every few, fail the queue.
        self._early_deaths += 1
        pause = 0.0 if self._early_deaths == 1 else 0.25 * 2.0 ** (self._early_deaths - 2)
        self._restart_after = now + min(pause, MAX_RESTART_PAUSE)
        give_up = self._early_deaths % EARLY_DEATHS_BEFORE_GIVING_UP == 0
        return Lost(slot, give_up and not self.any_running())

    def rebalance(
        self, demand: int, settings: Settings, now: float, host: ContainerHost
    ) -> tuple[Decision, int]:
        """Ask the autoscaler and do what it decides; the decision and how many started."""
        decision = decide(self.loads(), demand, settings, now)
        if decision.start and now < self._restart_after:  # backing off: ask again then
            later = min(t for t in (decision.next_check, self._restart_after) if t is not None)
            decision = dataclasses.replace(decision, start=0, next_check=later)
        return decision, self.apply(decision, settings.max_inputs, host)

    def take_unstarted(self) -> list[tuple[Container, BaseException]]:
        """Containers whose ``start()`` raised (the pool reports them failed), once."""
        unstarted, self._unstarted = self._unstarted, []
        return unstarted

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
                started += 1
                try:
                    container.start()
                except Exception as exc:  # e.g. no thread to start it on
                    self._unstarted.append((container, exc))
        for cid in decision.retire:
            slot = self.slots[cid]
            slot.status = DRAINING
            slot.container.stop(graceful=True)
        return started

    def kill(self, container_ids: set[str | None]) -> None:
        """End these containers now (out-of-process kinds terminate them)."""
        for container in [self.slots[c].container for c in container_ids if c in self.slots]:
            container.kill()

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
