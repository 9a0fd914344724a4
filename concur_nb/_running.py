"""The attempts running in a pool's containers, and the counts of their inputs.

``in_flight`` counts the unsettled inputs of running attempts. An input settled while its
attempt still runs (cancelled, or timed out while stuck in C code) is *cancelling* until the
container reports the attempt's end: its slot stays taken until then. An attempt none of whose
inputs waits for it any more is *winding down*: out of the timeout walk, still in a slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._errors import ContainerError
from ._errors_text import describe
from ._inputs import RUNNING, Attempt, Input, work_id_for

CONTAINER_DEATHS_ALLOWED = 3  # an input that saw more containers die under it fails


class RunningAttempts:
    def __init__(self) -> None:
        self.active: dict[str, Attempt] = {}  # in the order they started (for timeouts)
        self.winding_down: dict[str, Attempt] = {}
        self.in_flight = 0
        self.cancelling = 0

    def batch_attempt(
        self,
        batch: list[Input],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        container_id: str,
        now: float,
    ) -> Attempt:
        """A batch starts in a container: one attempt runs all its inputs."""
        lead = batch[0]
        attempt = Attempt(work_id_for(lead), lead, args, kwargs, tuple(batch), container_id, now)
        for inp in batch:
            inp.status = RUNNING
            inp.started_at = now
            inp.container_id = container_id
            inp.running = attempt
        self.in_flight += len(batch)
        return attempt

    def retry_attempt(self, inp: Input, container_id: str, now: float) -> Attempt:
        """A later attempt of ``inp`` starts (its first is the input itself)."""
        if self.winding_down.get(inp.id) is inp:  # its first run still ends where it ran
            self.winding_down[inp.id] = inp.frozen_run()
        return Attempt(work_id_for(inp), inp, inp.args, inp.kwargs, None, container_id, now)

    def settle_running(self, inp: Input) -> Attempt | None:
        """``inp`` is being settled while its attempt runs: it is cancelling from now on.
        Returns the attempt when none of its inputs waits for it any more (interrupt it)."""
        attempt = inp.running
        assert attempt is not None
        self.in_flight -= 1
        self.cancelling_until_it_ends(inp)
        if attempt.id in self.active and all(m.settled or m is inp for m in attempt.inputs):
            self.wind_down(attempt)
            return attempt
        return None

    def wind_down(self, attempt: Attempt) -> None:
        del self.active[attempt.id]
        self.winding_down[attempt.id] = attempt

    def timed_out(self, attempt: Attempt) -> list[Input]:
        """``attempt`` ran past its timeout: it winds down. Its inputs that still waited for
        it, no longer in flight: each is retried (``detach``) or settled (``cancelling``)."""
        self.wind_down(attempt)
        waiting = [m for m in attempt.inputs if m.running is attempt and not m.settled]
        self.in_flight -= len(waiting)
        return waiting

    def cancelling_until_it_ends(self, inp: Input) -> None:
        """``inp`` is settled while its attempt still runs; it stays counted until it ends."""
        self.cancelling += 1
        inp.cancelling = True

    def end_cancelling(self, inp: Input) -> None:
        if inp.cancelling:
            inp.cancelling = False
            self.cancelling -= 1

    def wound_down(self, work_id: str) -> None:
        """A winding-down attempt ended in its container (or was never there)."""
        attempt = self.winding_down.pop(work_id, None)
        if attempt is None:
            return
        for inp in attempt.inputs:
            if inp.running is attempt:
                inp.running = None
                self.end_cancelling(inp)

    def take_container(self, container_id: str) -> list[Input]:
        """Forget every attempt of a container that is gone; its inputs that still wait for
        an outcome (first input first), detached and no longer counted in flight."""
        orphans: list[Input] = []
        for table in (self.active, self.winding_down):
            for attempt in [a for a in table.values() if a.container_id == container_id]:
                del table[attempt.id]
                for inp in attempt.inputs:
                    if inp.running is not attempt:
                        continue
                    inp.running = None
                    if inp.settled:
                        self.end_cancelling(inp)
                    else:
                        self.in_flight -= 1
                        orphans.append(inp)
        return orphans

    def find(self, input_id: str) -> Input | None:
        attempt = self.active.get(input_id)
        if attempt is not None:
            return attempt.lead
        return next((m for m in self.inputs() if m.id == input_id), None)

    def inputs(self) -> Iterator[Input]:
        """The inputs of active attempts (settled ones of a batch included)."""
        return (m for a in self.active.values() for m in a.inputs)

    def left_behind(self) -> int:
        """Runs still in a slot whose inputs went on to another attempt (timed out in C code,
        then retried): no input counts them, yet each holds a slot, so the autoscaler must."""
        if not self.winding_down:
            return 0
        return sum(1 for a in self.winding_down.values() if not any(m.cancelling for m in a.inputs))

    def all_attempts(self) -> list[Attempt]:
        return [*self.active.values(), *self.winding_down.values()]

    def winding_down_per_container(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for attempt in self.winding_down.values():
            where = attempt.container_id or ""  # (always set on a started attempt)
            counts[where] = counts.get(where, 0) + 1
        return counts


def count_death(inp: Input) -> bool:
    """``inp`` was running in a container that died; True once that is past the bound."""
    inp.container_deaths += 1
    return inp.container_deaths > CONTAINER_DEATHS_ALLOWED


def deaths_error(function: str, inp: Input, last: BaseException) -> ContainerError:
    return ContainerError(
        f"{function} input {inp.id} failed: {inp.container_deaths} containers died while it "
        f"ran (the last: {describe(last)}); past {CONTAINER_DEATHS_ALLOWED} the input is taken "
        "for the cause and not run again. Look for what ends the process (os._exit, a crash "
        "in C code, running out of memory)."
    )
