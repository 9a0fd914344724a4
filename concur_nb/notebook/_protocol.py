"""What the notebook front-ends need from a concurrent function: the engine contract's read side.

``Function`` and ``Cls`` (and a class's bound methods) satisfy it; tests may pass any object
that does. Front-ends use nothing else, so they never reach into the engine's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .._state import Event, FunctionSnapshot, InputInfo, LogLine


class Watchable(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def backend_name(self) -> str: ...

    @property
    def settings(self) -> Any: ...

    def update(self, **changes: Any) -> None: ...

    def snapshot(self) -> FunctionSnapshot: ...

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

    def inputs(self, limit: int = 200) -> list[InputInfo]: ...

    def logs(self, input_id: str) -> list[LogLine]: ...

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]: ...

    def cancel_input(self, input_id: str) -> None: ...

    def cancel_all(self) -> None: ...


class Cancellable(Protocol):
    """A call handle (``FunctionCall``): the dashboard's "cancel call" button uses it."""

    def cancel(self) -> Any: ...

    def done(self) -> bool: ...
