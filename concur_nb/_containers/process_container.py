"""A container in a worker process: a local subprocess, or (through ``ssh.py``) a remote host.

A ``ProcessContainer`` starts ``python -m concur_nb.worker`` with a command line (a local
interpreter, or ``ssh host python ...``), talks to it over the process's stdin/stdout, and
turns the worker's messages into calls on its host (what it shares with the Ray container:
``far_container.FarContainer``). One reader thread does all the reporting: when a work finishes
it asks the host for the next one and sends it straight away.

A container whose worker dies, whose channel breaks, or whose heartbeats stop is reported
``failed``, so the pool reschedules its works; none is lost.
"""

from __future__ import annotations

import collections
import dataclasses
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .._errors import ContainerError
from .._errors_text import safe_repr
from . import protocol as p
from .base import ContainerHost, Target
from .far_container import FarContainer
from .gpu import describe
from .loop_choice import far_side_env
from .outbox import Outbox
from .pins import GpuPins

HEARTBEAT_INTERVAL = 1.0
STDERR_TAIL = 40
FLUSH_EVERY = 64  # next works go out while the rest of a frame of finished ones is read


@dataclasses.dataclass
class Launch:
    """How to start one worker, and how to explain its failures to a user."""

    argv: list[str]
    kind: str  # "process" | "ssh"
    host_name: str
    # (exit code or None if it could not run, stderr tail, whether the worker said hello)
    explain_exit: Callable[[int | None, str, bool], str]
    send_sys_path: bool = False  # a local worker can import what this process can
    start_timeout: float = 60.0  # until the worker says hello
    heartbeat_timeout: float = 10.0  # silence after which a running worker is presumed dead


class ProcessContainer(FarContainer):
    """One worker process; see the module docstring."""

    def __init__(
        self,
        container_id: str,
        target: Target,
        max_inputs: int,
        host: ContainerHost,
        launch: Launch,
        pins: GpuPins,
        on_end: Callable[[ProcessContainer, BaseException | None], None] = lambda c, e: None,
    ) -> None:
        super().__init__(container_id, target, max_inputs, host, launch.host_name)
        self.kind = launch.kind
        self._launch = launch
        self._pins = pins
        self._on_end = on_end
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: Outbox | None = None
        self._held: list[p.Message] | None = []  # sent before the target went out
        self._hello: dict[str, Any] = {}
        self._pinned: tuple[str, ...] | None = None
        self._gpu_use: list[dict[str, str]] | None = None
        self._last_heard = time.monotonic()
        self._started_at = time.monotonic()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._stderr_closed = threading.Event()

    # --- Container interface (the rest is FarContainer's) ---------------------------------

    def stop(self, *, graceful: bool) -> None:
        self._send((p.SHUTDOWN, graceful))

    def kill(self) -> None:
        self._terminate("the container was terminated on request")

    def info(self) -> dict[str, Any]:
        process = self._process
        facts: dict[str, Any] = {
            "pid": self._hello.get("pid", process.pid if process else None),
            "host": self._hello.get("hostname", self.host_name),
            "python": self._hello.get("python_full"),
            "device": "cuda" if self.gpus else "cpu",
            "in_flight": len(self._running),
        }
        if self._pinned is not None:
            facts["cuda_visible_devices"] = ",".join(self._pinned)
        if self._gpu_use:
            facts["gpu_use"] = [
                {k: gpu.get(k) for k in ("index", "utilization.gpu", "memory.used")}
                for gpu in self._gpu_use
            ]
        return facts

    # --- the reader thread ----------------------------------------------------------------

    def _live(self) -> None:
        self._spawn()
        self._handshake()
        self._read_until_end()

    def _spawn(self) -> None:
        try:
            process = subprocess.Popen(
                self._launch.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C in the terminal must not reach workers
            )
        except OSError as exc:
            raise ContainerError(
                self._launch.explain_exit(None, f"{self._launch.argv[0]}: {exc.strerror}", False)
            ) from None
        assert process.stdin is not None and process.stderr is not None
        with self._lock:
            self._process = process
            killed = self._kill_reason is not None
        if killed:
            process.kill()
        threading.Thread(
            target=self._drain_stderr, args=(process.stderr,), name=f"{self.id}-stderr", daemon=True
        ).start()
        self._outbox = Outbox(
            process.stdin,
            f"{self.id}-writer",
            HEARTBEAT_INTERVAL,
            self._tick,
            self._broken,
            inline=True,  # the reader sends next works itself, without waking the writer
        )
        self._outbox.start()

    def _handshake(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        try:
            noise = p.skip_to_magic(process.stdout)
            hello = p.read_message(process.stdout)
        except p.ChannelClosed as closed:
            raise self._death(closed) from None
        if noise.strip():
            self._stderr.append(noise.decode(errors="replace"))
        self._last_heard = time.monotonic()
        if hello[0] != p.HELLO:
            raise ContainerError(f"the worker on {self.host_name} began with {hello[0]!r}")
        self._hello = details = hello[1]
        p.check_versions(details, self.host_name)
        host_gpus = details.get("gpus") or []
        self._pinned = self._pins.claim([gpu["index"] for gpu in host_gpus])
        chosen = [gpu for gpu in host_gpus if self._pinned is None or gpu["index"] in self._pinned]
        self.gpus = tuple(describe(gpu) for gpu in chosen)
        env = {} if self._pinned is None else {"CUDA_VISIBLE_DEVICES": ",".join(self._pinned)}
        env.update(far_side_env())  # uvloop on or off there as chosen here (set_uvloop)
        sys_path = [entry for entry in sys.path if entry] if self._launch.send_sys_path else []
        try:
            target_bytes = p.dump_payload(self._target)
        except Exception as exc:
            raise ContainerError(
                f"{self._target.name} could not be pickled to send it to a worker: "
                f"{safe_repr(exc)}; "
                "functions that capture locks, open files or sockets cannot travel"
            ) from exc
        with self._lock:
            held, self._held = self._held or [], None
            assert self._outbox is not None
            self._outbox.send((p.TARGET, target_bytes, self.id, self._max_inputs, env, sys_path))
            self._outbox.send_many(held)

    def _read_until_end(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        stream = process.stdout
        while True:
            try:
                messages = p.read_messages(stream)
            except p.ChannelClosed as closed:
                raise self._death(closed) from None
            self._last_heard = time.monotonic()
            submits: list[p.Message] = []
            try:
                for message in messages:
                    if self._handle(message, submits):
                        return
                    if len(submits) >= FLUSH_EVERY:
                        self._send_many(submits)
                        submits = []
            finally:
                if submits:
                    self._send_many(submits)

    def _heartbeat(self, details: Any) -> None:
        self._gpu_use = details

    # --- endings --------------------------------------------------------------------------

    def _death(self, why: BaseException) -> ContainerError:
        """The error to report once the worker is gone, from its exit code and stderr."""
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:  # it closed the channel but lives on: end it
                process.kill()
                code = process.wait()
        if self._kill_reason is not None:
            return ContainerError(f"container {self.id} on {self.host_name}: {self._kill_reason}")
        self._stderr_closed.wait(1.0)  # so the tail holds the worker's last words
        tail = "\n".join(self._stderr)
        said = tail if code is not None else tail or str(why)  # the code says more than an EOF
        return ContainerError(self._launch.explain_exit(code, said, bool(self._hello)))

    def _release(self, error: BaseException | None) -> BaseException | None:
        """Close the channel, end the process (killed, if it failed) and free its GPUs."""
        with self._lock:
            process = self._process
        if self._outbox is not None:
            self._outbox.close(timeout=1.0)
        if process is not None:
            if error is not None and process.poll() is None:
                process.kill()
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                process.kill()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
        self._pins.release(self._pinned)
        self._on_end(self, error)
        return error

    def _kill_far_side(self) -> None:
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()  # the reader then sees the end and reports it

    def _tick(self) -> p.Message | None:
        silent = time.monotonic() - self._last_heard
        if not self._hello and silent > self._launch.start_timeout:
            self._terminate(
                f"the worker did not answer within {self._launch.start_timeout:g} s of starting"
            )
        elif self._hello and silent > self._launch.heartbeat_timeout:
            self._terminate(
                f"no heartbeat from the worker for {silent:.1f} s (limit "
                f"{self._launch.heartbeat_timeout:g} s): the process hangs or the link dropped"
            )
        return (p.HEARTBEAT, None)

    def _broken(self, error: BaseException) -> None:
        pass  # the reader sees the same end of the channel and reports it

    def _send(self, message: p.Message) -> None:
        self._send_many([message])

    def _send_many(self, messages: list[p.Message]) -> None:
        with self._lock:
            if self._held is not None:
                self._held += messages
                return
            outbox = self._outbox
        assert outbox is not None
        outbox.send_many(messages)

    def _drain_stderr(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            self._stderr.append(line.decode(errors="replace").rstrip("\n"))
        stream.close()
        self._stderr_closed.set()
