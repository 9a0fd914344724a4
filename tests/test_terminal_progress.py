"""A blocking call in a terminal shows a tqdm bar on stderr; a pipe, a kernel or a switch: none."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

import concur_nb
from concur_nb import _progress

ROOT = Path(__file__).resolve().parents[1]

# 60 inputs of 0.1 s, two at a time: a 3-second map.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import concur_nb
    from concur_nb._progress import start_terminal_progress

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=2)
    def work(i):
        time.sleep(0.1)
        if i == 7:
            raise ValueError(i)
        return i

    call = work.spawn_map(range(60))
    bar = start_terminal_progress(call, "work.map")
    print("bar:", bar is not None, flush=True)
    try:
        call.get()
    except ValueError:
        pass
    if bar is not None:
        bar.close()
    """
)

# The same map as a user writes it: the wait itself must show the bar (wired at merge).
END_TO_END = textwrap.dedent(
    """
    import time
    import concur_nb

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=2)
    def work(i):
        time.sleep(0.1)
        return i

    print(sum(work.map(range(30))), flush=True)
    """
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CONCUR_NB_PROGRESS"}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def _run_in_pty(script: str, **env: str) -> str:
    """Run ``script`` with stdout and stderr on a pseudo-terminal; return all it wrote."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=_env(**env),
        cwd=ROOT,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.wait(10)
    return b"".join(chunks).decode(errors="replace")


def test_a_three_second_map_shows_a_tqdm_bar_in_a_terminal() -> None:
    out = _run_in_pty(SCRIPT)
    assert "bar: True" in out, out
    assert "work.map" in out
    assert "60/60" in out, out  # the final redraw: every input counted
    assert "1 failed" in out  # failures in the postfix
    assert "input/s" in out  # a rate
    assert out.count("\r") >= 5, out  # redrawn in place while it ran


def test_no_bar_when_stderr_is_a_pipe() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert "bar: False" in done.stdout
    assert "work.map" not in done.stderr and "60/60" not in done.stderr


def test_the_environment_variable_turns_the_bar_off() -> None:
    out = _run_in_pty(SCRIPT, CONCUR_NB_PROGRESS="0")
    assert "bar: False" in out and "60/60" not in out


def test_no_bar_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress._hooks, "in_kernel", lambda: True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert _progress.start_terminal_progress(object(), "x") is None


def test_the_bar_closes_with_its_final_counts(capsys: pytest.CaptureFixture[str]) -> None:
    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=4)
    def quick(i: int) -> int:
        return i

    call = quick.spawn_map(range(12))
    call.get()
    bar = _progress.TerminalProgress(call._call, "quick")
    bar.close()
    bar.close()  # twice is harmless
    err = capsys.readouterr().err
    assert "quick" in err and "12/12" in err


def test_a_plain_map_in_a_terminal_shows_the_bar_end_to_end() -> None:
    out = _run_in_pty(END_TO_END)
    assert "435" in out
    assert "30/30" in out, out
