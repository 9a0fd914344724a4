"""Which input is running here, and per-input capture of its output.

Each running input gets an ``InputScope`` in a context variable, so ``current_input_id()`` is
right per thread and per asyncio task. While a scope is set, ``print``, writes to
``sys.stdout``/``sys.stderr`` and ``logging`` records are routed to that input's log, with no
id in the message. Outside any input, output goes where it always went.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from typing import Any, Protocol, TextIO, cast


class LogHost(Protocol):
    def log(self, work_id: str, stream: str, text: str) -> None: ...


class InputScope:
    """The running input's identity, where its output goes, and whether it was cancelled."""

    __slots__ = ("call_id", "cancelled", "host", "input_id")

    def __init__(self, input_id: str, call_id: str, host: LogHost) -> None:
        self.input_id = input_id
        self.call_id = call_id
        self.host = host
        self.cancelled = False

    def sink(self, stream: str, text: str) -> None:
        """Add ``text`` written to ``stream`` to this input's log."""
        self.host.log(self.input_id, stream, text)


current_scope: contextvars.ContextVar[InputScope | None] = contextvars.ContextVar(
    "concur_nb_input", default=None
)

# Whether captured output is also written to the original stream. None: automatic, which
# means yes outside a Jupyter kernel and no inside one (where the dashboard shows it per input
# and output from threads would land in whichever cell happens to be current).
echo_output: bool | None = None


def current_input_id() -> str | None:
    """The id of the input running in this thread or task, or None outside an input."""
    scope = current_scope.get()
    return scope.input_id if scope is not None else None


def current_function_call_id() -> str | None:
    """The id of the call (``FunctionCall.object_id``) the running input belongs to."""
    scope = current_scope.get()
    return scope.call_id if scope is not None else None


def input_cancelled() -> bool:
    """True once the running input has been cancelled (for cooperative checks in loops)."""
    scope = current_scope.get()
    return scope is not None and scope.cancelled


def _should_echo() -> bool:
    if echo_output is not None:
        return echo_output
    return "ipykernel" not in sys.modules


class _StreamRouter:
    """Stands in for ``sys.stdout``/``sys.stderr``: input output to its log, the rest through.

    Everything but writing (``fileno``, ``isatty``, ``encoding`` ...) is the original stream's.
    """

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original

    def write(self, text: str) -> int:
        scope = current_scope.get()
        if scope is None:
            return self._original.write(text)
        scope.sink(self._name, text)
        if _should_echo():
            self._original.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_install_lock = threading.Lock()
_record_factory_installed = False


def ensure_capture() -> None:
    """Route this process's stdout, stderr and logging through the per-input capture.

    Cheap when already in place; re-installs if something (pytest, a kernel) swapped the
    streams since.
    """
    if type(sys.stdout) is _StreamRouter and type(sys.stderr) is _StreamRouter:
        return
    with _install_lock:
        if type(sys.stdout) is not _StreamRouter and sys.stdout is not None:
            sys.stdout = cast(TextIO, _StreamRouter("stdout", sys.stdout))
        if type(sys.stderr) is not _StreamRouter and sys.stderr is not None:
            sys.stderr = cast(TextIO, _StreamRouter("stderr", sys.stderr))
        _install_record_factory()


def _stream_capture_gets(record: logging.LogRecord) -> bool:
    """True if a handler will print ``record`` into the captured streams anyway.

    Then the stream capture holds it (in the handler's format) and capturing it here too would
    show the line twice. With no handler at all, Python's last-resort handler prints warnings
    and errors to ``sys.stderr``, which is captured.
    """
    logger: logging.Logger | None = logging.getLogger(record.name)
    handled = False
    while logger is not None:
        for handler in logger.handlers:
            handled = True
            if type(getattr(handler, "stream", None)) is _StreamRouter:
                return True
        if not logger.propagate:
            break
        logger = logger.parent
    last_resort = logging.lastResort
    return not handled and last_resort is not None and record.levelno >= last_resort.level


def _install_record_factory() -> None:
    global _record_factory_installed
    if _record_factory_installed:
        return
    previous = logging.getLogRecordFactory()
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scope = current_scope.get()
        record.input_id = scope.input_id if scope is not None else None
        if scope is not None and not _stream_capture_gets(record):
            scope.sink("log", formatter.format(record) + "\n")
        return record

    logging.setLogRecordFactory(factory)
    _record_factory_installed = True
