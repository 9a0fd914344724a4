"""The loop-lag watch does not blame an input for the time the cyclic GC held the GIL.

A full collection stalls every loop, whichever allocation set it off; with 10,000 inputs in
flight on uvloop one took up to 0.17 s here, close to the 0.2 s warning threshold. The
watch's verdict is played here on a timeline of looks (time, GC total, beats, current task).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from concur_nb._containers import aio
from concur_nb._containers.aio import LoopSlots


@pytest.fixture
def watched() -> Iterator[tuple[LoopSlots, list[str]]]:
    warnings: list[str] = []
    slots = LoopSlots(
        "c-1-loop",
        resolve=lambda work: print,
        plain_fn=None,
        log_host=None,  # type: ignore[arg-type]
        finished=lambda work, outcome, on_loop: None,
        warn=warnings.append,
    )
    yield slots, warnings
    slots.stop()  # never started: closes its loop


def play(slots: LoopSlots, looks: list[tuple[float, float]], *, task: object) -> None:
    """Looks every 0.05 s at a loop stuck in ``task``, then one after it turned again."""
    for now, gc_spent in looks:
        slots.judge(now, gc_spent, beats=7, task=task, engine_step=False)
    end, gc_end = looks[-1]
    slots.judge(end + 0.05, gc_end, beats=8, task=task, engine_step=False)


def test_a_stall_that_was_all_garbage_collection_is_not_blamed_on_the_input(
    watched: tuple[LoopSlots, list[str]],
) -> None:
    slots, warnings = watched
    # 0.5 s without a turn, 0.45 s of it in a collection.
    play(slots, [(10 + i * 0.05, min(i * 0.05, 0.45)) for i in range(11)], task="input-task")
    assert warnings == []


def test_a_stall_beyond_the_collection_is_still_blamed_for_its_own_part(
    watched: tuple[LoopSlots, list[str]],
) -> None:
    slots, warnings = watched
    # 0.5 s without a turn, 0.1 s of it in a collection: 0.4 s was the input's.
    play(slots, [(10 + i * 0.05, min(i * 0.05, 0.1)) for i in range(11)], task="input-task")
    (warning,) = warnings
    assert "blocked the event loop of c-1-loop for 0.40s" in warning


def test_an_input_still_blocking_counts_only_its_own_time(
    watched: tuple[LoopSlots, list[str]],
) -> None:
    slots, warnings = watched
    for i in range(48):  # 2.35 s so far, 0.5 s of it in collections: not yet 2 s of its own
        slots.judge(10 + i * 0.05, min(i * 0.05, 0.5), beats=7, task="t", engine_step=False)
    assert warnings == []
    for i in range(48, 56):  # 2.75 s so far, 0.5 s of it in collections
        slots.judge(10 + i * 0.05, 0.5, beats=7, task="t", engine_step=False)
    (warning,) = warnings
    assert "for 2.0s so far" in warning


def test_the_watch_counts_the_time_of_real_collections() -> None:
    aio.count_gc_time()
    before = aio.gc_time.total
    garbage = [[] for _ in range(200_000)]
    for item in garbage:
        item.append(item)  # cycles: the collection has to traverse them
    del garbage
    gc.collect()
    assert aio.gc_time.total > before
