"""Echo of inputs' output: whole lines with the input's id in a terminal, a documented switch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

import concur_nb
from concur_nb import _context
from concur_nb.notebook.cell_echo import CellRouter

ROOT = Path(__file__).resolve().parents[1]

# Five inputs side by side, each writing its lines in pieces: the old echo interleaved them
# mid-line ("itemitemitem  1517").
PIECES = textwrap.dedent(
    """
    import time
    import concur_nb

    @concur_nb.function(max_containers=1)
    @concur_nb.concurrent(max_inputs=5)
    def chatty(i):
        for k in range(40):
            print("item", end="")
            time.sleep(0.0002)
            print(f" {i}-{k}", end="")
            print()
        return i

    print("total", sum(chatty.map(range(5))))
    """
)


def _run(script: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_terminal_echo_is_whole_lines_each_with_its_input_id() -> None:
    out = _run(PIECES).splitlines()
    echoed = [line for line in out if not line.startswith("total")]
    assert len(echoed) == 5 * 40
    pattern = re.compile(r"^\[(in-[0-9a-f]+)\] item (\d)-(\d+)$")
    by_input: dict[str, set[str]] = {}
    for line in echoed:
        match = pattern.match(line)
        assert match, f"not a whole, prefixed line: {line!r}"
        by_input.setdefault(match[1], set()).add(match[2])
    assert len(by_input) == 5 and all(len(v) == 1 for v in by_input.values())
    assert out[-1] == "total 10"


def test_captured_mode_echoes_nothing() -> None:
    out = _run("import concur_nb; concur_nb._context.set_echo('captured')\n" + PIECES)
    assert out.splitlines() == ["total 10"]


def test_an_unknown_mode_is_refused_with_the_choices() -> None:
    with pytest.raises(concur_nb.InvalidError, match=r"mode='loud'.*'captured', 'cell'"):
        _context.set_echo("loud")


class _Stream:
    """An ipykernel-like stream that records the parent each write was made under."""

    def __init__(self) -> None:
        self.parent: Any = None
        self.writes: list[tuple[Any, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((self.parent, text))
        return len(text)

    def set_thread_parent(self, parent: Any) -> Any:
        old, self.parent = self.parent, parent
        return old

    def reset_thread_parent(self, token: Any) -> None:
        self.parent = token


class _Work:
    id = "in-1"
    call_id = "fc-1"
    cancel_requested = False


def test_a_partial_last_line_is_echoed_when_the_input_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = _Stream()
    monkeypatch.setattr(_context, "echo_mode", "terminal")
    _context._echo(stream, "stdout", _Work(), "done: 1")  # type: ignore[arg-type]
    _context._echo(stream, "stdout", _Work(), "0")  # type: ignore[arg-type]
    assert stream.writes == []
    monkeypatch.setattr(sys, "stdout", stream)
    _context.flush_echo("in-1")
    assert stream.writes == [(None, "[in-1] done: 10\n")]


def test_cell_echo_writes_each_call_s_lines_under_the_cell_that_made_it() -> None:
    class Kernel:
        parent = {"header": {"msg_id": "cell-1"}}

        def get_parent(self, channel: str) -> Any:
            return self.parent

    kernel = Kernel()
    router = CellRouter(kernel)
    router.note_call("fc-1")
    kernel.parent = {"header": {"msg_id": "cell-2"}}  # the user moved on to the next cell
    stream = _Stream()
    stream.parent = "the thread's own"
    router.write(stream, "fc-1", "[in-1] hello\n")  # type: ignore[arg-type]
    router.write(stream, "fc-2", "[in-2] later\n")  # type: ignore[arg-type]
    assert stream.writes == [
        ({"header": {"msg_id": "cell-1"}}, "[in-1] hello\n"),
        ({"header": {"msg_id": "cell-2"}}, "[in-2] later\n"),
    ]
    assert stream.parent == "the thread's own"  # put back after each write


@pytest.mark.real
def test_cell_echo_streams_inputs_prints_into_the_calling_cell_in_a_real_kernel() -> None:
    cells = [
        "import concur_nb, time\nfrom concur_nb import _context",
        textwrap.dedent(
            """
            @concur_nb.function(max_containers=1)
            @concur_nb.concurrent(max_inputs=3)
            def shout(i):
                print("hello from", i)
                return i
            """
        ),
        "_context.set_echo('cell')\nsorted(shout.map(range(3)))",
        "_context.set_echo(None)\nsorted(shout.map(range(3)))",
    ]
    nb = new_notebook(cells=[new_code_cell(src) for src in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    client.execute()
    streamed = "".join(o.get("text", "") for o in nb.cells[2].outputs if o.output_type == "stream")
    lines = sorted(streamed.splitlines())
    assert len(lines) == 3 and all(re.match(r"\[in-[0-9a-f]+\] hello from \d", x) for x in lines)
    assert not [o for o in nb.cells[3].outputs if o.output_type == "stream"]  # captured again
    assert nbformat.validate(nb) is None
