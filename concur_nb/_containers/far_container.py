"""The engine's half of a container whose works run on a far side: a worker process or a Ray actor.

``ProcessContainer`` (a pipe to ``python -m concur_nb.worker``, here or over SSH) and
``RayContainer`` (calls to a Ray actor) differ in how their messages travel and in how the far
side starts, dies and is released; not in what they do with it. Both send each work as a
``SUBMIT`` of its pickled arguments and keep the works sent and not yet heard of; both turn the
far side's events (the protocol's, which the Ray actor speaks too) into the host's calls,
handing a freed slot its next work; both fail a work whose arguments cannot be pickled from a
thread of their own (never from the caller's); and both report their end exactly once, so the
pool takes back every work it never heard the end of. That part lives here, once.

A subclass brings what differs: ``_live`` (start the far side and read its events until it
ends), ``_send`` (a message onto its channel, in order), ``_heartbeat``, ``_kill_far_side`` and
``_release`` (what ending it frees), and the ``Container`` methods that depend on them
(``stop``, ``kill``, ``info``).
"""

from __future__ import annotations

import abc
import threading
from typing import Any

from .._errors import ContainerError
from .._errors_text import describe as describe_error
from .._errors_text import safe_repr
from . import protocol as p
from .base import CANCELLED, ERROR, OK, ContainerHost, Outcome, Target, Work


class FarContainer(abc.ABC):
    """One container on a far side; see the module docstring."""

    kind: str
    # How a bug in ``_live`` is told ("container c1 broke on the engine's side: ...").
    breaks_where = "on the engine's side"
    reader_name = "reader"  # the reader thread is "<id>-<reader_name>"

    def __init__(
        self, container_id: str, target: Target, max_inputs: int, host: ContainerHost, where: str
    ) -> None:
        self.id = container_id
        self.host_name = where
        self.gpus: tuple[str, ...] = ()
        self._target = target
        self._max_inputs = max_inputs
        self._host = host
        self._lock = threading.Lock()
        # Held while reporting from a thread other than the reader, so that nothing is
        # reported after the end (the reader's own reports come before it, in order; but for a
        # Ray container's end on a lost cluster, told from the watch thread: a finished the
        # reader still reports then is one the pool has taken back, and it ignores it).
        self._report_lock = threading.Lock()
        self._ready = False
        self._ended = False
        self._kill_reason: str | None = None  # the first reason it was ended for, if it was
        self._running: set[str] = set()  # works sent and not yet finished (for display)

    @property
    def was_ready(self) -> bool:
        """Whether the far side ever got ready (a failure before that is a failure to start)."""
        return self._ready

    # --- what differs -----------------------------------------------------------------------

    @abc.abstractmethod
    def _live(self) -> None:
        """In the reader thread: start the far side, then act on its events (``_handle``)
        until it stopped; raise ``ContainerError`` once it is lost."""

    @abc.abstractmethod
    def _send(self, message: p.Message) -> None:
        """Put ``message`` on the channel to the far side, after those sent before it.
        Called under the pool's lock: it must not block."""

    @abc.abstractmethod
    def _kill_far_side(self) -> None:
        """End the far side now; the reader then sees it go."""

    @abc.abstractmethod
    def _heartbeat(self, details: Any) -> None:
        """Take what a heartbeat carries (a worker's GPU use)."""

    @abc.abstractmethod
    def _release(self, error: BaseException | None) -> BaseException | None:
        """Free what the ended far side held; the error to report (None: it stopped)."""

    @abc.abstractmethod
    def stop(self, *, graceful: bool) -> None: ...

    @abc.abstractmethod
    def kill(self) -> None: ...

    @abc.abstractmethod
    def info(self) -> dict[str, Any]: ...

    # --- Container interface ----------------------------------------------------------------

    def start(self) -> None:
        threading.Thread(
            target=self._run, name=f"{self.id}-{self.reader_name}", daemon=True
        ).start()

    def submit(self, work: Work) -> None:
        message = self._submit_message(work)
        if message is not None:
            self._send(message)

    def cancel(self, work_id: str) -> None:
        self._send((p.CANCEL, work_id))

    def set_capacity(self, max_inputs: int) -> None:
        self._max_inputs = max_inputs
        self._send((p.CAPACITY, max_inputs))

    # --- the reader thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._live()
        except ContainerError as error:
            self._end(error)
        except BaseException as exc:  # a bug (or the channel's own); still report, never hang
            bug = ContainerError(f"container {self.id} broke {self.breaks_where}: {safe_repr(exc)}")
            bug.__cause__ = exc
            self._end(bug)

    def _handle(self, message: p.Message, following: list[p.Message]) -> bool:
        """Act on one event of the far side; True once it stopped. The works that
        ``host.finished`` hands the freed slots go into ``following``, for the caller to send
        together."""
        host = self._host
        kind = message[0]
        if kind == p.FINISHED:
            _, work_id, outcome_kind, data, text = message
            self._running.discard(work_id)  # one set operation: atomic, no lock needed
            work = host.finished(self, work_id, self._outcome(outcome_kind, data, text))
            if work is not None:
                submit = self._submit_message(work)
                if submit is not None:
                    following.append(submit)
        elif kind == p.LOG:
            host.log(message[1], message[2], message[3])
        elif kind == p.HEARTBEAT:
            self._heartbeat(message[1])
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

    def _outcome(self, kind: str, data: Any, text: str) -> Outcome:
        """A ``FINISHED`` event's outcome, its payload unpickled."""
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

    # --- works ------------------------------------------------------------------------------

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

    def _unpicklable(self, work_id: str, exc: Exception) -> None:
        error = p.RemoteError(f"the input's arguments could not be pickled: {safe_repr(exc)}")
        with self._report_lock:  # not after ``failed``: the pool has taken the work back then
            if self._ended:
                return
            following = self._host.finished(self, work_id, Outcome(ERROR, error))
        if following is not None:
            self.submit(following)

    # --- endings ----------------------------------------------------------------------------

    def _terminate(self, reason: str) -> None:
        """End the far side for ``reason`` (the first reason given is the one told)."""
        with self._lock:
            if self._kill_reason is None:
                self._kill_reason = reason
        self._kill_far_side()

    def _end(self, error: BaseException | None) -> None:
        """Report the end exactly once, after releasing what the far side held.

        ``failed``/``stopped`` is the container's last report: no ``finished`` follows it (the
        pool takes back the works it placed here and never heard the end of).
        """
        with self._report_lock, self._lock:
            if self._ended:
                return
            self._ended = True
        error = self._release(error)
        if error is None:
            self._host.stopped(self)
        else:
            self._host.failed(self, error)
