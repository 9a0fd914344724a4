"""The pool: one function's (or class's) queue, containers, placement and timers.

Everything here happens under one lock, in whichever thread brings news: a caller submitting,
a container finishing a work (which gets the next work back at once, so busy slots never wait
for another thread), or the engine's thread when a timer is due (timeouts, retries' backoff,
batching windows, scale-down). Placement rules:

- a work only goes to a running container with fewer than ``max_inputs`` works;
- containers below ``target_inputs`` are filled first, in the order they started, so extra
  containers fall idle and can retire; above target the least loaded one bursts;
- no slot stays free while an input waits (a freed slot takes the next input at once).
"""

from __future__ import annotations

import dataclasses
import heapq
import inspect
import itertools
import logging
import math
import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import _work
from ._autoscale import ContainerLoad, Decision, decide
from ._clock import Clock
from ._containers.base import CANCELLED, ERROR, OK, Backend, Container, Outcome, Target, Work
from ._errors import CallCancelledError, FunctionTimeoutError, InvalidError
from ._outcomes import Call
from ._settings import Settings
from ._state import (
    ContainerSnapshot,
    Event,
    EventBus,
    FunctionSnapshot,
    InputInfo,
    InputLog,
    LogLine,
    Metrics,
    Percentiles,
    ScalingDecision,
)
from ._work import Input

if TYPE_CHECKING:
    from ._engine import Engine

logger = logging.getLogger("concur_nb")

STARTING, RUNNING, DRAINING = "starting", "running", "draining"
RECENT_INPUTS = 500  # finished inputs kept for the dashboard's input list
LOGGED_INPUTS = 2000  # inputs whose logs are kept for reading and search
LOG_LINES_PER_INPUT = 1000
START_FAILURES_BEFORE_GIVING_UP = 3
SUBMIT_CHUNK = 1024  # inputs queued between two placements while a big call is submitted
_NO_KWARGS: dict[str, Any] = {}  # what a settled input keeps of its keyword arguments


class BatchSpec:
    __slots__ = ("max_batch_size", "wait")

    def __init__(self, max_batch_size: int, wait_ms: float) -> None:
        self.max_batch_size = max_batch_size
        self.wait = wait_ms / 1000.0


class _Slot:
    """The pool's view of one container."""

    __slots__ = ("container", "done", "idle_since", "in_use", "started_at", "status")

    def __init__(self, container: Container) -> None:
        self.container = container
        self.status = STARTING
        self.in_use = 0
        self.idle_since: float | None = None
        self.started_at: float | None = None
        self.done = 0


class Pool:
    def __init__(
        self,
        name: str,
        target: Target,
        settings: Settings,
        backend: Backend,
        engine: Engine,
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
        self._default_max_containers = default_max_containers
        self.clock = clock
        self._now = clock.now  # bound once: read on every input's start and end
        self.events = EventBus()
        self.metrics = Metrics()
        self._engine = engine
        self._batching = batching
        self._async_methods = target.async_methods
        self._lock = threading.RLock()
        self._queue: deque[Input] = deque()
        self._batch_queues: dict[str | None, deque[Input]] = {m: deque() for m in batching}
        self._batch_live: dict[str | None, int] = dict.fromkeys(batching, 0)
        self._queued = 0  # live inputs waiting in the queues
        self._in_flight = 0  # inputs in works that occupy a slot
        self._slots: dict[str, _Slot] = {}
        self._active: dict[str, Input] = {}  # running work id -> its (first) input
        self._timed_out: set[str] = set()
        self._retries: list[tuple[float, int, Input]] = []
        self._seq = itertools.count()
        self._container_numbers = itertools.count(1)
        self._recent: deque[Input] = deque(maxlen=RECENT_INPUTS)
        self._logged: dict[str, Input] = {}
        self._decisions: deque[ScalingDecision] = deque(maxlen=200)
        self._warnings: deque[str] = deque(maxlen=20)
        self._scale_check: float | None = None
        self._batch_check: float | None = None
        self.scheduled_wake = math.inf  # when the engine will tick this pool next
        self._start_failures = 0
        self._closed = False
        self._stopped_event = threading.Condition(self._lock)

    def start(self) -> None:
        """Start what the settings ask for with no demand yet (``min_containers``)."""
        with self._lock:
            self._rebalance(self.clock.now())

    # --- submitting and cancelling ----------------------------------------------------------

    def submit(
        self,
        call: Call,
        method: str | None,
        arg_tuples: Sequence[tuple[Any, ...]],
        kwargs: dict[str, Any],
    ) -> None:
        """Queue one input per tuple of ``arg_tuples`` (each with ``kwargs``) for ``call``,
        and place what fits now."""
        with self._lock:
            if self._closed:
                raise InvalidError(
                    f"{self.name} was shut down; define the function again to use it."
                )
            now = self._now()
            batching = method in self._batching
            queue = self._batch_queues[method] if batching else self._queue
            inputs = call.inputs
            is_async = self._is_async(method)
            if self.metrics.first_submit_at is None:
                self.metrics.first_submit_at = now
            # Out-of-process, in chunks, placing as it goes: worker processes start on a big
            # map's first inputs while the rest are still being queued.
            step = SUBMIT_CHUNK if self.backend.out_of_process else max(len(arg_tuples), 1)
            for offset in range(0, len(arg_tuples), step):
                begin = len(inputs)
                chunk = arg_tuples[offset : offset + step]
                for index, args in enumerate(chunk, begin):
                    inputs.append(Input(call, index, method, args, kwargs, now, is_async))
                queue.extend(itertools.islice(inputs, begin, None))
                if batching:
                    self._batch_live[method] += len(chunk)
                self._queued += len(chunk)
                self.metrics.submitted += len(chunk)
                if self.events.active:
                    for inp in inputs[begin:]:
                        self._emit("input_queued", now, input_id=inp.id)
                self._dispatch(now)
            if self._queued:
                self._scale_up_if_needed(now)

    def cancel(self, inputs: Iterable[Input], reason: str = "cancelled") -> None:
        """Cancel inputs: queued ones are dropped, running ones are interrupted."""
        with self._lock:
            now = self.clock.now()
            to_interrupt: list[tuple[Container, str]] = []
            for inp in inputs:
                if inp.settled:
                    continue
                status = inp.status
                self._settle(
                    inp, _work.CANCELLED, CallCancelledError(f"input {inp.id} was {reason}"), now
                )
                if status == _work.QUEUED:
                    self._queued -= 1
                    if inp.method in self._batching:
                        self._batch_live[inp.method] -= 1
                elif status == _work.RUNNING and inp.work_id is not None:
                    lead = self._active.get(inp.work_id)
                    members = (lead.batch or [lead]) if lead is not None else []
                    if lead is not None and all(m.settled for m in members):
                        slot = self._slots.get(lead.container_id or "")
                        if slot is not None:
                            to_interrupt.append((slot.container, inp.work_id))
            for container, work_id in to_interrupt:
                container.cancel(work_id)

    def cancel_all(self) -> None:
        with self._lock:
            pending = [i for i in self._queued_inputs()]
            pending += [m for lead in self._active.values() for m in (lead.batch or [lead])]
            pending += [inp for _, _, inp in self._retries]
        self.cancel(pending)

    def find_input(self, input_id: str) -> Input | None:
        with self._lock:
            lead = self._active.get(input_id)
            if lead is not None:
                return lead
            for inp in itertools.chain(self._logged.values(), self._recent, self._queued_inputs()):
                if inp.id == input_id:
                    return inp
            for lead in self._active.values():
                for member in lead.batch or ():
                    if member.id == input_id:
                        return member
        return None

    def kill_container_of(self, inputs: Iterable[Input]) -> None:
        """Terminate the containers running ``inputs`` (their other works are rescheduled)."""
        with self._lock:
            ids = {inp.container_id for inp in inputs if inp.status == _work.RUNNING}
            containers = [self._slots[i].container for i in ids if i in self._slots]
        for container in containers:
            container.kill()

    # --- reports from containers (ContainerHost) -------------------------------------------

    def ready(self, container: Container) -> None:
        with self._lock:
            slot = self._slots.get(container.id)
            if slot is None or slot.status != STARTING:
                return
            now = self.clock.now()
            slot.status = RUNNING
            slot.started_at = slot.idle_since = now
            self._start_failures = 0
            self._emit("container_started", now, container_id=container.id)
            self._dispatch(now)
            if slot.in_use == 0:
                self._want_wake(now + self.settings.scaledown_window)

    def failed(self, container: Container, error: BaseException) -> None:
        with self._lock:
            slot = self._slots.pop(container.id, None)
            if slot is None:
                return
            now = self.clock.now()
            was_starting = slot.status == STARTING
            self._reclaim_works_of(container.id, now)
            self._emit("container_stopped", now, container_id=container.id, data=repr(error))
            self._warn(f"container {container.id} failed: {error}")
            if was_starting:
                self._start_failures += 1
                if self._start_failures >= START_FAILURES_BEFORE_GIVING_UP and not any(
                    s.status == RUNNING for s in self._slots.values()
                ):
                    self._fail_queued(error, now)
                    self._start_failures = 0
            self._record(now, "replace", f"container {container.id} failed: {error}", -1)
            self._dispatch(now)
            self._rebalance(now)
            self._stopped_event.notify_all()

    def _reclaim_works_of(self, container_id: str, now: float) -> None:
        """A container is gone: its unfinished inputs go back to the front of the queue."""
        orphans = [lead for lead in self._active.values() if lead.container_id == container_id]
        for lead in orphans:
            del self._active[lead.id]
            self._timed_out.discard(lead.id)
            members = lead.batch or [lead]
            lead.batch = None
            self._in_flight -= len(members)
            for inp in reversed(members):
                if not inp.settled:
                    self._requeue(inp, now, front=True)

    def started(self, container: Container, work_id: str) -> None:
        pass  # placement already recorded the start (and emitted ``input_started``)

    def log(self, work_id: str, stream: str, text: str) -> None:
        lead = self._active.get(work_id)
        if lead is None:
            return
        now = self.clock.now()
        for inp in lead.batch or (lead,):
            if inp.log is None:
                with self._lock:
                    inp.log = InputLog(LOG_LINES_PER_INPUT)
                    self._remember_log(inp)
            lines = inp.log.write(now, stream, text)
            if lines and self.events.active:
                for line in lines:
                    self._emit("input_log", now, input_id=inp.id, data=line)

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        # The hot path: runs once per input, in the container's thread, under the pool lock.
        with self._lock:
            now = self._now()
            lead = self._active.pop(work_id, None)
            if lead is not None:
                self._complete(lead, outcome, now)
            slot = self._slots.get(container.id)
            if slot is None:
                return None
            slot.done += 1
            if slot.status == RUNNING and self._queued and slot.in_use <= self.settings.max_inputs:
                ready = self._pop_ready(now)
                if ready is not None:
                    return self._start(slot, ready, now, freed=True)
            slot.in_use -= 1
            if slot.in_use == 0:
                slot.idle_since = now
                if slot.status == RUNNING:
                    self._want_wake(now + self.settings.scaledown_window)
            return None

    def stopped(self, container: Container) -> None:
        with self._lock:
            slot = self._slots.pop(container.id, None)
            if slot is None:
                return
            now = self.clock.now()
            self._reclaim_works_of(container.id, now)
            self._emit("container_stopped", now, container_id=container.id)
            self._stopped_event.notify_all()
            if not self._closed:
                self._rebalance(now)

    def warning(self, container: Container, message: str) -> None:
        with self._lock:
            self._warn(f"{self.name}: {message}")

    # --- timers (called on the engine's thread) ---------------------------------------------

    def tick(self) -> float | None:
        """Do what is due now; return when the next thing will be due (clock time)."""
        with self._lock:
            if self._closed:  # shut down: nothing left to time (and no stale check to spin on)
                self.scheduled_wake = math.inf
                return None
            now = self.clock.now()
            next_deadline = self._expire_timeouts(now)
            while self._retries and self._retries[0][0] <= now:
                _, _, inp = heapq.heappop(self._retries)
                if inp.status == _work.RETRY_WAIT and not inp.settled:
                    self._requeue(inp, now, front=False)
            self._dispatch(now)
            if self._batch_check is not None and self._batch_check <= now:
                # A batch is due but every slot is busy: the first slot to free takes it
                # (``finished``); waking for it again before then would spin.
                self._batch_check = None
            self._rebalance(now)
            due = min(
                (
                    t
                    for t in (
                        next_deadline,
                        self._retries[0][0] if self._retries else None,
                        self._scale_check,
                        self._batch_check,
                    )
                    if t is not None
                ),
                default=None,
            )
            self.scheduled_wake = due if due is not None else math.inf
            return due

    def _want_wake(self, at: float) -> None:
        if at < self.scheduled_wake:
            self.scheduled_wake = at
            self._engine.poke(self)

    def _expire_timeouts(self, now: float) -> float | None:
        """Interrupt works past their deadline; return the next deadline, if any.

        ``_active`` keeps works in the order they started, so deadlines (start + timeout) are
        in order too: no per-input timer is needed, only a walk from the oldest.
        """
        timeout = self.settings.timeout
        if timeout is None:
            return None
        for work_id, lead in self._active.items():
            started = lead.started_at if lead.started_at is not None else now
            deadline = started + timeout
            if deadline > now:
                return deadline
            if work_id in self._timed_out:
                continue  # interrupted already, not finished yet
            self._timed_out.add(work_id)
            slot = self._slots.get(lead.container_id or "")
            if slot is not None:
                slot.container.cancel(work_id)
        return None

    # --- placement --------------------------------------------------------------------------

    def _dispatch(self, now: float) -> None:
        while self._queued:
            slot = self._free_slot()
            if slot is None:
                return
            ready = self._pop_ready(now)
            if ready is None:
                return
            slot.container.submit(self._start(slot, ready, now, freed=False))

    def _free_slot(self) -> _Slot | None:
        target, cap = self.settings.target, self.settings.max_inputs
        burst: _Slot | None = None
        for slot in self._slots.values():
            if slot.status != RUNNING:
                continue
            if slot.in_use < target:
                return slot
            if slot.in_use < cap and (burst is None or slot.in_use < burst.in_use):
                burst = slot
        return burst

    def _pop_ready(self, now: float) -> Input | list[Input] | None:
        """The next input (or batch, a list) that may start now, taken off its queue."""
        queue = self._queue
        while queue:
            inp = queue.popleft()
            if not inp.settled:
                self._queued -= 1
                return inp
        if not self._batching:
            return None
        self._batch_check = None
        for method, bqueue in self._batch_queues.items():
            while bqueue and bqueue[0].settled:
                bqueue.popleft()
            if not bqueue:
                continue
            spec = self._batching[method]
            due = bqueue[0].queued_at + spec.wait
            if self._batch_live[method] < spec.max_batch_size and now < due:
                self._batch_check = (
                    due if self._batch_check is None else min(due, self._batch_check)
                )
                self._want_wake(due)
                continue
            batch: list[Input] = []
            while bqueue and len(batch) < spec.max_batch_size:
                inp = bqueue.popleft()
                if not inp.settled:
                    batch.append(inp)
            self._batch_live[method] -= len(batch)
            self._queued -= len(batch)
            return batch
        return None

    def _start(self, slot: _Slot, ready: Input | list[Input], now: float, freed: bool) -> Work:
        """Mark ``ready`` running in ``slot``; the work to hand its container.

        ``freed``: the slot's previous work just ended there, so its count does not change.
        """
        if not freed:
            slot.in_use += 1
            slot.idle_since = None
        members: Sequence[Input] = (ready,) if isinstance(ready, Input) else ready
        lead = members[0]
        container_id = slot.container.id
        waits = self.metrics.queue_waits
        for inp in members:
            inp.status = _work.RUNNING
            inp.started_at = now
            inp.container_id = container_id
            inp.work_id = lead.id
            waits.append(now - inp.queued_at)
        self._in_flight += len(members)
        active = self._active
        active[lead.id] = lead
        if len(active) == 1 and self.settings.timeout is not None:
            self._want_wake(now + self.settings.timeout)  # the oldest work's deadline is first
        if self.events.active:
            for inp in members:
                self._emit("input_started", now, input_id=inp.id, container_id=container_id)
        if isinstance(ready, Input):
            lead.batch = None
            return lead
        lead.batch = list(members)  # a batch, even of one: the function takes lists
        return Work(
            lead.id,
            lead.call_id,
            lead.method,
            *_batch_arguments(self.target, lead.method, lead.batch),
            lead.is_async,
        )

    def _is_async(self, method: str | None) -> bool:
        return method in self._async_methods if self.target.is_class else bool(self._async_methods)

    def _queued_inputs(self) -> list[Input]:
        queues = [self._queue, *self._batch_queues.values()]
        return [inp for q in queues for inp in q if not inp.settled]

    def _requeue(self, inp: Input, now: float, *, front: bool) -> None:
        inp.status = _work.QUEUED
        inp.queued_at = now
        inp.work_id = None
        queue = self._batch_queues[inp.method] if inp.method in self._batching else self._queue
        if front:
            queue.appendleft(inp)
        else:
            queue.append(inp)
        if inp.method in self._batching:
            self._batch_live[inp.method] += 1
        self._queued += 1

    # --- outcomes ---------------------------------------------------------------------------

    def _complete(self, lead: Input, outcome: Outcome, now: float) -> None:
        members = lead.batch
        self._in_flight -= 1 if members is None else len(members)
        timed_out = lead.id in self._timed_out
        if timed_out:
            self._timed_out.discard(lead.id)
            timeout = self.settings.timeout
            outcome = Outcome(
                ERROR,
                FunctionTimeoutError(
                    f"{self.name} input {lead.id} ran longer than timeout={timeout:g}s "
                    f"(attempt {lead.attempt}); raise `timeout=` or make the input faster."
                ),
            )
        if members is None:
            self._complete_one(lead, outcome, timed_out, now)
            return
        for inp, result in zip(members, _split_batch(self.name, members, outcome)):
            self._complete_one(inp, result, timed_out, now)
        lead.batch = None

    def _complete_one(self, inp: Input, result: Outcome, timed_out: bool, now: float) -> None:
        if inp.started_at is not None:
            self.metrics.run_times.append(now - inp.started_at)
        if inp.log is not None:
            inp.log.flush(now)
        if inp.settled:
            inp.finished_at = now
        elif result.kind == OK:
            self._settle(inp, _work.SUCCEEDED, result.value, now)
        elif result.kind == CANCELLED:
            self._settle(
                inp, _work.CANCELLED, CallCancelledError(f"input {inp.id} was cancelled"), now
            )
        elif self._should_retry(inp):
            inp.finished_at = now  # this attempt's end
            self._schedule_retry(inp, now)
        else:
            status = _work.TIMED_OUT if timed_out else _work.FAILED
            self._settle(inp, status, result.value, now)

    def _should_retry(self, inp: Input) -> bool:
        retries = self.settings.retries
        return retries is not None and inp.attempt <= retries.max_retries and not self._closed

    def _schedule_retry(self, inp: Input, now: float) -> None:
        retries = self.settings.retries
        assert retries is not None
        due = now + retries.delay(inp.attempt)
        inp.attempt += 1
        inp.status = _work.RETRY_WAIT
        heapq.heappush(self._retries, (due, next(self._seq), inp))
        self._want_wake(due)

    def _settle(self, inp: Input, status: str, value: Any, now: float) -> None:
        """Give ``inp`` its final status and its caller the outcome (``value``)."""
        inp.status = status
        inp.settled = True
        inp.finished_at = now
        metrics = self.metrics
        ok = status == _work.SUCCEEDED
        if ok:
            metrics.succeeded += 1
        elif status == _work.CANCELLED:
            metrics.cancelled += 1
        else:
            metrics.failed += 1
            inp.error = f"{type(value).__name__}: {value}"
        inp.args = ()  # the arguments may be large; the input is kept a while for the dashboard
        inp.kwargs = _NO_KWARGS
        self._recent.append(inp)
        call, inp.call = inp.call, None
        if call is not None:
            call.settle(inp.index, ok, value)
        if self.events.active:
            self._emit(
                "input_finished", now, input_id=inp.id, container_id=inp.container_id, data=status
            )

    def _fail_queued(self, error: BaseException, now: float) -> None:
        for inp in self._queued_inputs():
            self._settle(inp, _work.FAILED, error, now)
        self._queue.clear()
        for method, q in self._batch_queues.items():
            q.clear()
            self._batch_live[method] = 0
        self._queued = 0

    # --- autoscaling ------------------------------------------------------------------------

    def _active_count(self) -> int:
        return sum(1 for s in self._slots.values() if s.status != DRAINING)

    def _effective_settings(self) -> Settings:
        s = self.settings
        if s.max_containers is None and self._default_max_containers is not None:
            return dataclasses.replace(
                s, max_containers=max(self._default_max_containers, s.min_containers)
            )
        return s

    def _scale_up_if_needed(self, now: float) -> None:
        active = self._active_count()
        if self._in_flight + self._queued > self.settings.target * active:
            self._rebalance(now)

    def _rebalance(self, now: float) -> None:
        if self._closed:
            return
        loads = [
            ContainerLoad(cid, s.status, s.in_use, s.idle_since) for cid, s in self._slots.items()
        ]
        demand = self._in_flight + self._queued
        decision = decide(loads, demand, self._effective_settings(), now)
        self._scale_check = decision.next_check
        if decision.next_check is not None:
            self._want_wake(decision.next_check)
        self._apply(decision, now)

    def _apply(self, decision: Decision, now: float) -> None:
        if decision.start:
            room = self.backend.max_containers()
            count = decision.start
            if room is not None:
                count = min(count, room - len(self._slots))
            for _ in range(max(count, 0)):
                self._start_container()
            if count > 0:
                self._record(now, "scale_up", decision.reason, count)
        if decision.retire:
            for cid in decision.retire:
                slot = self._slots[cid]
                slot.status = DRAINING
                slot.container.stop(graceful=True)
            self._record(now, "scale_down", decision.reason, -len(decision.retire))

    def _start_container(self) -> None:
        cid = f"{self.name}-c{next(self._container_numbers)}"
        container = self.backend.create(cid, self.target, self.settings.max_inputs, self)
        self._slots[cid] = _Slot(container)
        container.start()

    def _record(self, now: float, action: str, reason: str, delta: int) -> None:
        after = self._active_count()
        decision = ScalingDecision(now, action, after - delta, after, reason)
        self._decisions.append(decision)
        if self.events.active:
            self._emit("scaling", now, data=decision)

    # --- live reconfiguration ----------------------------------------------------------------

    def update(self, **changes: Any) -> Settings:
        with self._lock:
            new = self.settings.replaced(**changes)
            old_max = self.settings.max_inputs
            self.settings = new
            if new.max_inputs != old_max:
                for slot in self._slots.values():
                    slot.container.set_capacity(new.max_inputs)
            now = self.clock.now()
            self._dispatch(now)
            self._rebalance(now)
            return new

    # --- reading state ----------------------------------------------------------------------

    def snapshot(self) -> FunctionSnapshot:
        with self._lock:
            now = self.clock.now()
            s = self._effective_settings()
            containers = tuple(
                ContainerSnapshot(
                    id=cid,
                    kind=slot.container.kind,
                    status=slot.status,
                    in_use=slot.in_use,
                    target_inputs=s.target,
                    max_inputs=s.max_inputs,
                    host=slot.container.host_name,
                    gpus=tuple(slot.container.gpus),
                    started_at=slot.started_at,
                    inputs_done=slot.done,
                    info=slot.container.info(),
                )
                for cid, slot in self._slots.items()
            )
            m = self.metrics
            queue_waits, run_times = list(m.queue_waits), list(m.run_times)
            counts = (
                self._queued,
                self._in_flight,
                m.submitted,
                m.succeeded,
                m.failed,
                m.cancelled,
            )
            throughput = m.throughput(now)
            decisions, warnings = tuple(self._decisions), tuple(self._warnings)
        # Sorting the samples happens outside the lock, so readers never stall the workload.
        queued, in_flight, submitted, succeeded, failed, cancelled = counts
        return FunctionSnapshot(
            name=self.name,
            backend=self.backend_label,
            taken_at=now,
            max_inputs=s.max_inputs,
            target_inputs=s.target,
            min_containers=s.min_containers,
            max_containers=s.max_containers,
            buffer_containers=s.buffer_containers,
            scaledown_window=s.scaledown_window,
            containers=containers,
            queued=queued,
            in_flight=in_flight,
            submitted=submitted,
            succeeded=succeeded,
            failed=failed,
            cancelled=cancelled,
            throughput=throughput,
            queue_wait=Percentiles.of(queue_waits),
            run_time=Percentiles.of(run_times),
            decisions=decisions,
            warnings=warnings,
        )

    def inputs(self, limit: int = 200) -> list[InputInfo]:
        with self._lock:
            running = [m for lead in self._active.values() for m in (lead.batch or [lead])]
            running += [inp for _, _, inp in self._retries if inp.status == _work.RETRY_WAIT]
            chosen = running[:limit]
            chosen += list(itertools.islice(reversed(self._recent), max(0, limit - len(chosen))))
            if len(chosen) < limit:
                chosen += self._queued_inputs()[: limit - len(chosen)]
            return [self._info(inp) for inp in chosen]

    def logs(self, input_id: str) -> list[LogLine]:
        inp = self.find_input(input_id)
        if inp is None or inp.log is None:
            return []
        return list(inp.log.lines)

    def search_logs(self, text: str, limit: int = 100) -> list[tuple[str, LogLine]]:
        with self._lock:
            logged = list(self._logged.values())
        found: list[tuple[str, LogLine]] = []
        needle = text.lower()
        for inp in logged:
            if inp.log is None:
                continue
            for line in list(inp.log.lines):
                if needle in line.text.lower():
                    found.append((inp.id, line))
                    if len(found) >= limit:
                        return found
        return found

    def _info(self, inp: Input) -> InputInfo:
        return InputInfo(
            id=inp.id,
            call_id=inp.call_id,
            function=self.name if inp.method is None else f"{self.name}.{inp.method}",
            status=inp.status,
            container_id=inp.container_id,
            queued_at=inp.queued_at,
            started_at=inp.started_at,
            finished_at=inp.finished_at,
            attempts=inp.attempt,
            error=inp.error,
            log_lines=len(inp.log.lines) if inp.log is not None else 0,
        )

    def _remember_log(self, inp: Input) -> None:
        self._logged[inp.id] = inp
        if len(self._logged) > LOGGED_INPUTS:
            del self._logged[next(iter(self._logged))]

    def _emit(self, kind: str, at: float, **fields: Any) -> None:
        if self.events.active:
            self.events.emit(Event(kind, self.name, at, **fields))

    def _warn(self, message: str) -> None:
        if message in self._warnings:
            return
        self._warnings.append(message)
        # In a notebook a print from this thread lands in whichever cell runs; the dashboard
        # shows warnings instead.
        if "ipykernel" not in sys.modules:
            logger.warning(message)
        self._emit("warning", self.clock.now(), data=message)

    # --- shutdown ---------------------------------------------------------------------------

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything, retire every container and wait (bounded) until they are gone."""
        self.cancel_all()
        with self._lock:
            self._closed = True
            for slot in list(self._slots.values()):
                if slot.status != DRAINING:
                    slot.status = DRAINING
                    slot.container.stop(graceful=False)
            self._stopped_event.wait_for(lambda: not self._slots, timeout=timeout)

    @property
    def closed(self) -> bool:
        return self._closed


def _batch_arguments(
    target: Target, method: str | None, inputs: list[Input]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Turn single inputs into one call whose every parameter is a list (one item per input)."""
    fn = target.obj if method is None else getattr(target.obj, method)
    params = [p for p in inspect.signature(fn).parameters.values()][1 if method else 0 :]
    columns: list[list[Any]] = [[] for _ in params]
    for inp in inputs:
        bound = inspect.Signature(params).bind(*inp.args, **inp.kwargs)
        for column, param in zip(columns, params):
            column.append(bound.arguments[param.name])
    return tuple(columns), {}


def _split_batch(name: str, members: list[Input], outcome: Outcome) -> list[Outcome]:
    if outcome.kind != OK:
        return [outcome] * len(members)
    values = outcome.value
    if not isinstance(values, list) or len(values) != len(members):
        got = f"a list of {len(values)}" if isinstance(values, list) else type(values).__name__
        error = InvalidError(
            f"batched function {name} got a batch of {len(members)} inputs and returned {got}; "
            "a batched function must return a list with one output per input, in order."
        )
        return [Outcome(ERROR, error)] * len(members)
    return [Outcome(OK, v) for v in values]
