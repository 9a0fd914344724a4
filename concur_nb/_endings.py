"""How inputs end, each exactly once: a result, an exception, cancelled, timed out, or another
attempt after a backoff. The pool calls these under its lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._containers.base import CANCELLED as OUTCOME_CANCELLED
from ._containers.base import OK, Outcome
from ._context import flush_echo
from ._deadlines import Deadlines
from ._errors import CallCancelledError, ContainerError, FunctionTimeoutError
from ._errors_text import describe
from ._inputs import (
    CANCELLED,
    FAILED,
    RETRY_WAIT,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    Attempt,
    Input,
    InputStatus,
)
from ._ledger import Ledger
from ._queues import InputQueues, unpack_batch
from ._retries import Retries
from ._running import RunningAttempts

_NO_KWARGS: dict[str, Any] = {}  # what a settled input keeps of its keyword arguments


class Endings:
    def __init__(
        self,
        name: str,
        queues: InputQueues,
        running: RunningAttempts,
        deadlines: Deadlines,
        ledger: Ledger,
        retries: Callable[[], Retries | None],
    ) -> None:
        self._name = name
        self._queues = queues
        self._running = running
        self._deadlines = deadlines
        self._ledger = ledger
        self._events = ledger.events
        self._metrics = ledger.metrics
        self._retries = retries  # the retry policy now (None once the pool is closed)

    def complete(self, attempt: Attempt, outcome: Outcome, now: float) -> None:
        """``attempt`` ended in its container with ``outcome``."""
        if not self._queues.batching:  # one input, which nothing settled before
            inp = attempt.lead
            inp.running = None
            self._running.in_flight -= 1
            self._complete_one(inp, outcome, now)
            return
        members = attempt.inputs
        results = (
            unpack_batch(self._name, len(members), outcome)
            if self._queues.is_batched(attempt.method)
            else [outcome]
        )
        for inp, result in zip(members, results):
            if inp.running is not attempt:
                continue
            inp.running = None
            if inp.settled:
                self._running.end_cancelling(inp)
                continue
            self._running.in_flight -= 1
            self._complete_one(inp, result, now)

    def _complete_one(self, inp: Input, result: Outcome, now: float) -> None:
        started = inp.started_at
        self._metrics.run_times.append(0.0 if started is None else now - started)
        if inp.log is not None:  # it wrote something: end its last line, in the log and echo
            inp.log.flush(now)
            flush_echo(inp.id)
        kind = result.kind
        if kind == OK:
            self.settle(inp, SUCCEEDED, result.value, now)
        elif kind == OUTCOME_CANCELLED:
            self.settle(inp, CANCELLED, CallCancelledError(f"input {inp.id} was cancelled"), now)
        elif not self._retried(inp, now):
            self.settle(inp, FAILED, result.value, now)

    def time_out(self, attempt: Attempt, timeout: float | None, now: float) -> None:
        """``attempt`` ran past ``timeout``: its callers get ``FunctionTimeoutError`` now (or
        a retry), even if its code is stuck in C and ends much later; its slot stays taken
        (its inputs are "cancelling") until it does."""
        error = FunctionTimeoutError(
            f"{self._name} input {attempt.input_id} ran longer than timeout={timeout:g}s "
            f"(attempt {attempt.lead.attempt}); raise `timeout=` or make the input faster."
        )
        for inp in self._running.timed_out(attempt):
            if self._retried(inp, now):
                inp.running = None  # the next attempt is its own; this one winds down alone
            else:
                self._running.cancelling_until_it_ends(inp)
                self.settle(inp, TIMED_OUT, error, now)

    def _retried(self, inp: Input, now: float) -> bool:
        """Schedule another attempt of ``inp`` if its retries allow; False if not."""
        return self._deadlines.retry_later(inp, self._retries(), now)

    def settle(self, inp: Input, status: InputStatus, value: Any, now: float) -> None:
        """Give ``inp`` its final status and its caller the outcome (``value``)."""
        inp.status = status
        inp.settled = True
        inp.finished_at = now
        self._ledger.settled(inp, status, value)
        inp.args = ()  # the arguments may be large; the input is kept a while for the views
        inp.one_arg = False
        inp.kwargs = _NO_KWARGS
        call, inp.call = inp.call, None
        if call is not None:
            call.settle(inp.index, status is SUCCEEDED, value)
        if self._events.active:
            self._ledger.emit(
                "input_finished", now, input_id=inp.id, container_id=inp.container_id, data=status
            )

    def cancel(
        self, inputs: Iterable[Input], reason: str, now: float, *, queued: bool = True
    ) -> list[Attempt]:
        """Settle ``inputs`` as cancelled; the attempts still running them, to interrupt.

        ``queued=False``: the inputs were never queued (their call was cancelled while it was
        being submitted), so there is nothing to take back from the queues.
        """
        to_interrupt = []
        for inp in inputs:
            if inp.settled:
                continue
            if inp.status is RUNNING and inp.running is not None:
                attempt = self._running.settle_running(inp)
                if attempt is not None:
                    to_interrupt.append(attempt)
            elif queued and inp.status is not RETRY_WAIT:
                self._queues.forget(inp)
            self.settle(inp, CANCELLED, CallCancelledError(f"input {inp.id} was {reason}"), now)
        return to_interrupt

    def fail_attempt(self, attempt: Attempt, failure: BaseException, now: float) -> None:
        """``attempt`` could not start: its inputs fail with ``failure``."""
        for inp in attempt.inputs:
            inp.running = None
            self._running.in_flight -= 1
            self.settle(inp, FAILED, failure, now)

    def could_not_start(
        self, work_id: str, container_id: str, running: int, error: Exception, now: float
    ) -> None:
        """A container could not take work ``work_id`` (and runs ``running`` at most from now
        on): its inputs fail; with ``running`` 0, so does the queue (nothing could start)."""
        attempt = self._running.active.pop(work_id, None)
        if attempt is None:
            return
        failure = ContainerError(
            f"{self._name}: container {container_id} could not start input "
            f"{attempt.input_id} ({describe(error)}); it keeps running {running} at a time."
        )
        self.fail_attempt(attempt, failure, now)
        self._ledger.warn(str(failure), now)
        if running == 0:
            self.fail_queued(failure, now)

    def fail_queued(self, error: BaseException, now: float) -> None:
        for inp in self._queues.take_all():
            self.settle(inp, FAILED, error, now)
