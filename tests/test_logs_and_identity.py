"""Per-input logs and identity: captured automatically, with no id in the message."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import concur_nb
from concur_nb import _ledger
from tests.conftest import wait_until


def test_each_of_100_concurrent_sync_inputs_logs_only_its_own_lines() -> None:
    @concur_nb.concurrent(max_inputs=100)
    def chatty(n: int) -> str | None:
        for step in range(3):
            print(f"input {n} step {step}")
            time.sleep(0.001)
        return concur_nb.current_input_id()

    call = chatty.spawn_map(range(100))
    ids = call.get(timeout=30)
    for n, input_id in enumerate(ids):
        assert [line.text for line in chatty.logs(input_id)] == [
            f"input {n} step {s}" for s in range(3)
        ]


def test_each_of_100_concurrent_async_inputs_logs_only_its_own_lines() -> None:
    @concur_nb.concurrent(max_inputs=100)
    async def chatty(n: int) -> str | None:
        for step in range(3):
            print(f"task {n} step {step}")
            await asyncio.sleep(0.001)
        return concur_nb.current_input_id()

    ids = list(chatty.map(range(100)))
    assert len(set(ids)) == 100
    for n, input_id in enumerate(ids):
        assert [line.text for line in chatty.logs(input_id)] == [
            f"task {n} step {s}" for s in range(3)
        ]


def test_stderr_writes_and_logging_records_are_captured_with_the_input_id() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("test_capture")
    log.setLevel(logging.INFO)
    keep = Keep()
    log.addHandler(keep)

    @concur_nb.concurrent(max_inputs=4)
    def work(x: int) -> str | None:
        sys.stderr.write(f"warning about {x}\n")
        log.info("processing %d", x)
        return concur_nb.current_input_id()

    try:
        input_id = work.remote(7)
    finally:
        log.removeHandler(keep)
    lines = work.logs(input_id)
    assert [(line.stream, line.text) for line in lines] == [
        ("stderr", "warning about 7"),
        ("log", "INFO test_capture: processing 7"),
    ]
    assert [r.input_id for r in records] == [input_id]  # type: ignore[attr-defined]


def test_output_outside_inputs_is_not_captured(capsys: object) -> None:
    @concur_nb.concurrent(max_inputs=2)
    def quiet() -> str | None:
        return concur_nb.current_input_id()

    input_id = quiet.remote()
    print("from the caller")
    assert quiet.logs(input_id) == []
    assert concur_nb.current_input_id() is None
    assert concur_nb.current_function_call_id() is None


def test_call_id_is_shared_by_the_inputs_of_one_map() -> None:
    @concur_nb.concurrent(max_inputs=4)
    async def ids(_: int) -> tuple[str | None, str | None]:
        return concur_nb.current_input_id(), concur_nb.current_function_call_id()

    call = ids.spawn_map(range(5))
    pairs = call.get(timeout=10)
    assert len({input_id for input_id, _ in pairs}) == 5
    assert {call_id for _, call_id in pairs} == {call.object_id}


def test_logs_can_be_searched_and_streamed_as_they_happen() -> None:
    streamed: list[tuple[str | None, str]] = []

    @concur_nb.concurrent(max_inputs=4)
    def say(word: str) -> None:
        print(f"the word is {word}")

    unsubscribe = say.subscribe(
        lambda e: streamed.append((e.input_id, e.data.text)) if e.kind == "input_log" else None
    )
    say.for_each(["apple", "pear", "plum"])
    unsubscribe()
    hits = say.search_logs("PEAR")
    assert [line.text for _, line in hits] == ["the word is pear"]
    assert sorted(text for _, text in streamed) == [
        "the word is apple",
        "the word is pear",
        "the word is plum",
    ]
    assert hits[0][0] in {input_id for input_id, _ in streamed}


def test_a_long_log_keeps_its_newest_lines_and_counts_the_dropped(monkeypatch: object) -> None:
    monkeypatch.setattr(_ledger, "LOG_LINES_PER_INPUT", 10)

    @concur_nb.concurrent(max_inputs=2)
    def loud() -> str | None:
        for i in range(25):
            print(i)
        return concur_nb.current_input_id()

    input_id = loud.remote()
    assert [line.text for line in loud.logs(input_id)] == [str(i) for i in range(15, 25)]
    inp = loud._pool_now().ledger.find_input(input_id)
    assert inp is not None and inp.log is not None and inp.log.dropped == 15


def test_a_blocking_async_input_is_warned_about() -> None:
    @concur_nb.concurrent(max_inputs=2)
    async def blocks() -> None:
        time.sleep(1.2)

    blocks.remote()
    wait_until(lambda: blocks.snapshot().warnings, timeout=5, what="loop-lag warning")
    assert "blocked the event loop" in blocks.snapshot().warnings[0]
    assert "asyncio.to_thread" in blocks.snapshot().warnings[0]
