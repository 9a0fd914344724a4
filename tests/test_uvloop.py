"""Async containers run on uvloop when it is installed, unless turned off; a clear error when
it is asked for and missing. The rest of the engine's async behaviour on uvloop is checked by
scripts/test.sh's second pass (the async test files with ``CONCUR_NB_UVLOOP=1``)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import concur_nb
from concur_nb._containers import loop_choice
from concur_nb._containers.loop_choice import is_uvloop
from tests.conftest import require, wait_until


@pytest.fixture(autouse=True)
def _default_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the default (no env var, no set_uvloop) and leaves it so."""
    monkeypatch.delenv(loop_choice.ENV, raising=False)
    concur_nb.set_uvloop(None)
    yield
    concur_nb.set_uvloop(None)


@pytest.fixture
def no_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where uvloop is not installed."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail


async def loop_kind() -> str:
    return "uvloop" if is_uvloop(asyncio.get_running_loop()) else "asyncio"


def which_loop() -> str:
    return concur_nb.concurrent(max_inputs=2)(loop_kind).remote()  # type: ignore[no-any-return]


def require_uvloop() -> None:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        require(False, "uvloop (pip install 'concur-nb[fast]')")


def test_async_inputs_run_on_uvloop_when_it_is_installed() -> None:
    require_uvloop()
    assert which_loop() == "uvloop"


def test_set_uvloop_false_runs_new_containers_on_the_stdlib_loop() -> None:
    require_uvloop()
    concur_nb.set_uvloop(False)
    assert which_loop() == "asyncio"
    concur_nb.set_uvloop(None)
    assert which_loop() == "uvloop"


@pytest.mark.parametrize(("value", "kind"), [("0", "asyncio"), ("1", "uvloop")])
def test_the_environment_variable_turns_uvloop_off_or_on(
    monkeypatch: pytest.MonkeyPatch, value: str, kind: str
) -> None:
    require_uvloop()
    monkeypatch.setenv("CONCUR_NB_UVLOOP", value)
    assert which_loop() == kind


def test_set_uvloop_wins_over_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    require_uvloop()
    monkeypatch.setenv("CONCUR_NB_UVLOOP", "1")
    concur_nb.set_uvloop(False)
    assert which_loop() == "asyncio"


def test_without_uvloop_the_default_is_the_stdlib_loop(no_uvloop: None) -> None:
    assert which_loop() == "asyncio"


def test_set_uvloop_true_without_uvloop_says_how_to_install_it(no_uvloop: None) -> None:
    with pytest.raises(concur_nb.InvalidError, match=r"not installed.*concur-nb\[fast\]"):
        concur_nb.set_uvloop(True)


def test_forcing_uvloop_by_environment_without_it_fails_the_call_clearly(
    monkeypatch: pytest.MonkeyPatch, no_uvloop: None
) -> None:
    monkeypatch.setenv("CONCUR_NB_UVLOOP", "1")
    with pytest.raises(concur_nb.ContainerError, match=r"CONCUR_NB_UVLOOP=1 .*not installed"):
        which_loop()


def test_a_bad_environment_value_names_the_variable_and_the_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONCUR_NB_UVLOOP", "yes")
    with pytest.raises(concur_nb.ContainerError, match=r"CONCUR_NB_UVLOOP='yes'.*1 .*0 "):
        which_loop()


@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_set_uvloop_takes_true_false_or_none(bad: object) -> None:
    with pytest.raises(concur_nb.InvalidError, match=r"set_uvloop\(enabled="):
        concur_nb.set_uvloop(bad)  # type: ignore[arg-type]


def test_a_blocking_input_on_uvloop_is_warned_about() -> None:
    require_uvloop()

    @concur_nb.concurrent(max_inputs=2)
    async def blocks(seconds: float) -> str:
        time.sleep(seconds)
        return await loop_kind()

    assert blocks.remote(0.3) == "uvloop"
    wait_until(lambda: blocks.snapshot().warnings, timeout=5, what="loop-lag warning")
    assert "an async input blocked the event loop" in blocks.snapshot().warnings[0]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tasks count cancels from 3.11")
def test_a_cancelled_input_leaves_its_reused_task_clean_on_uvloop() -> None:
    """The slot's task runs the next input after a cancel; that input must not see the
    earlier input's cancel (``_uncancel``): ``asyncio.timeout`` and ``TaskGroup`` count them,
    and from 3.12 a group in a task already cancelling no longer cancels its own body."""
    require_uvloop()
    started = threading.Event()

    async def boom() -> None:
        raise ValueError("boom")

    @concur_nb.concurrent(max_inputs=1)
    async def nap(seconds: float) -> tuple[int, str]:
        started.set()
        cancelling = asyncio.current_task().cancelling()  # type: ignore[union-attr]
        await asyncio.sleep(seconds)
        try:
            async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined,unused-ignore]
                group.create_task(boom())
                await asyncio.sleep(5)  # cancelled by the group when boom fails
        except BaseException as exc:
            return cancelling, f"{type(exc).__name__} on {await loop_kind()}"
        return cancelling, "no error"

    long = nap.spawn(30)
    assert started.wait(10)
    began = time.monotonic()
    queued = nap.spawn(0)  # waits for the one slot; its task takes this input next
    long.cancel()
    assert queued.get(timeout=10) == (0, "ExceptionGroup on uvloop")
    assert time.monotonic() - began < 2.5


def test_process_workers_follow_the_choice_made_here() -> None:
    require_uvloop()
    concur_nb.set_uvloop(False)  # no environment variable: the worker only learns it by message
    far = concur_nb.function(backend="process")(concur_nb.concurrent(max_inputs=2)(loop_kind))
    try:
        assert far.remote() == "asyncio"
    finally:
        concur_nb.shutdown()
    concur_nb.set_uvloop(None)
    far = concur_nb.function(backend="process")(concur_nb.concurrent(max_inputs=2)(loop_kind))
    try:
        assert far.remote() == "uvloop"
    finally:
        concur_nb.shutdown()


def test_async_enter_and_exit_hooks_run_on_the_containers_uvloop() -> None:
    """Hooks run on the container's loop from another thread (run_coroutine_threadsafe)."""
    require_uvloop()
    events: list[str] = []

    @concur_nb.concurrent(max_inputs=2)
    class Client:
        @concur_nb.enter()
        async def connect(self) -> None:
            self.loop_at_enter = await loop_kind()
            events.append("enter")

        @concur_nb.method()
        async def ask(self) -> str:
            return f"{self.loop_at_enter} then {await loop_kind()}"

        @concur_nb.exit()
        async def close(self) -> None:
            events.append(f"exit on {await loop_kind()}")

    assert Client().ask.remote() == "uvloop then uvloop"
    Client.shutdown()
    assert events == ["enter", "exit on uvloop"]
