"""Which input is running here, and per-input capture of its output.

The running input's work sits in a context variable, so ``current_input_id()`` is right per
thread and per asyncio task; the host its output goes to sits in another, set once per thread
or task that runs inputs (no object per input: at tens of thousands of inputs a second, each
one is measurable). An event loop's slot sets a ``SlotIdentity`` once instead, and points it at
each input it runs: a context variable set per input leaves a context (and its copies in every
timer the input arms) of its own per input for the cyclic GC, which on uvloop doubled its time.
Tasks and callbacks an input starts get a context pinned to that input (``pinned_context``,
used by the slot's loop), so they keep their input after the slot moves on.

While a work is set, ``print``, writes to ``sys.stdout``/``sys.stderr`` and ``logging``
records are routed to that input's log, with no id in the message. Outside any input, output
goes where it always went.
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


class SlotIdentity:
    """The input an event loop's slot runs now (None between two): set once per slot task."""

    __slots__ = ("work",)

    def __init__(self) -> None:
        self.work: RunningWork | None = None


current_work: contextvars.ContextVar[RunningWork | SlotIdentity | None] = contextvars.ContextVar(
    "concur_nb_input", default=None
)
current_host: contextvars.ContextVar[LogHost | None] = contextvars.ContextVar(
    "concur_nb_log_host", default=None
)

# Where inputs' output goes besides their captured log (``set_echo``). None: automatic,
# "terminal" outside a Jupyter kernel and "captured" inside one (the view shows it per input;
# output from threads would otherwise land in whichever cell happens to be current).
ECHO_MODES = ("captured", "cell", "terminal")
echo_mode: str | None = None
# The older switch, still honoured (a worker process sets it False: its output travels as log
# messages): True is "terminal", False "captured".
echo_output: bool | None = None

# The kernel side of "cell" echo (``concur_nb.notebook.cell_echo``), installed by set_echo.
cell_echo: CellEcho | None = None


class CellEcho(Protocol):
    def note_call(self, call_id: str) -> None: ...

    def write(self, original: TextIO, call_id: str, text: str) -> None: ...


def set_echo(mode: str | None) -> None:
    """Choose where the output of inputs (``print``, logging) is shown, besides their logs.

    - ``"captured"``: only in each input's log (the view, ``f.logs(id)``); the default in a
      notebook.
    - ``"cell"``: also streamed, line by line and prefixed with the input's id, into the cell
      that made the call (in a Jupyter kernel; elsewhere the same as "terminal").
    - ``"terminal"``: also written to the process's stdout/stderr, whole lines prefixed with
      the input's id (``[in-1a2b] text``); the default outside a notebook.
    - ``None``: back to the default.

    Example::

        concur_nb.set_echo("cell")
        f.map(range(10))   # the inputs' prints appear under this cell as they come
    """
    global echo_mode, cell_echo
    if mode is not None and mode not in ECHO_MODES:
        from ._errors import InvalidError

        raise InvalidError(
            f"set_echo(mode={mode!r}): mode must be one of {', '.join(map(repr, ECHO_MODES))} "
            "or None (the default: 'captured' in a notebook, 'terminal' elsewhere)."
        )
    make_router = _hooks.cell_echo
    if mode == "cell" and cell_echo is None and _hooks.in_kernel() and make_router is not None:
        cell_echo = make_router()  # the front-end's (installed by concur_nb/__init__.py)
    echo_mode = mode


def get_echo() -> str:
    """The echo mode in effect (see ``set_echo``)."""
    if echo_mode is not None:
        if echo_mode == "cell" and cell_echo is None:
            return "terminal"  # not in a kernel
        return echo_mode
    if echo_output is not None:
        return "terminal" if echo_output else "captured"
    return "terminal" if _should_echo() else "captured"


def note_call(call_id: str) -> None:
    """Remember the cell a call is made from, so "cell" echo streams its inputs' lines there.

    Called by the engine when a call is made; costs nothing unless "cell" echo is on.
    """
    router = cell_echo
    if router is not None and echo_mode == "cell":
        router.note_call(call_id)


def running_work() -> RunningWork | None:
    """The work of the input running in this thread or task, or None outside an input."""
    work = current_work.get()
    return work.work if isinstance(work, SlotIdentity) else work


def pinned_context() -> contextvars.Context | None:
    """A copy of this context with the running input fixed in it, for a task or callback
    that input starts; None where no slot identity is current (the default copy is right)."""
    identity = current_work.get()
    if not isinstance(identity, SlotIdentity) or identity.work is None:
        return None
    context = contextvars.copy_context()
    context.run(current_work.set, identity.work)
    return context


def current_input_id() -> str | None:
    """The id of the input running in this thread or task, or None outside an input."""
    work = running_work()
    # A retry's work id is "<input id>#<attempt>".
    return work.id.partition("#")[0] if work is not None else None


def current_function_call_id() -> str | None:
    """The id of the call (``FunctionCall.object_id``) the running input belongs to."""
    work = running_work()
    return work.call_id if work is not None else None


def input_cancelled() -> bool:
    """True once the running input has been cancelled (for cooperative checks in loops)."""
    work = running_work()
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


# Partial lines echoed per (input id, stream): echo writes whole lines only, so the lines of
# inputs running side by side never interleave mid-line.
_partial: dict[tuple[str, str], tuple[str, str]] = {}  # -> (call id, unfinished line)
_echo_lock = threading.Lock()


def _echo(original: TextIO, stream: str, work: RunningWork, text: str) -> None:
    key = (work.id.partition("#")[0], stream)  # the input, whichever its attempt
    with _echo_lock:
        pending = _partial.pop(key, ("", ""))[1] + text
        *lines, rest = pending.split("\n")
        if rest:
            _partial[key] = (work.call_id, rest)
        if lines:
            _write_lines(original, work, lines)


def _write_lines(original: TextIO, work: RunningWork, lines: list[str]) -> None:
    """Write whole lines, prefixed with the input's id, in one write (under ``_echo_lock``)."""
    input_id = work.id.partition("#")[0]
    block = "".join(f"[{input_id}] {line}\n" for line in lines)
    router = cell_echo
    if router is not None and echo_mode == "cell":
        router.write(original, work.call_id, block)
    else:
        original.write(block)


class _Ended:
    """Stands for an input that has ended, when only its id is known."""

    def __init__(self, input_id: str, call_id: str) -> None:
        self.id = input_id
        self.call_id = call_id
        self.cancel_requested = False


def flush_echo(input_id: str) -> None:
    """Echo the unfinished last line of ``input_id``'s output (the engine calls this when the
    input ends), so a final ``print(..., end="")`` is not lost or glued to another line."""
    if not _partial:
        return
    with _echo_lock:
        for stream in ("stdout", "stderr"):
            held = _partial.pop((input_id, stream), None)
            if held is not None:
                original = getattr(sys, stream)
                original = getattr(original, "_original", original)
                _write_lines(original, _Ended(input_id, held[0]), [held[1]])


class _StreamRouter:
    """Stands in for ``sys.stdout``/``sys.stderr``: input output to its log, the rest through.

    Everything but writing (``fileno``, ``isatty``, ``encoding`` ...) is the original stream's.
    """

    def __init__(self, name: str, original: TextIO) -> None:
        self._name = name
        self._original = original

    def write(self, text: str) -> int:
        work = running_work()
        if work is None or not _sink(work, self._name, text):
            return self._original.write(text)
        if echo_mode is not None:
            if echo_mode != "captured":
                _echo(self._original, self._name, work, text)
        elif _should_echo():
            _echo(self._original, self._name, work, text)
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
        work = running_work()
        record.input_id = work.id.partition("#")[0] if work is not None else None
        if work is not None and not _stream_capture_gets(record):
            _sink(work, "log", formatter.format(record) + "\n")
        return record

    logging.setLogRecordFactory(factory)
    _record_factory_installed = True
