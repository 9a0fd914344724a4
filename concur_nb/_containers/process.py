"""Containers in local worker processes: ``ProcessBackend``, for CPU-bound work and isolation.

Each container is a ``ProcessContainer`` (``process_container.py``) running
``python -m concur_nb.worker`` with this backend's interpreter, optionally pinned to GPUs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from .._errors import InvalidError
from .._validate import MAX_SECONDS, non_negative_number, optional_int
from .base import ContainerHost, Target
from .exits import local_explanation
from .gpu import GpuSpec, query_gpus, validate_spec
from .pins import GpuPins
from .process_container import Launch, ProcessContainer


def _seconds(name: str, value: Any) -> float:
    return non_negative_number(
        name,
        value,
        allow_zero=False,
        maximum=MAX_SECONDS,
        fix=f"Pass a positive number of seconds, e.g. {name}=10.",
    )


class ProcessBackend:
    """Containers in local worker processes: for CPU-bound work and isolation.

    ``python`` is the interpreter the workers run (this one by default); ``gpus`` pins
    containers to local GPUs (see ``concur_nb._containers.gpu``; by default no pinning).
    """

    name = "process"
    out_of_process = True

    def __init__(
        self,
        *,
        python: str = sys.executable,
        gpus: GpuSpec = False,
        max_processes: int | None = None,
        start_timeout: float = 60.0,
        heartbeat_timeout: float = 10.0,
    ) -> None:
        if isinstance(python, os.PathLike):
            python = os.fspath(python)
        if not isinstance(python, str) or not python.strip():
            raise InvalidError(
                f"ProcessBackend(python={python!r}): name an interpreter that has concur_nb, "
                "e.g. python=sys.executable."
            )
        self.python = python
        self._max_processes = optional_int("max_processes", max_processes, minimum=1)
        self._pins = GpuPins(validate_spec(gpus))
        if gpus is not False:
            self._pins.learn([gpu["index"] for gpu in query_gpus()])
        self._start_timeout = _seconds("start_timeout", start_timeout)
        self._heartbeat_timeout = _seconds("heartbeat_timeout", heartbeat_timeout)

    def create(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost
    ) -> ProcessContainer:
        launch = Launch(
            argv=[self.python, "-m", "concur_nb.worker"],
            kind="process",
            host_name="local",
            explain_exit=local_explanation(self.python),
            send_sys_path=True,
            start_timeout=self._start_timeout,
            heartbeat_timeout=self._heartbeat_timeout,
        )
        return ProcessContainer(container_id, target, max_inputs, host, launch, self._pins)

    def max_containers(self) -> int | None:
        limits = [n for n in (self._max_processes, self._pins.capacity()) if n is not None]
        return min(limits) if limits else None

    def __repr__(self) -> str:
        return f"ProcessBackend(python={os.path.basename(self.python)!r})"
