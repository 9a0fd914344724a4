"""The public surface is pinned, and the engine pulls in no notebook library."""

from __future__ import annotations

import subprocess
import sys

import concur_nb

PUBLIC = {
    "CallCancelledError",
    "CallTimeoutError",
    "Cls",
    "ContainerError",
    "ContainerSnapshot",
    "Event",
    "Function",
    "FunctionCall",
    "FunctionCurrentStats",
    "FunctionSnapshot",
    "FunctionTimeoutError",
    "InputCancellation",
    "InputInfo",
    "InvalidError",
    "LogLine",
    "RemoteError",
    "Retries",
    "ScalingDecision",
    "Settings",
    "batched",
    "concurrent",
    "current_function_call_id",
    "current_input_id",
    "enter",
    "exit",
    "function",
    "functions",
    "gather",
    "get_echo",
    "input_cancelled",
    "method",
    "ray",
    "set_echo",
    "set_uvloop",
    "shutdown",
    "ssh",
    # the notebook front-end, loaded on first use
    "dashboard",
    "load_ipython_extension",
    "sweep",
    "tune",
}


def test_public_names_are_pinned() -> None:
    exported = {n for n in dir(concur_nb) if not n.startswith("_")}
    submodules = {"modal", "testing", "notebook", "worker"}
    assert exported - submodules == PUBLIC


def test_importing_the_engine_pulls_in_no_notebook_library() -> None:
    code = (
        "import sys, concur_nb\n"
        "@concur_nb.concurrent(max_inputs=2)\n"
        "def f(x): return x\n"
        "assert f.remote(1) == 1\n"
        "bad = [m for m in ('IPython', 'ipywidgets', 'plotly', 'ipykernel') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_exception_says_what_it_is_for() -> None:
    for name in ("InvalidError", "InputCancellation", "FunctionTimeoutError", "RemoteError"):
        assert getattr(concur_nb, name).__doc__
