"""The messages between the engine and an out-of-process worker, framed over a byte stream.

The same stream carries them whether it is a local pipe or an SSH channel. The worker first
writes ``MAGIC`` (so a chatty login shell that prints a banner cannot be mistaken for a frame),
then every frame is a 4-byte big-endian length and a pickle of either one message or a list of
messages; a message is a tuple whose first item is its kind. Messages that pile up while a
write is in flight travel together in one frame (one pickle, one write; ``outbox.Outbox``
sends them), which is what keeps thousands of inputs a second cheap. Payloads (the target, a
work's arguments, a result) that may fail to pickle or unpickle on one side are pickled on
their own inside the message, so such a failure is reported for that one item instead of
breaking the channel; small plain data (numbers, strings, and tuples, lists and dicts of them)
cannot fail and travels as it is.

Conversation::

    worker -> engine   HELLO {versions, host, pid, gpus}
    engine -> worker   TARGET target_bytes, container_id, max_inputs, env, sys_path
    worker -> engine   READY  |  FAILED message, traceback_text
    engine -> worker   SUBMIT work_id, call_id, method, is_async, arguments (a payload)
    engine -> worker   CANCEL work_id      CAPACITY n
    worker -> engine   LOG work_id, stream, text      WARNING message
    worker -> engine   FINISHED work_id, kind, value (a payload), traceback_text
    both ways          HEARTBEAT details    (the worker's details: GPU use, or None)
    engine -> worker   SHUTDOWN graceful
    worker -> engine   STOPPED
"""

from __future__ import annotations

import importlib.metadata
import os
import pickle
import platform
import socket
import struct
import sys
import traceback
from typing import IO, Any

import cloudpickle

from .._errors import ContainerError, RemoteError
from .._errors_text import describe, safe_repr
from .base import CANCELLED, ERROR, OK, Outcome, Target

PROTOCOL_VERSION = 3
MAGIC = b"\x00concur_nb-worker\x00"
HEADER = struct.Struct(">I")
MAX_FRAME = 2**32 - 1
MAX_PAYLOAD = MAX_FRAME - 2**16  # room for the message around a payload

# Message kinds (the first item of every message tuple).
HELLO = "hello"
TARGET = "target"
READY = "ready"
FAILED = "failed"
SUBMIT = "submit"
STARTED = "started"  # protocol 1 only: the engine knows a work started when it submits it
LOG = "log"
WARNING = "warning"
FINISHED = "finished"
CANCEL = "cancel"
CAPACITY = "capacity"
HEARTBEAT = "heartbeat"
SHUTDOWN = "shutdown"
STOPPED = "stopped"

Message = tuple[Any, ...]


class ChannelClosed(EOFError):
    """The other end closed the stream (a clean end between frames, or a cut mid-frame)."""


# --- framing ----------------------------------------------------------------------------------


def encode(message: Message) -> bytes:
    """One frame holding one message."""
    return _frame(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def encode_many(messages: list[Message]) -> bytes:
    """Frames holding ``messages`` in order: one frame unless they are above the size limit."""
    payload = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    if len(payload) <= MAX_FRAME or len(messages) == 1:
        return _frame(payload)
    half = len(messages) // 2
    return encode_many(messages[:half]) + encode_many(messages[half:])


def _frame(payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME:
        raise ValueError(f"a message of {len(payload)} bytes is above the frame limit")
    return HEADER.pack(len(payload)) + payload


def read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) < size:
        raise ChannelClosed(f"stream ended ({0 if not data else len(data)} of {size} bytes)")
    return data


def read_messages(stream: IO[bytes]) -> list[Message]:
    """The messages of the next frame, in order; raises ``ChannelClosed`` at the end."""
    header = stream.read(HEADER.size)
    if not header:
        raise ChannelClosed("stream ended")
    if len(header) < HEADER.size:
        header += read_exactly(stream, HEADER.size - len(header))
    (size,) = HEADER.unpack(header)
    content = pickle.loads(read_exactly(stream, size))
    messages = content if type(content) is list else [content]
    for message in messages:
        if type(message) is not tuple or not message:
            raise ContainerError(f"malformed message from the other end: {type(message).__name__}")
    return messages


def read_message(stream: IO[bytes]) -> Message:
    """The next frame's message, for a frame that holds one (the handshake)."""
    messages = read_messages(stream)
    if len(messages) != 1:
        raise ContainerError(f"expected one message from the other end, got {len(messages)}")
    return messages[0]


def skip_to_magic(stream: IO[bytes], limit: int = 64 * 1024) -> bytes:
    """Read up to and including ``MAGIC``; returns what came before it (login noise).

    Raises ``ChannelClosed`` with that text if the stream ends first, and ``ContainerError``
    if ``limit`` bytes pass without it.
    """
    seen = bytearray()
    while not seen.endswith(MAGIC):
        chunk = stream.read(1)
        if not chunk:
            raise ChannelClosed(seen.decode(errors="replace"))
        seen += chunk
        if len(seen) > limit:
            raise ContainerError(
                "the worker's output did not start with the concur_nb handshake; "
                "something on the far side writes to stdout before the worker runs"
            )
    return bytes(seen[: -len(MAGIC)])


# --- payloads ---------------------------------------------------------------------------------


_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_PLAIN_BUDGET = 64  # items in containers looked at before giving up on the fast path
_PLAIN_SIZE = 1 << 16  # a longer str or bytes is pickled on its own (sized, isolated)

Payload = bytes | tuple[Any]  # a pickle of its own, or (value,) carrying plain data as it is


def dump_payload(value: Any) -> bytes:
    """cloudpickle, so functions and classes defined in a notebook travel by value.

    Plain data (numbers, strings, and tuples, lists and dicts of them) refers to no function
    or class, so both picklers write the same thing; the C pickler does it ~20x faster.
    """
    if _is_plain(value):
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def pack(value: Any) -> Payload:
    """What carries ``value`` in a message: small plain data as it is (the frame's own pickle
    writes it, once), anything else pickled on its own, so that a failure to pickle or unpickle
    it is this item's alone and never the frame's."""
    if _is_plain(value):
        return (value,)
    return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(payload: Payload) -> Any:
    """The value a ``pack`` payload carries."""
    if type(payload) is tuple:
        return payload[0]
    return pickle.loads(payload)  # type: ignore[arg-type]


def _is_plain(value: Any) -> bool:
    """Whether ``value`` is small and built of exactly the builtin atoms and containers (no
    subclasses)."""
    budget = _PLAIN_BUDGET
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _ATOMS:
            if (kind is str or kind is bytes) and len(item) > _PLAIN_SIZE:
                return False
            continue
        if kind is tuple or kind is list or kind is dict:
            budget -= len(item)
            if budget < 0:
                return False
            stack.extend(item)
            if kind is dict:
                stack.extend(item.values())
        else:
            return False
    return True


def load_payload(data: bytes) -> Any:
    return pickle.loads(data)


def traceback_text(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # the traceback module copes with most broken exceptions, not all
        return describe(exc) + "\n"


def dump_error(exc: BaseException) -> bytes:
    """The exception itself if it pickles (and unpickles), else a ``RemoteError`` with what
    can be said of it (its type and message, when its ``__str__`` does not raise)."""
    try:
        data = dump_payload(exc)
        load_payload(data)  # an exception whose __init__ takes other args pickles but won't load
        return data
    except Exception:
        return dump_payload(RemoteError(describe(exc), traceback_text(exc)))


def dump_result(value: Any) -> tuple[bool, Payload]:
    """(True, ``pack(value)``), or (False, bytes of a ``RemoteError``) if it can't pickle."""
    try:
        data = pack(value)
        if type(data) is bytes and len(data) > MAX_PAYLOAD:
            raise ValueError(f"{len(data)} bytes is above the {MAX_PAYLOAD} bytes a frame holds")
        return True, data
    except Exception as exc:
        message = (
            f"the result ({type(value).__qualname__}) could not be pickled to send it back "
            f"from the worker: {safe_repr(exc)}; return plain data instead"
        )
        return False, dump_payload(RemoteError(message, traceback_text(exc)))


def dump_outcome(outcome: Outcome) -> tuple[Payload, str, str]:
    """How a far side sends an input's end: (data, kind, traceback text). A result that cannot
    be pickled is sent as the error that says so."""
    if outcome.kind == OK:
        ok, data = dump_result(outcome.value)
        return data, (OK if ok else ERROR), ""
    if outcome.kind == ERROR:
        return dump_error(outcome.value), ERROR, traceback_text(outcome.value)
    return b"", CANCELLED, ""


class RemoteTraceback(Exception):
    """Chained as the cause of an exception rebuilt from a worker, to show where it happened."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n\n(remote traceback)\n{self.text}"


def load_error(data: Payload, remote_traceback: str) -> BaseException:
    """Rebuild a worker's exception with its remote traceback; a ``RemoteError`` if it can't."""
    try:
        exc = unpack(data)
    except Exception as why:
        return RemoteError(
            f"an exception could not be rebuilt here: {describe(why)}", remote_traceback
        )
    if not isinstance(exc, BaseException):
        return RemoteError(
            f"the worker reported a non-exception {safe_repr(exc)}", remote_traceback
        )
    if remote_traceback and not isinstance(exc, RemoteError):
        exc.__cause__ = RemoteTraceback(remote_traceback)
    return exc


# --- what a far side (a worker, a Ray actor) reports of what it could not load -----------------


def load_target(data: bytes) -> Target:
    """The ``Target`` the engine sent, unpickled; raises if it cannot be loaded here."""
    target = load_payload(data)
    if not isinstance(target, Target):
        raise TypeError(f"expected a Target, got {type(target).__name__}")
    return target


def target_failed(exc: BaseException) -> Message:
    """The ``FAILED`` of a far side that could not load the function."""
    return (FAILED, f"could not load the function here: {safe_repr(exc)}", traceback_text(exc))


def arguments_failed(work_id: str, exc: BaseException) -> Message:
    """The ``FINISHED`` of a work whose arguments could not be unpickled on the far side."""
    error = RemoteError(f"the input's arguments could not be unpickled here: {safe_repr(exc)}")
    return (FINISHED, work_id, ERROR, dump_error(error), traceback_text(exc))


# --- handshake --------------------------------------------------------------------------------


def package_version() -> str:
    try:
        return importlib.metadata.version("concur-nb")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def local_versions() -> dict[str, str]:
    return {
        "protocol": str(PROTOCOL_VERSION),
        "python": ".".join(map(str, sys.version_info[:2])),
        "cloudpickle": cloudpickle.__version__,
        "concur_nb": package_version(),
    }


def hello_details(gpus: list[dict[str, str]]) -> dict[str, Any]:
    """What a worker says about itself first: plain data any Python 3 can unpickle."""
    return {
        **local_versions(),
        "python_full": platform.python_version(),
        "executable": sys.executable,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "gpus": gpus,
    }


def encode_hello(details: dict[str, Any]) -> bytes:
    # Protocol 4 and plain types, so an engine on another Python version can still read the
    # hello and say exactly what differs.
    payload = pickle.dumps((HELLO, details), protocol=4)
    return MAGIC + HEADER.pack(len(payload)) + payload


def check_versions(details: dict[str, Any], where: str) -> None:
    """Refuse a worker whose versions differ from this process's, saying what to install."""
    mine = local_versions()
    theirs = {key: str(details.get(key, "?")) for key in mine}
    if theirs == mine:
        return
    differs = ", ".join(
        f"{key} {theirs[key]} there but {mine[key]} here"
        for key in mine
        if theirs[key] != mine[key]
    )
    fix = []
    if theirs["python"] != mine["python"]:
        fix.append(f"point python= at a Python {mine['python']} interpreter on {where}")
    packages = [f"cloudpickle=={mine['cloudpickle']}"]
    if mine["concur_nb"] != "unknown":
        packages.append(f"concur-nb=={mine['concur_nb']}")
    fix.append(f"run `python -m pip install {' '.join(packages)}` with that interpreter on {where}")
    raise ContainerError(
        f"the worker on {where} does not match this kernel ({differs}); functions travel "
        f"pickled, so both ends need the same versions: {'; '.join(fix)}."
    )
