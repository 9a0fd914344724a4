"""The worker's wire protocol: frames, the handshake, errors that travel, and a raw session."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest

from concur_nb._containers import protocol as p
from concur_nb._containers.base import CANCELLED, ERROR, OK, Target
from concur_nb._containers.worker import LineBuffer
from concur_nb._errors import ContainerError, RemoteError


def frames(*messages: p.Message) -> io.BytesIO:
    return io.BytesIO(b"".join(p.encode(m) for m in messages))


def test_messages_come_back_in_order_across_frames() -> None:
    stream = frames((p.SUBMIT, "in-1", "fc-1", None, False, b"x" * 100_000), (p.CANCEL, "in-1"))
    assert p.read_message(stream)[:2] == (p.SUBMIT, "in-1")
    assert p.read_message(stream) == (p.CANCEL, "in-1")
    with pytest.raises(p.ChannelClosed):
        p.read_message(stream)


def test_messages_sent_together_share_one_frame_and_keep_their_order() -> None:
    batch = [(p.FINISHED, f"in-{n}", OK, b"", "") for n in range(3)]
    stream = io.BytesIO(p.encode_many(batch) + p.encode((p.STOPPED,)))
    assert p.read_messages(stream) == batch
    assert p.read_messages(stream) == [(p.STOPPED,)]


def test_plain_payloads_take_the_fast_pickler_and_read_back_the_same() -> None:
    plain = ((1, 2.5, "x", b"y", None, True, [1, (2,)]), {"k": {"n": 3}})
    assert p.dump_payload(plain) == pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL)
    assert p.load_payload(p.dump_payload(plain)) == plain
    local = lambda v: v + 1  # noqa: E731 (a function pickles by value, through cloudpickle)
    assert p.load_payload(p.dump_payload(((local,), {})))[0][0](1) == 2


def test_small_plain_data_travels_as_it_is_and_the_rest_pickled_on_its_own() -> None:
    plain = ((7, "x", b"raw bytes"), {"k": [1.5]})
    assert p.pack(plain) == (plain,)  # written once, by the frame's own pickle
    assert p.unpack(p.pack(b"a result that is bytes")) == b"a result that is bytes"
    big = "x" * (1 << 20)  # pickled alone: sized and isolated from the frame
    assert type(p.pack(big)) is bytes and p.unpack(p.pack(big)) == big
    local = lambda v: v + 1  # noqa: E731
    assert type(p.pack(local)) is bytes and p.unpack(p.pack(local))(1) == 2
    stream = frames((p.FINISHED, "in-1", OK, p.pack(plain), ""))
    assert p.unpack(p.read_message(stream)[3]) == plain


def test_a_frame_cut_short_is_a_closed_channel_not_garbage() -> None:
    whole = p.encode((p.LOG, "in-1", "stdout", "hello\n"))
    with pytest.raises(p.ChannelClosed):
        p.read_message(io.BytesIO(whole[:-3]))


def test_login_noise_before_the_handshake_is_skipped_and_kept() -> None:
    stream = io.BytesIO(b"Welcome to gpu-box!\n" + p.encode_hello(p.hello_details([])))
    assert p.skip_to_magic(stream) == b"Welcome to gpu-box!\n"
    kind, details = p.read_message(stream)
    assert kind == p.HELLO and details["pid"] == os.getpid()


def test_output_without_a_handshake_is_refused() -> None:
    with pytest.raises(p.ChannelClosed, match="bash: python3: command not found"):
        p.skip_to_magic(io.BytesIO(b"bash: python3: command not found\n"))


def test_matching_versions_pass_the_handshake() -> None:
    p.check_versions(p.hello_details([]), "gpu-box")


def test_a_cloudpickle_mismatch_says_what_to_install_where() -> None:
    theirs = {**p.hello_details([]), "cloudpickle": "2.2.1"}
    with pytest.raises(ContainerError) as caught:
        p.check_versions(theirs, "gpu-box")
    message = str(caught.value)
    assert "cloudpickle 2.2.1 there but" in message
    assert f"pip install cloudpickle=={cloudpickle.__version__}" in message
    assert "on gpu-box" in message


def test_a_python_mismatch_asks_for_a_matching_interpreter() -> None:
    theirs = {**p.hello_details([]), "python": "3.9"}
    with pytest.raises(ContainerError, match=r"python 3\.9 there .*Python \d+\.\d+ interpreter"):
        p.check_versions(theirs, "gpu-box")


def test_an_exception_travels_with_its_remote_traceback() -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        data, text = p.dump_error(exc), p.traceback_text(exc)
    rebuilt = p.load_error(data, text)
    assert isinstance(rebuilt, KeyError)
    assert "raise KeyError" in str(rebuilt.__cause__)


class NeedsTwoArguments(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")


def test_an_exception_that_cannot_be_rebuilt_becomes_a_remote_error() -> None:
    try:
        raise NeedsTwoArguments(1, 2)
    except NeedsTwoArguments as exc:
        data, text = p.dump_error(exc), p.traceback_text(exc)
    rebuilt = p.load_error(data, text)
    assert isinstance(rebuilt, RemoteError)
    assert "NeedsTwoArguments: 1/2" in str(rebuilt)
    assert "raise NeedsTwoArguments" in rebuilt.remote_traceback


def test_a_result_that_cannot_be_pickled_becomes_a_clear_error() -> None:
    ok, data = p.dump_result(threading.Lock())
    assert not ok
    error = p.load_payload(data)
    assert isinstance(error, RemoteError) and "could not be pickled" in str(error)


def test_print_chunks_become_one_log_line() -> None:
    sent: list[p.Message] = []
    lines = LineBuffer(sent.append)
    for chunk in ("squaring", " ", "3", "\n", "partial"):
        lines.write("in-1", "stdout", chunk)
    assert sent == [(p.LOG, "in-1", "stdout", "squaring 3\n")]
    lines.flush("in-1")
    assert sent[-1] == (p.LOG, "in-1", "stdout", "partial")


def double(x: int) -> int:
    print("doubling", x)
    return 2 * x


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    """A worker process whose stdio this test speaks to directly, frame by frame."""
    with subprocess.Popen(
        [sys.executable, "-m", "concur_nb.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        p.skip_to_magic(process.stdout)
        try:
            yield process
        finally:
            process.kill()


def hello_and_target(worker: subprocess.Popen[bytes], *messages: p.Message) -> dict[str, Any]:
    assert worker.stdin is not None and worker.stdout is not None
    kind, details = p.read_message(worker.stdout)
    assert kind == p.HELLO
    target = cloudpickle.dumps(Target("double", double, False))
    first: p.Message = (p.TARGET, target, "c-1", 2, {}, sys.path)
    worker.stdin.write(b"".join(p.encode(m) for m in (first, *messages)))
    worker.stdin.flush()
    assert isinstance(details, dict)
    return details


def until(worker: subprocess.Popen[bytes], kind: str) -> list[p.Message]:
    """Messages up to and including the first of ``kind`` (heartbeats left out)."""
    assert worker.stdout is not None
    seen = []
    while True:
        for message in p.read_messages(worker.stdout):
            if message[0] != p.HEARTBEAT:
                seen.append(message)
            if message[0] == kind:
                return seen


def test_a_raw_session_with_the_worker_runs_an_input_and_ends_on_shutdown(
    worker: subprocess.Popen[bytes],
) -> None:
    arguments = cloudpickle.dumps(((21,), {}))
    details = hello_and_target(
        worker, (p.SUBMIT, "in-1", "fc-1", None, False, arguments), (p.SHUTDOWN, True)
    )
    assert details["pid"] == worker.pid
    seen = until(worker, p.STOPPED)
    assert seen[0][0] == p.READY
    assert (p.LOG, "in-1", "stdout", "doubling 21\n") in seen
    finished = next(m for m in seen if m[0] == p.FINISHED)
    assert finished[2] == OK and p.unpack(finished[3]) == 42
    assert worker.wait(timeout=10) == 0


def test_the_worker_exits_when_the_engine_goes_away(worker: subprocess.Popen[bytes]) -> None:
    assert worker.stdin is not None
    worker.stdin.close()  # as when the kernel dies or the SSH link drops
    assert worker.wait(timeout=10) == 0


def test_arguments_that_cannot_be_unpickled_fail_only_that_input(
    worker: subprocess.Popen[bytes],
) -> None:
    hello_and_target(worker, (p.SUBMIT, "in-1", "fc-1", None, False, b"not a pickle"))
    finished = until(worker, p.FINISHED)[-1]
    assert finished[1] == "in-1" and finished[2] == ERROR
    assert "could not be unpickled" in str(p.load_payload(finished[3]))


def test_a_target_the_worker_cannot_load_fails_the_worker_with_the_reason(
    worker: subprocess.Popen[bytes],
) -> None:
    assert worker.stdin is not None and worker.stdout is not None
    assert p.read_message(worker.stdout)[0] == p.HELLO
    not_a_target = cloudpickle.dumps(double)  # the function, without its Target around it
    worker.stdin.write(p.encode((p.TARGET, not_a_target, "c-1", 2, {}, sys.path)))
    worker.stdin.flush()
    failed = until(worker, p.FAILED)[-1]
    assert "could not load the function here" in failed[1]
    assert "expected a Target, got function" in failed[1] and "TypeError" in failed[2]
    assert worker.wait(timeout=10) == 1


def test_a_cancel_for_a_work_still_waiting_in_the_worker_cancels_it(
    worker: subprocess.Popen[bytes],
) -> None:
    assert worker.stdin is not None
    hello_and_target(worker)
    until(worker, p.READY)
    arguments = cloudpickle.dumps(((21,), {}))
    # One frame: the work waits in the worker's queue when the cancel is read.
    submit = (p.SUBMIT, "in-1", "fc-1", None, False, arguments)
    worker.stdin.write(p.encode_many([submit, (p.CANCEL, "in-1")]))
    worker.stdin.flush()
    finished = until(worker, p.FINISHED)[-1]
    assert finished[1] == "in-1" and finished[2] == CANCELLED
