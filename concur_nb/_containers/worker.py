"""The far side of an out-of-process container: ``python -m concur_nb.worker`` runs it.

A worker hosts one in-process container (the same ``LocalContainer`` the engine runs in the
kernel: threads for sync works, one event loop for async ones) and is its host: everything
the container reports goes back as a message over stdout, and every message that comes in on
stdin becomes a call on the container. It speaks only over its stdio, which a local pipe or an
SSH channel carries; it never opens a port.

The worker exits when the engine says ``shutdown`` (after the container's ``exit`` hooks ran),
when its stdin ends (the engine or the SSH link went away), or when the engine has been silent
for longer than ``--orphan-timeout`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from .._errors import ContainerError
from .._errors_text import safe_str
from . import protocol as p
from .base import CANCELLED, ERROR, Container, Outcome, Work
from .gpu import query_gpus, usage
from .outbox import Outbox

HEARTBEAT_INTERVAL = 1.0
GPU_POLL_INTERVAL = 5.0
SWITCH_INTERVAL = 0.0005  # seconds


def claim_stdio() -> tuple[IO[bytes], IO[bytes]]:
    """Take stdin/stdout for the protocol; stray writes to fd 1 go to stderr instead.

    User code, C extensions and child processes may write to fd 1; if that reached the
    channel it would corrupt the frames. stdin reads see an empty stream.
    """
    channel_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    channel_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if sys.stdout is not None:
        sys.stdout.flush()
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (lives as long as the process)
    return channel_in, channel_out


class GpuWatch:
    """Polls ``nvidia-smi`` now and then in its own thread, so heartbeats never wait on it."""

    def __init__(self, gpus: list[dict[str, str]]) -> None:
        self.latest = gpus
        self.pinned: tuple[str, ...] | None = None
        if gpus:
            threading.Thread(target=self._poll, name="gpu-watch", daemon=True).start()

    def _poll(self) -> None:
        while True:
            time.sleep(GPU_POLL_INTERVAL)
            self.latest = query_gpus() or self.latest

    def details(self) -> list[dict[str, str]] | None:
        return usage(self.latest, self.pinned) if self.latest else None


class LineBuffer:
    """Joins one input's output chunks into lines, so a ``print`` is one message, not four.

    Partial lines go out when the input ends, and at each heartbeat (a progress bar that
    never prints a newline still shows up).
    """

    def __init__(self, send: Callable[[p.Message], None]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._partial: dict[tuple[str, str], str] = {}

    def write(self, work_id: str, stream: str, text: str) -> None:
        key = (work_id, stream)
        with self._lock:
            pending = self._partial.pop(key, "") + text
            cut = pending.rfind("\n") + 1
            if cut < len(pending):
                self._partial[key] = pending[cut:]
            if cut:
                self._send((p.LOG, work_id, stream, pending[:cut]))

    def flush(self, work_id: str | None = None) -> None:
        """Send the partial lines of ``work_id`` (of every input when None)."""
        if not self._partial:
            return  # the common case, once per finished input: no lock needed to see it
        with self._lock:
            keys = [key for key in self._partial if work_id is None or key[0] == work_id]
            for key in keys:
                self._send((p.LOG, key[0], key[1], self._partial.pop(key)))


class Worker:
    """Relays between the channel and one container; it is that container's host."""

    def __init__(
        self, channel_in: IO[bytes], channel_out: IO[bytes], orphan_timeout: float
    ) -> None:
        self._in = channel_in
        self._out = channel_out
        self._orphan_timeout = orphan_timeout
        self._last_heard = time.monotonic()
        self._gpus = GpuWatch(query_gpus())
        self._container: Container | None = None
        # Inline: a sender finding the channel idle writes the frame itself, without waking
        # the writer thread (which would wait for the GIL behind the busy event loop).
        self._outbox = Outbox(
            channel_out, "worker-outbox", HEARTBEAT_INTERVAL, self._tick, self._broken, inline=True
        )
        self._lines = LineBuffer(self._outbox.send)
        # Works that arrived and wait for a slot of the container. A work that ends takes the
        # next one from here and runs it at once, in its own thread or task, as in-process
        # containers do with the pool; what none takes goes to the container (``_launch``).
        self._arrived: collections.deque[Work] = collections.deque()
        self._arrived_lock = threading.Lock()
        self._launch_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None  # where async works run, once seen
        self._loop_thread: int | None = None
        # Works that end on the event loop in one pass of it report together, in one frame.
        self._ended_on_loop: list[p.Message] = []

    # --- the message loop -----------------------------------------------------------------

    def run(self) -> None:
        self._out.write(p.encode_hello(p.hello_details(self._gpus.latest)))
        self._out.flush()
        self._outbox.start()
        while True:
            try:
                messages = p.read_messages(self._in)
            except p.ChannelClosed:
                self._exit(0)  # the engine is gone; nobody is left to take results
            self._last_heard = time.monotonic()
            for message in messages:
                self._dispatch(message)
            if self._arrived:
                self._schedule_launch()

    def _dispatch(self, message: p.Message) -> None:
        kind = message[0]
        if kind == p.SUBMIT:
            self._submit(*message[1:])
        elif kind == p.CANCEL:
            self._cancel(message[1])
        elif kind == p.CAPACITY:
            if self._container is not None:
                self._container.set_capacity(message[1])
        elif kind == p.TARGET:
            self._load_target(*message[1:])
        elif kind == p.SHUTDOWN:
            if self._container is None:
                self.stopped(None)
            else:
                self._launch()  # works sent before the shutdown still run (or get cancelled)
                self._container.stop(graceful=bool(message[1]))
        # HEARTBEAT needs nothing beyond the _last_heard update.

    def _load_target(
        self,
        target_bytes: bytes,
        container_id: str,
        max_inputs: int,
        env: dict[str, str],
        sys_path: list[str],
    ) -> None:
        from .local import LocalContainer  # the engine's own container

        os.environ.update(env)  # before the user's code loads: CUDA reads it once, at init
        self._gpus.pinned = (
            tuple(env["CUDA_VISIBLE_DEVICES"].split(",")) if "CUDA_VISIBLE_DEVICES" in env else None
        )
        sys.path[:0] = [entry for entry in sys_path if entry not in sys.path]
        try:
            target = p.load_target(target_bytes)
        except BaseException as exc:
            self._outbox.send(p.target_failed(exc))
            self._close_and_exit(1)
        self._container = LocalContainer(container_id, target, max_inputs, self)
        try:
            self._container.start()
        except ContainerError as exc:
            self.failed(self._container, exc)

    def _submit(
        self,
        work_id: str,
        call_id: str,
        method: str | None,
        is_async: bool,
        arguments: p.Payload,
    ) -> None:
        try:
            args, kwargs = p.unpack(arguments)
        except BaseException as exc:
            self._outbox.send(p.arguments_failed(work_id, exc))
            return
        assert self._container is not None, "submit before the container was loaded"
        work = Work(work_id, call_id, method, args, kwargs, is_async)
        with self._arrived_lock:
            self._arrived.append(work)

    def _schedule_launch(self) -> None:
        """Hand the works no ending work took to the container: at once on threads, and on
        the event loop once the callbacks ready now have run, so the works that end among them
        (in a burst of thousands of async inputs, most of it) take them first."""
        loop = self._loop
        if loop is None:
            self._launch()
            return
        with self._arrived_lock:
            if self._launch_pending:
                return
            self._launch_pending = True
        try:
            loop.call_soon_threadsafe(loop.call_soon, self._launch)
        except RuntimeError:  # the loop closed: the container is stopping
            self._launch()

    def _launch(self) -> None:
        with self._arrived_lock:
            self._launch_pending = False
            works = list(self._arrived)
            self._arrived.clear()
        assert self._container is not None
        for work in works:
            try:
                self._container.submit(work)
            except ContainerError as exc:  # no thread for it here: it fails, the rest run
                error = p.dump_error(exc)
                self._outbox.send((p.FINISHED, work.id, str(ERROR), error, p.traceback_text(exc)))

    def _cancel(self, work_id: str) -> None:
        with self._arrived_lock:
            waiting = next((work for work in self._arrived if work.id == work_id), None)
            if waiting is not None:
                self._arrived.remove(waiting)
        if waiting is not None:
            self._outbox.send((p.FINISHED, work_id, str(CANCELLED), b"", ""))
        elif self._container is not None:
            self._container.cancel(work_id)

    # --- ContainerHost: what the container reports ---------------------------------------

    def ready(self, container: Container) -> None:
        # What this process holds once ready (its imports, the function's module, what enter
        # hooks loaded: a model) leaves the cyclic collector's walks: a full collection then
        # scans only what the inputs made, instead of stopping every input for all of it.
        gc.freeze()
        self._outbox.send((p.READY,))

    def failed(self, container: Container, error: BaseException) -> None:
        cause = error.__cause__ or error
        self._outbox.send((p.FAILED, safe_str(error), p.traceback_text(cause)))
        self._close_and_exit(1)

    def log(self, work_id: str, stream: str, text: str) -> None:
        self._lines.write(work_id, stream, text)

    def warning(self, container: Container, message: str) -> None:
        self._outbox.send((p.WARNING, message))

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        data, kind, text = p.dump_outcome(outcome)
        self._lines.flush(work_id)  # its log lines go first: the engine drops them once it ended
        if self._loop is None and container.kind == "asyncio":
            try:
                self._loop = asyncio.get_running_loop()
                self._loop_thread = threading.get_ident()
            except RuntimeError:
                pass  # a sync work, on a thread
        # str(): the kind travels as plain text, never as a class the other end must import.
        self._report_end((p.FINISHED, work_id, str(kind), data, text))
        if not self._arrived:
            return None
        with self._arrived_lock:
            return self._arrived.popleft() if self._arrived else None

    def _report_end(self, message: p.Message) -> None:
        if self._loop is None or threading.get_ident() != self._loop_thread:
            self._outbox.send(message)
            return
        if not self._ended_on_loop:
            self._loop.call_soon(self._send_ended_on_loop)  # after this pass's ready callbacks
        self._ended_on_loop.append(message)

    def _send_ended_on_loop(self) -> None:
        messages, self._ended_on_loop = self._ended_on_loop, []
        if messages:
            self._outbox.send_many(messages)

    def stopped(self, container: Container | None) -> None:
        self._send_ended_on_loop()  # the loop may be gone before its pass came
        self._outbox.send((p.STOPPED,))
        self._close_and_exit(0)

    # --- endings --------------------------------------------------------------------------

    def _tick(self) -> p.Message | None:
        if time.monotonic() - self._last_heard > self._orphan_timeout:
            sys.stderr.write("concur_nb worker: the engine went silent; exiting\n")
            self._exit(3)
        self._lines.flush()
        return (p.HEARTBEAT, self._gpus.details())

    def _broken(self, error: BaseException) -> None:
        self._exit(0)  # nobody reads our results any more

    def _close_and_exit(self, code: int) -> Any:
        self._send_ended_on_loop()
        self._outbox.close()
        self._exit(code)

    def _exit(self, code: int) -> Any:
        # No interpreter shutdown: threads may be stuck in user code, and nothing here needs
        # finalizing once the last message is written.
        sys.stderr.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m concur_nb.worker",
        description="Host one concur_nb container over stdin/stdout (started by the engine).",
    )
    parser.add_argument("--orphan-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    channel_in, channel_out = claim_stdio()
    from .. import _context

    _context.echo_output = False  # captured output travels as log messages, not to stderr
    # The threads that relay messages must not wait the default 5 ms for the GIL behind a busy
    # event loop or input threads: that wait is most of a round trip under load.
    sys.setswitchinterval(SWITCH_INTERVAL)
    Worker(channel_in, channel_out, args.orphan_timeout).run()


if __name__ == "__main__":
    main()
