"""The engine's thread sleeps when nothing is due: it never spins on a check it cannot act on.

These use the real clock (a mock clock never re-arms the engine's timers, so it cannot show a
spin) and count the engine's ticks: a spinning engine ticks tens of thousands of times a second,
an idle one not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import concur_nb
from concur_nb._pool import Pool


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    count = [0]
    tick = Pool.tick

    def counting(pool: Pool) -> float | None:
        count[0] += 1
        return tick(pool)

    monkeypatch.setattr(Pool, "tick", counting)
    yield count


def ticks_during(ticks: list[int], seconds: float) -> int:
    before = ticks[0]
    time.sleep(seconds)
    return ticks[0] - before


def test_a_function_shut_down_with_a_scale_down_pending_leaves_the_engine_idle(
    ticks: list[int],
) -> None:
    @concur_nb.function(scaledown_window=0.2)
    @concur_nb.concurrent(max_inputs=2)
    def idle_soon(x: int) -> int:
        return x

    assert list(idle_soon.map(range(4))) == [0, 1, 2, 3]
    time.sleep(0.05)  # the engine has planned the idle container's scale-down check
    idle_soon.shutdown()  # with that check still ahead
    time.sleep(0.3)  # past that check
    assert ticks_during(ticks, 0.3) == 0


def test_a_due_batch_waiting_for_a_busy_slot_does_not_keep_the_engine_busy(
    ticks: list[int],
) -> None:
    release = threading.Event()

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=1)
    @concur_nb.batched(max_batch_size=8, wait_ms=10)
    def lengths(words: list[str]) -> list[int]:
        release.wait(10)
        return [len(w) for w in words]

    first = lengths.spawn("a")  # its batch takes the only slot and holds it
    time.sleep(0.05)
    waiting = [lengths.spawn(w) for w in ("bb", "ccc")]  # a batch, due after 10 ms
    time.sleep(0.05)
    assert ticks_during(ticks, 0.3) < 10
    release.set()
    assert first.get(timeout=10) == 1
    assert [call.get(timeout=10) for call in waiting] == [2, 3]
    assert lengths.snapshot().succeeded == 3
