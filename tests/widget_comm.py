"""Widgets without a browser: a comm that records what would be sent to the front-end.

As ipywidgets' own tests do, ``comm.create_comm`` is swapped for a recording dummy, so a test
can count and read the messages a widget sends (one per ``hold_sync`` block, none when nothing
changed). A test module installs it from a fixture: ``install(monkeypatch)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import comm
import pytest

_ids = itertools.count(1)


class RecordingComm:
    kernel = "recording"  # ipywidgets only sends when the comm has a kernel

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = f"recording-{next(_ids)}"
        self.opened_with = kwargs
        self.messages: list[dict[str, Any]] = []
        self.handler: Callable[[dict[str, Any]], None] | None = None

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.handler = callback

    def on_close(self, callback: Any) -> None:
        pass

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass

    def updates(self) -> list[dict[str, Any]]:
        """The state updates sent so far (what a front-end would apply)."""
        return [m["state"] for m in self.messages if m and m.get("method") == "update"]

    def receive(self, state: dict[str, Any]) -> None:
        """Deliver a state change as if the front-end sent it (a click, a slider move)."""
        assert self.handler is not None
        data = {"method": "update", "state": state, "buffer_paths": []}
        self.handler({"content": {"data": data}, "buffers": []})


def install(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    """Make every widget created from now on talk to a ``RecordingComm``; returns them all."""
    created: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        c = RecordingComm(**kwargs)
        created.append(c)
        return c

    monkeypatch.setattr(comm, "create_comm", create)
    return created
