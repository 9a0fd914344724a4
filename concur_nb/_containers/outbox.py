"""Sending protocol messages from any thread through one writer thread (see ``Outbox``)."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable
from typing import IO

from .protocol import Message, encode_many


class Outbox:
    """Sends messages from any thread through one writer thread.

    Messages that pile up while a write is in flight go out together in one frame (one pickle,
    one write), which is what makes pipelined traffic cheap. Every ``tick`` seconds the writer
    thread calls ``on_tick`` (heartbeats and liveness checks live there); ``on_broken`` is
    called once if the stream cannot be written any more.

    With ``inline=True`` the stream's file descriptor is made non-blocking and a sender finding
    the channel idle writes its frame itself: no wake-up of the writer thread, which in a busy
    process waits milliseconds for the GIL. What the pipe cannot take at once is left to the
    writer thread, so a sender never blocks (a reader thread may send without deadlocking).
    """

    def __init__(
        self,
        stream: IO[bytes],
        name: str,
        tick: float,
        on_tick: Callable[[], Message | None],
        on_broken: Callable[[BaseException], None],
        *,
        inline: bool = False,
    ) -> None:
        self._stream = stream
        self._tick = tick
        self._on_tick = on_tick
        self._on_broken = on_broken
        self._pending: list[Message] = []
        self._wake = threading.Condition(threading.Lock())
        self._closing = False
        self._fd: int | None = None
        if inline:
            self._fd = stream.fileno()
            os.set_blocking(self._fd, False)
        self._busy = False  # a write is under way (inline, or in the writer thread)
        self._rest = b""  # what an inline write left over; the writer thread sends it first
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self, message: Message) -> None:
        self.send_many([message])

    def send_many(self, messages: list[Message]) -> None:
        with self._wake:
            if self._fd is None or self._busy or self._pending or self._rest or self._closing:
                was_idle = not self._pending
                self._pending += messages
                if was_idle and self._pending:
                    self._wake.notify()
                return
            self._busy = True
        data, written = b"", 0
        try:
            data = encode_many(messages)
            written = os.write(self._fd, data)
        except BlockingIOError:
            pass  # the pipe is full: the writer thread waits until it drains
        except (OSError, ValueError) as exc:
            with self._wake:
                self._busy = False
                self._wake.notify()
            self._on_broken(exc)
            return
        with self._wake:
            self._busy = False
            self._rest = data[written:]
            if self._rest or self._pending:
                self._wake.notify()

    def close(self, timeout: float | None = 5.0) -> None:
        """Write what is pending, then stop the writer thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        next_tick = time.monotonic() + self._tick
        while True:
            with self._wake:
                while self._busy or not (self._pending or self._rest or self._closing):
                    remaining = next_tick - time.monotonic()
                    if remaining <= 0 and not self._busy:
                        break
                    self._wake.wait(max(remaining, 0.001))
                messages, self._pending = self._pending, []
                rest, self._rest = self._rest, b""
                closing = self._closing
                self._busy = True
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self._tick
                beat = self._on_tick()
                if beat is not None:
                    messages.append(beat)
            try:
                if messages or rest:
                    self._write(rest + (encode_many(messages) if messages else b""))
            except (OSError, ValueError) as exc:  # broken pipe, or the stream was closed
                self._on_broken(exc)
                return
            finally:
                with self._wake:
                    self._busy = False
            if closing:
                return

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._stream.write(data)
            self._stream.flush()
            return
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                select.select([], [self._fd], [], 1.0)
