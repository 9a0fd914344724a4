"""Which input is running here, and per-input capture of its output.

The running input's work sits in a context variable, so ``current_input_id()`` is right per
thread and per asyncio task; the host its output goes to sits in another, set once per thread
or task that runs inputs (no object per input: at tens of thousands of inputs a second, each
one is measurable). While a work is set, ``print``, writes to ``sys.stdout``/``sys.stderr`` and
``logging`` records are routed to that input's log, with no id in the message. Outside any
input, output goes where it always went.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
from typing import Any, Protocol, TextIO, cast

from . import _hooks


class LogHost(Protocol):
    def log(self, work_id: str, stream: str, text: str) -> None: ...


class RunningWork(Protocol):
    """What the context knows of the running input (a ``Work``)."""

    id: str
    call_id: str
    cancel_requested: bool


current_work: contextvars.ContextVar[RunningWork | None] = contextvars.ContextVar(
    "concur_nb_input", default=None
)
current_host: contextvars.ContextVar[LogHost | None] = contextvars.ContextVar(
    "concur_nb_log_host", default=None
)

# Whether captured output is also written to the original stream. None: automatic, which
# means yes outside a Jupyter kernel and no inside one (where the dashboard shows it per input
# and output from threads would land in whichever cell happens to be current).
echo_output: bool | None = None


def current_input_id() -> str | None:
    """The id of the input running in this thread or task, or None outside an input."""
    work = current_work.get()
    # A retry's work id is "<input id>#<attempt>".
    return work.id.partition("#")[0] if work is not None else None


def current_function_call_id() -> str | None:
    """The id of the call (``FunctionCall.object_id``) the running input belongs to."""
    work = current_work.get()
    return work.call_id if work is not None else None


def input_cancelled() -> bool:
    """True once the running input has been cancelled (for cooperative checks in loops)."""
    work = current_work.get()
    return work is not None and work.cancel_requested


def _sink(work: RunningWork, stream: str, text: str) -> bool:
    """Add ``text`` written to ``stream`` to ``work``'s log; False if no host takes it."""
    host = current_host.get()
    if host is None:
        return False
    host.log(work.id, stream, text)
    return True


def _should_echo() -> bool:
    if echo_output is not None:
        return echo_output
    return not _hooks.in_kernel()


class _StreamRouter:
    """Stands in for ``sys.stdout``/``sys.stderr``: input output to its log, the rest through.

    Everything but writing (``fileno``, ``isatty``, ``encoding`` ...) is the original stream's.
    """

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original

    def write(self, text: str) -> int:
        work = current_work.get()
        if work is None or not _sink(work, self._name, text):
            return self._original.write(text)
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
        work = current_work.get()
        record.input_id = work.id.partition("#")[0] if work is not None else None
        if work is not None and not _stream_capture_gets(record):
            _sink(work, "log", formatter.format(record) + "\n")
        return record

    logging.setLogRecordFactory(factory)
    _record_factory_installed = True
