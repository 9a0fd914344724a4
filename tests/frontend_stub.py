"""A hand-driven stand-in for a concurrent function: snapshots the tests construct.

It implements the engine contract's read side (docs/engine-contract.md), so front-end tests can
check exactly what a given state looks like, independent of timing. Tests of live behaviour use
real concurrent functions instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from concur_nb._settings import Settings
from concur_nb._state import (
    ContainerSnapshot,
    Event,
    FunctionSnapshot,
    InputInfo,
    LogLine,
    Percentiles,
)


def container(
    cid: str, in_use: int, max_inputs: int = 8, target: int = 6, **kw: Any
) -> ContainerSnapshot:
    base: dict[str, Any] = dict(
        id=cid,
        kind="thread",
        status="running",
        in_use=in_use,
        target_inputs=target,
        max_inputs=max_inputs,
        host="local",
        gpus=(),
        started_at=0.0,
        inputs_done=0,
    )
    base.update(kw)
    return ContainerSnapshot(**base)


def info(iid: str, status: str = "running", logs: int = 0, **kw: Any) -> InputInfo:
    base: dict[str, Any] = dict(
        id=iid,
        call_id="fc-1",
        function="f",
        status=status,
        container_id="c1",
        queued_at=0.0,
        started_at=0.5,
        finished_at=None if status in ("running", "queued") else 1.5,
        attempts=1,
        error=None,
        log_lines=logs,
    )
    base.update(kw)
    return InputInfo(**base)


class StubFunction:
    """Holds a state the test sets; records what the front-end asked of it."""

    def __init__(self, name: str = "f", **settings: Any) -> None:
        self.name = name
        self.backend_name = "thread"
        self.settings = Settings(**{"max_inputs": 8, "target_inputs": 6, **settings})
        self.now = 10.0
        self.containers: list[ContainerSnapshot] = []
        self.queued = 0
        self.in_flight = 0
        self.counts = dict(submitted=0, succeeded=0, failed=0, cancelled=0)
        self.input_list: list[InputInfo] = []
        self.log_store: dict[str, list[LogLine]] = {}
        self.subscribers: list[Callable[[Event], None]] = []
        self.cancelled_inputs: list[str] = []
        self.cancel_all_calls = 0
        self.updates: list[dict[str, Any]] = []

    # --- the contract's read side ---
    def snapshot(self) -> FunctionSnapshot:
        s = self.settings
        return FunctionSnapshot(
            name=self.name,
            backend=self.backend_name,
            taken_at=self.now,
            max_inputs=s.max_inputs,
            target_inputs=s.target,
            min_containers=s.min_containers,
            max_containers=s.max_containers,
            buffer_containers=s.buffer_containers,
            scaledown_window=s.scaledown_window,
            containers=tuple(self.containers),
            queued=self.queued,
            in_flight=self.in_flight,
            throughput=12.5,
            queue_wait=Percentiles.of([0.01, 0.02]),
            run_time=Percentiles.of([0.1, 0.2, 0.3]),
            decisions=(),
            **self.counts,
        )

    def update(self, **changes: Any) -> None:
        self.settings = self.settings.replaced(**changes)
        self.updates.append(changes)

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, kind: str = "input_started") -> None:
        for cb in list(self.subscribers):
            cb(Event(kind, self.name, self.now))

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        return self.input_list[:limit]

    def logs(self, input_id: str) -> list[LogLine]:
        return list(self.log_store.get(input_id, []))

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        return [
            (iid, line)
            for iid, lines in self.log_store.items()
            for line in lines
            if text in line.text
        ][:limit]

    def cancel_input(self, input_id: str) -> None:
        self.cancelled_inputs.append(input_id)

    def cancel_all(self) -> None:
        self.cancel_all_calls += 1

    # --- helpers for tests ---
    def add_log(self, iid: str, *texts: str) -> None:
        self.log_store.setdefault(iid, []).extend(LogLine(self.now, "stdout", t) for t in texts)
        self.input_list = [
            dataclasses.replace(i, log_lines=len(self.log_store[iid])) if i.id == iid else i
            for i in self.input_list
        ]
