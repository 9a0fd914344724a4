"""An exception whose ``__str__``/``__repr__`` raise, or that cannot be pickled either, still
ends its input: it reaches the caller, and the container goes on serving.

Thread and asyncio containers run in-process; the process container runs a real worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from recording_host import RecordingHost, make_work

import concur_nb
from concur_nb._containers.base import ERROR, OK, Container, Outcome, Target, Work
from concur_nb._containers.local import LocalContainer
from concur_nb._containers.process import ProcessBackend
from concur_nb._containers.process_container import ProcessContainer
from concur_nb._errors import ContainerError, RemoteError
from concur_nb._errors_text import describe, safe_repr

# --- exceptions that break the usual ways of showing them ----------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ is broken")


class Unsendable(Unprintable):
    """Cannot be shown, nor pickled to travel back from a worker."""

    def __reduce__(self) -> str | tuple[object, ...]:
        raise Unprintable()


class StrOnlyBroken(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


def raise_unprintable(x: int) -> int:
    if x:
        raise Unprintable(x)
    return x


def raise_unsendable(x: int) -> int:
    if x:
        raise Unsendable(x)
    return x


class UnsendableResult:
    def __reduce__(self) -> str | tuple[object, ...]:
        raise Unprintable()


def return_unsendable(x: int) -> object:
    return UnsendableResult() if x else x


async def araise_unprintable(x: int) -> int:
    await asyncio.sleep(0)
    if x:
        raise Unprintable(x)
    return x


def test_describe_never_raises_and_says_what_it_can() -> None:
    assert describe(ValueError("bad value")) == "ValueError: bad value"
    assert describe(KeyError()) == "KeyError"
    assert describe(Unprintable(1)) == "Unprintable: <str() and repr() of the exception failed>"
    assert describe(StrOnlyBroken(1)) == (
        "StrOnlyBroken: <str() of the exception failed; repr: StrOnlyBroken(1)>"
    )
    assert describe(ValueError("x" * 50_000)).endswith("... (40000 more characters)")
    assert safe_repr(Unprintable()) == "<Unprintable object (repr() failed)>"


# --- the host's own bookkeeping raising must not lose the input or the thread -------------


class HostThatChokes(RecordingHost):
    """Formats every error it records, as a pool does, and so raises on an unprintable one."""

    def finished(self, container: Container, work_id: str, outcome: Outcome) -> Work | None:
        if outcome.kind == ERROR:
            self.error_line = f"{type(outcome.value).__name__}: {outcome.value}"
        return super().finished(container, work_id, outcome)


@pytest.mark.parametrize("fn", [raise_unprintable, araise_unprintable])
def test_a_host_that_fails_to_record_an_outcome_gets_the_input_failed_instead(
    fn: object,
) -> None:
    host = HostThatChokes()
    container = LocalContainer("c-choke", Target("fn", fn, False), 2, host)
    container.start()
    host.wait_ready()
    bad, good = make_work(1, is_async=container.kind == "asyncio"), make_work(0)
    good.is_async = bad.is_async
    container.submit(bad)
    outcome = host.result(bad, timeout=5)
    assert outcome.kind == ERROR and isinstance(outcome.value, ContainerError)
    assert "could not be reported: RuntimeError: __str__ is broken" in str(outcome.value)
    container.submit(good)
    assert host.result(good, timeout=5) == Outcome(OK, 0)  # the slot serves on
    container.stop(graceful=True)
    host.wait_for(lambda: bool(host.stopped_containers), timeout=3)  # nothing left counted


# --- across the process boundary ----------------------------------------------------------


@pytest.fixture
def worker() -> Iterator[list[ProcessContainer]]:
    started: list[ProcessContainer] = []
    yield started
    for container in started:
        container.kill()


def start_worker(fn: object, started: list[ProcessContainer]) -> tuple[Container, RecordingHost]:
    host = RecordingHost()
    container = ProcessBackend().create("c-broken", Target("fn", fn, False), 2, host)
    started.append(container)
    container.start()
    host.wait_ready()
    return container, host


def test_an_exception_that_can_neither_print_nor_pickle_comes_back_as_a_remote_error(
    worker: list[ProcessContainer],
) -> None:
    container, host = start_worker(raise_unsendable, worker)
    bad, good = make_work(1), make_work(0)
    container.submit(bad)
    error = host.result(bad, timeout=10).value
    assert isinstance(error, RemoteError)
    assert str(error).startswith("Unsendable: <str() and repr() of the exception failed>")
    assert "raise Unsendable(x)" in error.remote_traceback
    container.submit(good)
    assert host.result(good, timeout=10) == Outcome(OK, 0)


def test_an_unprintable_exception_that_pickles_keeps_its_type_across_the_boundary(
    worker: list[ProcessContainer],
) -> None:
    container, host = start_worker(raise_unprintable, worker)
    bad, good = make_work(1), make_work(0)
    container.submit(bad)
    error = host.result(bad, timeout=10).value
    assert type(error) is Unprintable and error.args == (1,)
    container.submit(good)
    assert host.result(good, timeout=10) == Outcome(OK, 0)


def test_a_result_whose_pickling_raises_an_unprintable_error_fails_that_input_only(
    worker: list[ProcessContainer],
) -> None:
    container, host = start_worker(return_unsendable, worker)
    bad, good = make_work(1), make_work(0)
    container.submit(bad)
    error = host.result(bad, timeout=10).value
    assert isinstance(error, RemoteError)
    assert "the result (UnsendableResult) could not be pickled" in str(error)
    assert "<Unprintable object (repr() failed)>" in str(error)
    container.submit(good)
    assert host.result(good, timeout=10) == Outcome(OK, 0)


# --- end to end, through the pool ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "backend"),
    [(raise_unprintable, None), (araise_unprintable, None), (raise_unprintable, "process")],
)
def test_an_unprintable_exception_reaches_the_caller_and_the_next_input_runs(
    fn: object, backend: str | None
) -> None:
    f = concur_nb.function(backend=backend)(concur_nb.concurrent(max_inputs=1)(fn))
    call = f.spawn(1)
    with pytest.raises(Unprintable):
        call.get(timeout=3)
    assert f.remote(0) == 0
