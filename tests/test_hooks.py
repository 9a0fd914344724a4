"""The core reaches front-ends only through ``_hooks``: the long-wait view, the one "are we in a
kernel" check, and Ctrl-C that lands at once while a view is up."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import concur_nb
from concur_nb import _hooks

CORE = Path(concur_nb.__file__).parent


@pytest.fixture
def in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Pretend to be in a kernel with a quick long-wait hook that records what it was given."""
    fired: list[tuple[Any, Any]] = []
    monkeypatch.setattr(_hooks, "in_kernel", lambda: True)
    monkeypatch.setattr(_hooks, "AUTO_VIEW_AFTER", 0.02)
    monkeypatch.setattr(_hooks, "long_wait", lambda handle, call: fired.append((handle, call)))
    return fired


def test_a_long_blocking_call_in_a_kernel_calls_the_hook_once_with_its_call(
    in_a_kernel: list[tuple[Any, Any]],
) -> None:
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=2)
    def slow(x: int) -> int:
        release.wait(10)
        return x

    _hooks.long_wait = lambda handle, call: (in_a_kernel.append((handle, call)), release.set())
    assert list(slow.map(range(3))) == [0, 1, 2]
    [(handle, call)] = in_a_kernel
    assert handle is slow
    assert call.num_inputs() == 3 and len(call.input_ids) == 3


def test_outside_a_kernel_the_hook_never_fires(
    in_a_kernel: list[tuple[Any, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_hooks, "in_kernel", lambda: False)
    release = threading.Event()

    @concur_nb.concurrent(max_inputs=2)
    def slow(x: int) -> int:
        release.wait(10)
        return x

    threading.Timer(0.1, release.set).start()  # five times the hook's patience
    assert slow.remote(1) == 1
    assert in_a_kernel == []


def test_a_failing_hook_never_fails_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def broken(handle: Any, call: Any) -> None:
        release.set()
        raise RuntimeError("display broke")

    monkeypatch.setattr(_hooks, "in_kernel", lambda: True)
    monkeypatch.setattr(_hooks, "AUTO_VIEW_AFTER", 0.02)
    monkeypatch.setattr(_hooks, "long_wait", broken)

    @concur_nb.concurrent(max_inputs=2)
    def slow(x: int) -> int:
        release.wait(10)
        return x

    assert slow.spawn(5).get() == 5


def test_the_default_hook_loads_the_notebook_front_end_only_when_it_fires() -> None:
    code = (
        "import sys, threading, concur_nb\n"
        "from concur_nb import _hooks\n"
        "assert 'concur_nb.notebook' not in sys.modules\n"
        "_hooks.in_kernel = lambda: True\n"
        "_hooks.AUTO_VIEW_AFTER = 0.01\n"
        "@concur_nb.concurrent(max_inputs=2)\n"
        "def slow(x):\n"
        "    threading.Event().wait(0.2)\n"
        "    return x\n"
        "assert slow.remote(1) == 1\n"
        "print('concur_nb.notebook.auto' in sys.modules, 'ipywidgets' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]  # loaded; no widget shown outside a kernel


CTRL_C = """
import os, signal, sys, threading, time
import concur_nb
from concur_nb import _hooks

_hooks.in_kernel = lambda: True
_hooks.AUTO_VIEW_AFTER = 0.02
release = threading.Event()
sent = []

def interrupt_soon(handle, call):  # the view is "up"; the user presses Ctrl-C 0.1 s later
    def press():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Timer(0.1, press).start()

_hooks.long_wait = interrupt_soon

@concur_nb.concurrent(max_inputs=2)
def stuck(x):
    release.wait(30)
    return x

for form in (lambda: stuck.remote(1), lambda: list(stuck.map(range(3))),
             lambda: stuck.spawn_map(range(2)).get()):
    sent.clear()
    try:
        form()
    except KeyboardInterrupt:
        print(round(time.monotonic() - sent[0], 3), stuck.snapshot().in_flight)
release.set()
"""


def test_ctrl_c_during_a_wait_with_the_view_up_lands_within_half_a_second() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CTRL_C], capture_output=True, text=True, check=True, timeout=60
    )
    lines = out.stdout.split("\n")[:3]
    assert len(lines) == 3, out.stdout + out.stderr
    for line in lines:
        delay, _ = line.split()
        assert float(delay) < 0.5, out.stdout


def test_only_the_hooks_module_names_ipykernel_in_the_core() -> None:
    naming = {
        str(path.relative_to(CORE))
        for path in CORE.rglob("*.py")
        if "notebook" not in path.parts and re.search(r"\bipykernel\b", path.read_text())
    }
    assert naming == {"_hooks.py"}


def test_the_core_never_imports_the_notebook_front_end() -> None:
    importing = {
        str(path.relative_to(CORE))
        for path in CORE.rglob("*.py")
        if "notebook" not in path.parts
        and re.search(r"^\s*(from \.+notebook|import concur_nb\.notebook)", path.read_text(), re.M)
    }
    # __init__ sits above core and front-end: it wires the lazy hook and the magics' loader.
    assert importing == {"__init__.py"}
