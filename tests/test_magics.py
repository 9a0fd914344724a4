"""The ``%%concurrent`` magics, driven through a real IPython ``InteractiveShell``."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from widget_comm import install

from concur_nb.notebook.dashboard import Dashboard
from concur_nb.notebook.magics import ConcurrentMagics
from concur_nb.notebook.tuning import Tuner
from tests.conftest import wait_until


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "concur_nb")
    yield shell
    InteractiveShell.clear_instance()


@pytest.fixture(autouse=True)
def _widgets_without_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)


def magics(ip: InteractiveShell) -> ConcurrentMagics:
    found = ip.magics_manager.registry["ConcurrentMagics"]
    assert isinstance(found, ConcurrentMagics)
    return found


def cell(ip: InteractiveShell, line: str, body: str) -> Any:
    return ip.run_cell_magic("concurrent", line, body)


# --- decorating what a cell defines -----------------------------------------------------------


def test_decorated_cell_replaces_each_function_with_a_concurrent_one(ip: InteractiveShell) -> None:
    cell(
        ip,
        "--max-inputs 5 --target-inputs 4 --max-containers 2 --timeout 30",
        "def double(x):\n    return 2 * x\n\nasync def triple(x):\n    return 3 * x\n",
    )
    double, triple = ip.user_ns["double"], ip.user_ns["triple"]
    assert double.settings.max_inputs == 5 and double.settings.target_inputs == 4
    assert double.settings.max_containers == 2 and double.settings.timeout == 30
    assert list(double.map([1, 2, 3])) == [2, 4, 6]
    assert triple.remote(2) == 6 and triple.backend_name == "asyncio"


def test_decorated_cell_code_runs_like_a_normal_cell(ip: InteractiveShell) -> None:
    cell(ip, "--max-inputs 2", "OFFSET = 10\ndef shifted(x):\n    return x + OFFSET\n")
    assert ip.user_ns["OFFSET"] == 10
    assert ip.user_ns["shifted"].remote(1) == 11


def test_decorated_class_becomes_one_concurrent_class(ip: InteractiveShell) -> None:
    cell(
        ip,
        "--max-inputs 3",
        "import concur_nb\n"
        "class Model:\n"
        "    @concur_nb.enter()\n"
        "    def load(self):\n"
        "        self.k = 10\n"
        "    @concur_nb.method()\n"
        "    def predict(self, x):\n"
        "        return x * self.k\n",
    )
    model = ip.user_ns["Model"]
    assert model.settings.max_inputs == 3
    assert model().predict.remote(2) == 20


def test_backend_option_runs_the_inputs_in_worker_processes(ip: InteractiveShell) -> None:
    results = cell(
        ip, "--map range(4) --as i --max-inputs 2 --backend process", "import os\nos.getpid()"
    )
    assert len(results) == 4 and os.getpid() not in results


# --- --map ------------------------------------------------------------------------------------


def test_map_runs_the_body_per_item_and_keeps_each_last_expression_in_input_order(
    ip: InteractiveShell,
) -> None:
    result = cell(ip, "--map range(20) --as i --max-inputs 5 -o squares", "y = i * i\ny")
    assert result is None
    assert ip.user_ns["squares"] == [i * i for i in range(20)]
    assert "y" not in ip.user_ns  # the body's own names stay local to each input


def test_map_without_output_var_returns_the_results(ip: InteractiveShell) -> None:
    assert cell(ip, "--map '[1, 2, 3]' --as n --max-inputs 3", "n + 1") == [2, 3, 4]


def test_map_body_that_awaits_runs_as_async_inputs(ip: InteractiveShell) -> None:
    ip.run_cell("import asyncio")
    cell(
        ip,
        "--map range(30) --as i --max-inputs 30 -o out --name awaiting_body",
        "await asyncio.sleep(0.01)\ni * 2",
    )
    assert ip.user_ns["out"] == [i * 2 for i in range(30)]
    assert magics(ip).last_function.backend_name == "asyncio"


def test_map_captures_each_inputs_output_as_its_own_log(ip: InteractiveShell) -> None:
    cell(
        ip, "--map range(6) --as i --max-inputs 3 -o _ --name printing_body", 'print("item", i)\ni'
    )
    fn = magics(ip).last_function
    finished = [info for info in fn.inputs() if info.status == "succeeded"]
    assert len(finished) == 6
    seen = sorted(line.text for info in finished for line in fn.logs(info.id))
    assert seen == [f"item {i}" for i in range(6)]  # one line each, its own item


def test_map_failures_stay_in_the_results_and_are_reported_in_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "--map range(4) --as i --max-inputs 2 -o res", "1 / (i - 2)")
    res = ip.user_ns["res"]
    assert isinstance(res[2], ZeroDivisionError) and res[3] == 1.0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "1 of 4 inputs failed (first: ZeroDivisionError: division by zero); their "
        "exceptions are in the results"
    ]


def test_background_map_returns_at_once_with_a_handle(ip: InteractiveShell) -> None:
    gate = threading.Event()
    ip.user_ns["gate"] = gate
    cell(ip, "--map range(4) --as i --max-inputs 4 --background -o handle", "gate.wait(20)\ni")
    handle = ip.user_ns["handle"]
    fn = magics(ip).last_function
    wait_until(lambda: fn.snapshot().in_flight == 4, what="4 inputs running")
    assert not handle.done()
    gate.set()
    assert handle.get(timeout=20) == [0, 1, 2, 3]


def test_cancel_magic_cancels_a_running_call(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = threading.Event()
    ip.user_ns["gate2"] = gate
    cell(
        ip,
        "--map range(8) --as i --max-inputs 2 --background -o doomed --name doomed_body",
        "gate2.wait(20)\ni",
    )
    fn = magics(ip).last_function
    wait_until(lambda: fn.snapshot().in_flight == 2, what="2 inputs running")
    ip.run_line_magic("concurrent_cancel", "doomed")
    wait_until(lambda: ip.user_ns["doomed"].done(), what="the call to end")
    gate.set()
    snap = fn.snapshot()
    assert snap.succeeded == 0 and snap.queued == 0
    assert "cancelled doomed" in capsys.readouterr().out


# --- the line magics ----------------------------------------------------------------------


def test_status_prints_a_table_of_every_function(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(ip, "--max-inputs 7 --target-inputs 3", "def status_probe(x):\n    return x\n")
    ip.user_ns["status_probe"].remote(1)
    ip.run_line_magic("concurrent_status", "")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["function", "backend", "max/target", "containers"]
    row = next(line for line in lines if line.startswith("status_probe"))
    assert row.split()[1:3] == ["thread", "7/3"]


def test_dashboard_and_tune_magics_show_the_named_or_latest_function(ip: InteractiveShell) -> None:
    cell(ip, "--max-inputs 3", "def watched(x):\n    return x\n")
    dash = ip.run_line_magic("concurrent_dashboard", "watched")
    assert isinstance(dash, Dashboard) and dash.fn is ip.user_ns["watched"]
    latest = ip.run_line_magic("concurrent_dashboard", "")
    assert latest.fn is ip.user_ns["watched"]
    assert dash.where == "cell" and "totals of all its calls" in dash.header.value
    docked = ip.run_line_magic("concurrent_dashboard", "watched --panel")
    assert docked.where == "panel" and docked.fn is ip.user_ns["watched"]
    tuner = ip.run_line_magic("concurrent_tune", "watched")
    assert isinstance(tuner, Tuner) and tuner.max_inputs.value == 3


def test_help_shows_every_option(ip: InteractiveShell) -> None:
    doc = ip.find_cell_magic("concurrent").__doc__ or ""
    for option in ["--max-inputs", "--target-inputs", "--map", "--as", "--background", "-o"]:
        assert option in doc


# --- misuse: one clear line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,body,message",
    [
        ("--max-inputs 2 --bogus 3", "def f(x): return x", "unrecognized arguments: --bogus 3"),
        ("--target-inputs 2", "def f(x): return x", "needs --max-inputs N"),
        ("--max-inputs 2", "x = 1", "defines no function or class"),
        ("--max-inputs 2 --map 42 --as i", "i", "is a int, which is not iterable"),
        ("--max-inputs 2 --map nowhere --as i", "i", "--map nowhere: NameError"),
        ("--max-inputs 2 --map range(3)", "item_value * 2", "with --as item_value"),
        ("--max-inputs 2 --as i", "def f(x): return x", "--as only applies with --map"),
        ("--max-inputs 0", "def f(x): return x", "max_inputs"),
        ("--max-inputs 2 --target-inputs 5", "def f(x): return x", "target_inputs=5"),
        ("--max-inputs 2 --map range(3) --as 'not a name'", "1", "not a valid Python name"),
        ("--max-inputs 2", "def f(:\n  pass", "syntax error on line 1"),
    ],
)
def test_misuse_prints_one_clear_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str, body: str, message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        cell(ip, line, body)
    capsys.readouterr()
    ip.run_cell(f"%%concurrent {line}\n{body}")
    captured = capsys.readouterr()
    shown = (captured.out + captured.err).strip().splitlines()
    assert len(shown) == 1 and shown[0].startswith("UsageError: "), shown
    assert message in shown[0]


def test_cancel_magic_rejects_what_it_cannot_cancel(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_cell("%concurrent_cancel 42")
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "UsageError: %concurrent_cancel: 42 is a int, not a concurrent function or a call"
    ]


def test_load_ext_registers_every_magic(ip: InteractiveShell) -> None:
    shell = ip  # the fixture ran %load_ext concur_nb
    assert shell.find_cell_magic("concurrent") is not None
    for name in [
        "concurrent_dashboard",
        "concurrent_tune",
        "concurrent_status",
        "concurrent_cancel",
    ]:
        assert shell.find_line_magic(name) is not None
