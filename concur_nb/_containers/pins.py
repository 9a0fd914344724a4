"""One host's GPUs, handed out to its containers in groups (``CUDA_VISIBLE_DEVICES``)."""

from __future__ import annotations

import threading

from .._errors import ContainerError
from .gpu import GpuGroups, GpuSpec, plan_groups


class GpuPins:
    """Hands out one host's GPU groups to its containers, least used first."""

    def __init__(self, spec: GpuSpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()
        self._groups: GpuGroups | None = None
        self._users: dict[tuple[str, ...], int] = {}
        self.known = False  # whether a worker on the host has reported its GPUs

    def capacity(self) -> int | None:
        """Containers the host should run (None: no GPU limit); 1 until the host is known."""
        if self._spec is False or self._spec == 0:
            return None
        if not self.known:
            return 1
        return len(self._groups) if self._groups else None

    def learn(self, host_gpus: list[str]) -> None:
        """Plan the groups from the host's GPUs (once: the first report wins)."""
        with self._lock:
            if not self.known:
                self._groups = plan_groups(self._spec, host_gpus)
                self._users = {group: 0 for group in self._groups or ()}
                self.known = True

    def claim(self, host_gpus: list[str]) -> tuple[str, ...] | None:
        self.learn(host_gpus)
        with self._lock:
            if self._groups is None:
                return None
            if not self._groups:
                raise ContainerError(
                    f"gpus={self._spec!r} asks for more GPUs per container than the host has "
                    f"({len(host_gpus)}); lower it."
                )
            group = min(self._groups, key=lambda g: self._users[g])
            self._users[group] += 1
            return group

    def release(self, group: tuple[str, ...] | None) -> None:
        if group is not None:
            with self._lock:
                self._users[group] -= 1
