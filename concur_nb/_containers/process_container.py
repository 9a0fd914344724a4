"""A container in a worker process: a local subprocess, or (through ``ssh.py``) a remote host.

A ``ProcessContainer`` starts ``python -m concur_nb.worker`` with a command line (a local
interpreter, or ``ssh host python ...``), talks to it over the process's stdin/stdout, and
turns the worker's messages into calls on its host. One reader thread does all the reporting:
when a work finishes it asks the host for the next one and sends it straight away.

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
from .._errors_text import describe as describe_error
from .._errors_text import safe_repr
from . import protocol as p
from .base import CANCELLED, ERROR, OK, ContainerHost, Outcome, Target, Work
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


class ProcessContainer:
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
        self.id = container_id
        self.kind = launch.kind
        self.host_name = launch.host_name
        self.gpus: tuple[str, ...] = ()
        self._target = target
        self._max_inputs = max_inputs
        self._host = host
        self._launch = launch
        self._pins = pins
        self._on_end = on_end
        self._lock = threading.Lock()
        # Held while reporting from a thread other than the reader, so that nothing is
        # reported after the end (the reader's own reports come before it, in order).
        self._report_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: Outbox | None = None
        self._held: list[p.Message] | None = []  # sent before the target went out
        self._hello: dict[str, Any] = {}
        self._pinned: tuple[str, ...] | None = None
        self._gpu_use: list[dict[str, str]] | None = None
        self._ready = False
        self._ended = False
        self._kill_reason: str | None = None
        self._last_heard = time.monotonic()
        self._started_at = time.monotonic()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._stderr_closed = threading.Event()
        self._running: set[str] = set()  # submitted works not yet finished (for display)

    @property
    def was_ready(self) -> bool:
        """Whether the worker ever got ready (a failure before that is a failure to start)."""
        return self._ready

    # --- Container interface --------------------------------------------------------------

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"{self.id}-reader", daemon=True).start()

    def submit(self, work: Work) -> None:
        message = self._submit_message(work)
        if message is not None:
            self._send(message)

    def cancel(self, work_id: str) -> None:
        self._send((p.CANCEL, work_id))

    def set_capacity(self, max_inputs: int) -> None:
        self._max_inputs = max_inputs
        self._send((p.CAPACITY, max_inputs))

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

    def _run(self) -> None:
        try:
            self._spawn()
            self._handshake()
            self._read_until_end()
        except ContainerError as error:
            self._end(error)
        except BaseException as exc:  # a bug on this side; still report, never hang the pool
            bug = ContainerError(
                f"container {self.id} broke on the engine's side: {safe_repr(exc)}"
            )
            bug.__cause__ = exc
            self._end(bug)

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

    def _handle(self, message: p.Message, submits: list[p.Message]) -> bool:
        """Act on one message from the worker; True once it stopped. The works that
        ``host.finished`` hands back go into ``submits``, for the caller to send together."""
        host = self._host
        kind = message[0]
        if kind == p.FINISHED:
            _, work_id, outcome_kind, data, text = message
            self._running.discard(work_id)  # one set operation: atomic, no lock needed
            following = host.finished(self, work_id, self._outcome(outcome_kind, data, text))
            if following is not None:
                submit = self._submit_message(following)
                if submit is not None:
                    submits.append(submit)
        elif kind == p.LOG:
            host.log(message[1], message[2], message[3])
        elif kind == p.HEARTBEAT:
            self._gpu_use = message[1]
        elif kind == p.READY:
            self._ready = True
            host.ready(self)
        elif kind == p.WARNING:
            host.warning(self, message[1])
        elif kind == p.FAILED:
            raise ContainerError(f"{message[1]}\n\n(remote traceback)\n{message[2]}")
        elif kind == p.STOPPED:
            self._end(None)
            return True
        return False

    @staticmethod
    def _outcome(kind: str, data: p.Payload, text: str) -> Outcome:
        if kind == OK:
            try:
                return Outcome(OK, p.unpack(data))
            except Exception as exc:
                return Outcome(
                    ERROR, p.RemoteError(f"the result could not be unpickled: {safe_repr(exc)}")
                )
        if kind == ERROR:
            return Outcome(ERROR, p.load_error(data, text))
        return Outcome(CANCELLED)

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

    def _end(self, error: BaseException | None) -> None:
        """Report the end exactly once, then release the process and its GPUs.

        ``failed``/``stopped`` is the container's last report: no ``finished`` follows it (the
        pool takes back the works it placed here and never heard the end of).
        """
        with self._report_lock, self._lock:
            if self._ended:
                return
            self._ended = True
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
        if error is None:
            self._host.stopped(self)
        else:
            self._host.failed(self, error)

    def _terminate(self, reason: str) -> None:
        with self._lock:
            if self._kill_reason is None:
                self._kill_reason = reason
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

    def _submit_message(self, work: Work) -> p.Message | None:
        """The SUBMIT message for ``work``; None if its arguments can't be pickled (that is
        reported as the work's failure, from another thread)."""
        try:
            # Only the arguments are pickled here, not the Work dataclass around them.
            data = p.pack((work.args, work.kwargs))
        except Exception as exc:
            # The engine's contract: never call the host from the caller's thread.
            try:
                threading.Thread(
                    target=self._unpicklable, args=(work.id, exc), name=f"{self.id}-unpicklable"
                ).start()
            except RuntimeError as refused:  # at the thread limit: the caller fails it
                raise ContainerError(
                    f"the arguments of input {work.id} could not be pickled "
                    f"({describe_error(exc)}), and no thread could be started to report it "
                    f"({describe_error(refused)})"
                ) from exc
            return None
        self._running.add(work.id)
        return (p.SUBMIT, work.id, work.call_id, work.method, work.is_async, data)

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

    def _unpicklable(self, work_id: str, exc: Exception) -> None:
        error = p.RemoteError(f"the input's arguments could not be pickled: {safe_repr(exc)}")
        with self._report_lock:  # not after ``failed``: the pool has taken the work back then
            if self._ended:
                return
            following = self._host.finished(self, work_id, Outcome(ERROR, error))
        if following is not None:
            self.submit(following)
