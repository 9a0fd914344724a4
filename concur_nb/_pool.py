"""The pool: one function's (or class's) inputs, and their placement into its containers.

Everything here happens under one lock, in whichever thread brings news: a caller submitting,
a container finishing a work (which gets the next work back at once, so busy slots never wait
for another thread), or the timer thread when something is due. Small objects own the state:
the queues (``_queues``), the containers (``_fleet``), the running attempts (``_running``), what
is waited for (``_deadlines``), how inputs end (``_endings``) and what front-ends read
(``ledger``). Placement: a work only goes to a running container below ``max_inputs``;
containers below ``target_inputs`` are filled first, oldest first, so extra ones fall idle and
retire; above target the least loaded one bursts; no slot stays free while an input waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._backlog import MADE_AT_SUBMIT, Backlog
from ._clock import Clock
from ._containers.base import Backend, Container, Outcome, Target, Work
from ._deadlines import Deadlines
from ._endings import Endings
from ._errors import InvalidError
from ._errors_text import describe
from ._fleet import Fleet
from ._inputs import (
    FAILED,
    RUNNING,
    Attempt,
    Input,
    OneArgEach,
)
from ._ledger import Ledger
from ._outcomes import Call
from ._queues import BatchSpec, InputQueues, pack_batch
from ._retries import Retries
from ._running import RunningAttempts, count_death, deaths_error
from ._settings import Settings
from ._slots import RUNNING_SLOT, STARTING, Slot
from ._state import FunctionSnapshot
from ._timers import TimerThread


class Pool:
    def __init__(
        self,
        name: str,
        target: Target,
        settings: Settings,
        backend: Backend,
        timers: TimerThread,
        clock: Clock,
        batching: dict[str | None, BatchSpec],
        backend_label: str,
        default_max_containers: int | None = None,
    ) -> None:
        self.name = name
        self.target = target
        self.settings = settings
        self.backend = backend
        self.backend_label = backend_label
        self.clock = clock
        self._now = clock.now  # bound once: read on every input's start and end
        self._lock = threading.RLock()
        self._queues = InputQueues(batching)
        self._fleet = Fleet(name, target, backend, default_max_containers)
        self._running = RunningAttempts()
        self._active = self._running.active  # the same dict, read on the hot path
        self._deadlines = Deadlines(lambda: timers.poke(self))
        self.ledger = Ledger(name, backend_label, self._lock, self._now)
        self.ledger.read_from(self._queues, self._fleet, self._running, self._deadlines)
        self._endings = Endings(
            name, self._queues, self._running, self._deadlines, self.ledger, self._retries
        )
        self._settle = self._endings.settle
        self._complete = self._endings.complete
        self._fail_queued = self._endings.fail_queued
        self.events = self.ledger.events
        self.metrics = self.ledger.metrics
        self._async_methods = target.async_methods
        self._closed = False
        self._stopped_event = threading.Condition(self._lock)

    # --- the timer thread's protocol (``_timers.Timed``) -------------------------------------

    def now(self) -> float:
        return self._now()

    def watch_time(self, callback: Callable[[], None]) -> bool:
        if self.clock.is_real:
            return False
        self.clock.add_listener(callback)
        return True

    def tick(self) -> float | None:
        """Do what is due now; return when the next thing will be due (clock time)."""
        with self._lock:
            deadlines = self._deadlines
            if self._closed:  # shut down: nothing left to time (and no stale check to spin on)
                return deadlines.clear()
            now = self._now()
            timeout = self.settings.timeout
            for attempt in deadlines.expired(list(self._active.values()), timeout, now):
                self._interrupt(attempt)  # and its callers are released now (``_endings``)
                self._endings.time_out(attempt, timeout, now)
            for inp in deadlines.due_retries(now):
                self._queues.requeue(inp, now, front=False)
            self._dispatch(now)
            deadlines.batch_passed(now)
            self._rebalance(now)
            return deadlines.next_due()

    def _retries(self) -> Retries | None:
        return None if self._closed else self.settings.retries

    def start(self) -> None:
        """Start what the settings ask for with no demand yet (``min_containers``)."""
        with self._lock:
            self._rebalance(self._now())

    # --- submitting and cancelling ----------------------------------------------------------

    def submit(
        self,
        call: Call,
        method: str | None,
        arg_tuples: Sequence[tuple[Any, ...]],
        kwargs: dict[str, Any],
    ) -> None:
        """Queue one input per tuple of ``arg_tuples`` (each with ``kwargs``) for ``call``,
        and place what fits now.

        A plain function's inputs past the first ``MADE_AT_SUBMIT`` wait in a ``Backlog``:
        they are made as they near the front of the queue, so a big map returns at once and
        its queued inputs cost no records (``_backlog``).
        """
        is_async = self._is_async(method)
        one_arg = isinstance(arg_tuples, OneArgEach)
        count = len(arg_tuples)
        with self._lock:
            if self._closed:
                raise InvalidError(
                    f"{self.name} was shut down; define the function again to use it."
                )
            now = self._now()
            queues, metrics = self._queues, self.metrics
            backlog = Backlog(
                call, method, arg_tuples, kwargs, now, is_async, one_arg, self._announce
            )
            made = backlog.make(count if queues.is_batched(method) else MADE_AT_SUBMIT)
            queues.extend(method, made, len(made))
            if backlog.left:
                queues.add_backlog(backlog)
            if metrics.first_submit_at is None:
                metrics.first_submit_at = now
            metrics.submitted += count
            self._dispatch(now)
            if queues.queued:
                self._scale_up_if_needed(now)
            if now >= self.ledger.next_sample:
                self.ledger.sample(now)

    def _announce(self, queued: list[Input]) -> None:
        if self.events.active:
            for inp in queued:
                self.ledger.emit("input_queued", inp.queued_at, input_id=inp.id)

    def inputs_of(self, call: Call) -> list[Input]:
        """Every input of ``call``, made now if some still wait in a backlog."""
        with self._lock:
            self._queues.make_all(call)
            return list(call.inputs)

    def cancel_call(self, call: Call, reason: str = "cancelled") -> None:
        """Cancel every input of ``call``, including those not made yet."""
        with self._lock:
            if call.cancelled_reason is None:
                call.cancelled_reason = reason
            now = self._now()
            unqueued = self._queues.drop_backlog(call)
            self._endings.cancel(unqueued, reason, now, queued=False)
            self._settle_cancelled(call.inputs, reason, now)

    def cancel(self, inputs: Iterable[Input], reason: str = "cancelled") -> None:
        """Cancel inputs: queued ones are dropped, running ones are interrupted."""
        with self._lock:
            self._settle_cancelled(inputs, reason, self._now())

    def _settle_cancelled(self, inputs: Iterable[Input], reason: str, now: float) -> None:
        for attempt in self._endings.cancel(inputs, reason, now):
            self._interrupt(attempt)

    def _interrupt(self, attempt: Attempt | None) -> None:
        slot = None if attempt is None else self._fleet.slots.get(attempt.container_id or "")
        if attempt is not None and slot is not None:
            slot.container.cancel(attempt.id)

    def _unsettled(self) -> list[Input]:
        self._queues.make_all()  # each input ends: those of backlogs too
        return [*self._queues.live(), *self._running.inputs(), *self._deadlines.waiting_retries()]

    def cancel_all(self) -> None:
        with self._lock:
            pending = self._unsettled()
        self.cancel(pending)

    def kill_container_of(self, inputs: Iterable[Input]) -> None:
        """Terminate the containers running ``inputs``; their other works are rescheduled.
        (In-process ones share the kernel: the caller cancels the inputs, siblings go on.)"""
        if self.backend.out_of_process:
            with self._lock:
                ids = {inp.container_id for inp in inputs if inp.status is RUNNING}
            self._fleet.kill(ids)

    # --- reports from containers (ContainerHost) -------------------------------------------

    def ready(self, container: Container) -> None:
        with self._lock:
            slot = self._fleet.slots.get(container.id)
            if slot is None or slot.status != STARTING:
                return
            now = self._now()
            slot.status = RUNNING_SLOT
            slot.started_at = slot.idle_since = now
            self.ledger.emit("container_started", now, container_id=container.id)
            self.ledger.sample(now)
            self._dispatch(now)
            if slot.in_use == 0:
                self._deadlines.want_wake(now + self.settings.scaledown_window)

    def failed(self, container: Container, error: BaseException) -> None:
        with self._lock:
            if container.id not in self._fleet.slots:
                return  # reported already
            now = self._now()
            orphans = self._running.take_container(container.id)
            gone = self._fleet.lost(container.id, ran_inputs=bool(orphans), now=now)
            for inp in reversed(orphans):  # back to the front of the queue, in order
                if count_death(inp):
                    self._settle(inp, FAILED, deaths_error(self.name, inp, error), now)
                else:  # it may be what killed the container: it runs alone from now on
                    self._queues.requeue(inp, now, front=True, alone=inp.method is None)
            self.ledger.emit("container_stopped", now, container_id=container.id, data=repr(error))
            self._warn(f"container {container.id} failed: {describe(error)}")
            self.ledger.sample(now)
            if gone is not None and gone.give_up:  # the containers seem unable to live at all
                self._fail_queued(error, now)
            self.ledger.record_scaling(
                now, "replace", f"container {container.id} failed: {describe(error)}", -1
            )
            self._dispatch(now)
            self._rebalance(now)
            self._stopped_event.notify_all()

    def log(self, work_id: str, stream: str, text: str) -> None:
        with self._lock:  # the input may settle in another thread meanwhile
            self.ledger.log_of_work(work_id, self._now(), stream, text)

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        # The hot path: runs once per input, in the container's thread, under the pool lock.
        with self._lock:
            now = self._now()
            attempt = self._active.pop(work_id, None)
            if attempt is not None:
                self._complete(attempt, outcome, now)
            else:
                self._running.wound_down(work_id)
            if now >= self.ledger.next_sample:
                self.ledger.sample(now)
            slot = self._fleet.slots.get(container.id)
            if slot is None:
                return None
            slot.done += 1
            slot.alone = False
            queues = self._queues
            if (
                queues.queued
                and slot.status == RUNNING_SLOT
                and slot.in_use <= slot.cap(self.settings.max_inputs)
            ):
                ready = queues.pop_ready(now, slot.in_use == 1)
                if ready is not None:
                    return self._start(slot, ready, now, True)  # freed: its slot is counted
                self._arm_batch_window()
            slot.in_use -= 1
            if slot.in_use == 0:
                slot.idle_since = now
                if slot.status == RUNNING_SLOT:
                    self._deadlines.want_wake(now + self.settings.scaledown_window)
            return None

    def stopped(self, container: Container) -> None:
        with self._lock:
            slot = self._fleet.slots.pop(container.id, None)
            if slot is None:
                return
            now = self._now()
            for inp in reversed(self._running.take_container(container.id)):
                self._queues.requeue(inp, now, front=True)
            self.ledger.emit("container_stopped", now, container_id=container.id)
            self.ledger.sample(now)
            self._stopped_event.notify_all()
            if not self._closed:
                self._dispatch(now)
                self._rebalance(now)

    def warning(self, container: Container, message: str) -> None:
        with self._lock:
            self._warn(f"{self.name}: {message}")

    # --- placement --------------------------------------------------------------------------

    def _dispatch(self, now: float) -> None:
        queues = self._queues
        while queues.queued:
            slot = self._fleet.free_slot(self.settings.target, self.settings.max_inputs)
            if slot is None:
                break
            ready = queues.pop_ready(now, alone=slot.in_use == 0)
            if ready is None:
                break
            work = self._start(slot, ready, now, freed=False)
            try:
                slot.container.submit(work)
            except Exception as exc:  # e.g. the OS refused a new thread
                self._could_not_submit(slot, work, exc, now)
        self._arm_batch_window()

    def _arm_batch_window(self) -> None:
        self._deadlines.batch_due(self._queues.batch_due)

    def _could_not_submit(self, slot: Slot, work: Work, error: Exception, now: float) -> None:
        """The container could not take a work it had room for: fail that work's inputs, and
        keep the container at the capacity it has (it takes no more than it runs now)."""
        slot.in_use -= 1
        slot.limit = slot.in_use
        self._endings.could_not_start(work.id, slot.container.id, slot.in_use, error, now)

    def _start(self, slot: Slot, ready: Input | list[Input], now: float, freed: bool) -> Work:
        """Mark ``ready`` running in ``slot``; the work to hand its container.

        ``freed``: the slot's previous work just ended there, so its count does not change.
        """
        if not freed:
            slot.in_use += 1
            slot.idle_since = None
        container_id = slot.container.id
        running = self._running
        if isinstance(ready, Input):  # one input: no loop, no tuple (the hot path)
            lead = ready
            if lead.one_arg:  # its argument tuple is made now (``OneArgEach``)
                lead.args, lead.one_arg = (lead.args,), False
            attempt: Attempt
            if lead.attempt == 1:  # the input is its own first attempt: no record more
                attempt = lead
                lead.cancel_requested = False
            else:
                attempt = running.retry_attempt(lead, container_id, now)
            slot.alone = lead.container_deaths > 0  # a suspect runs with no sibling
            lead.status = RUNNING
            lead.started_at = now
            lead.container_id = container_id
            lead.running = attempt
            self.metrics.queue_waits.append(now - lead.queued_at)
            running.in_flight += 1
        else:  # a batch, even of one: the function takes lists
            args, kwargs = pack_batch(self.target, ready[0].method, ready)
            attempt = running.batch_attempt(ready, args, kwargs, container_id, now)
            self.metrics.queue_waits.extend(now - inp.queued_at for inp in ready)
        running.active[attempt.id] = attempt
        timeout = self.settings.timeout
        if len(self._active) == 1 and timeout is not None:
            self._deadlines.want_wake(now + timeout)  # the oldest attempt's deadline is first
        if self.events.active:
            for inp in attempt.inputs:
                self.ledger.emit("input_started", now, input_id=inp.id, container_id=container_id)
        return attempt

    def _is_async(self, method: str | None) -> bool:
        return method in self._async_methods if self.target.is_class else bool(self._async_methods)

    # --- autoscaling ------------------------------------------------------------------------

    def _effective_settings(self) -> Settings:
        return self._fleet.effective(self.settings)

    def _demand(self) -> int:
        """Inputs that hold or want a slot, and runs that hold one for no input any more."""
        running = self._running
        return running.in_flight + running.cancelling + running.left_behind() + self._queues.queued

    def _scale_up_if_needed(self, now: float) -> None:
        if self._demand() > self.settings.target * self._fleet.active_count():
            self._rebalance(now)

    def _rebalance(self, now: float) -> None:
        if self._closed:
            return
        decision, started = self._fleet.rebalance(
            self._demand(), self._effective_settings(), now, self
        )
        self._deadlines.scale_check = decision.next_check
        if decision.next_check is not None:
            self._deadlines.want_wake(decision.next_check)
        if started:
            self.ledger.record_scaling(now, "scale_up", decision.reason, started)
        if decision.retire:
            self.ledger.record_scaling(now, "scale_down", decision.reason, -len(decision.retire))
        for container, error in self._fleet.take_unstarted():
            self.failed(container, error)

    def _warn(self, message: str) -> None:
        self.ledger.warn(message, self._now())

    # --- live reconfiguration ----------------------------------------------------------------

    def update(self, **changes: Any) -> Settings:
        with self._lock:
            new = self.settings.replaced(**changes)
            old_max = self.settings.max_inputs
            self.settings = new
            if new.max_inputs != old_max:
                self._fleet.set_capacity(new.max_inputs)
            now = self._now()
            self._dispatch(now)
            self._rebalance(now)
            return new

    # --- reading state: the ledger's (``pool.ledger``) ------------------------------------------

    def snapshot(self) -> FunctionSnapshot:
        return self.ledger.snapshot(self._effective_settings())

    # --- shutdown ---------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse new inputs, cancel everything, and ask every container to stop now."""
        with self._lock:
            self._closed = True  # first: a submit racing this one raises instead of queueing
            self.cancel(self._unsettled(), reason="cancelled: the function was shut down")
            self._fleet.stop_all()

    def wait_closed(self, timeout: float) -> list[str]:
        """Wait (bounded) until every container is gone; the ids of inputs still running."""
        with self._lock:
            self._stopped_event.wait_for(lambda: not self._fleet.slots, timeout=max(timeout, 0))
            return [a.input_id for a in self._running.all_attempts()]

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything, retire every container and wait (bounded) until they are gone."""
        self.close()
        self.wait_closed(timeout)

    @property
    def closed(self) -> bool:
        return self._closed
