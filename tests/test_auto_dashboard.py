"""In a notebook, a blocking call that runs longer than about a second shows that call's view,
which freezes into the call's summary (static HTML, kept in the saved notebook)."""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.real

WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = [
    """
    import time, concur_nb

    @concur_nb.concurrent(max_inputs=2)
    def slow(x):
        time.sleep(0.6)
        return x
    """,
    "list(slow.map(range(4)))",  # about 1.2 s: the view appears, then freezes
    "slow.remote(7)",  # 0.6 s: no view
    "from concur_nb.notebook import auto; auto.enabled = False",
    "slow.spawn_map(range(4)).get()",  # long, but turned off
    "auto.enabled = True\nlist(slow.map(range(6)))",  # a second call of the same function
    "from concur_nb.notebook import Dashboard\nheld = slow.spawn_map(range(4))\n"
    "Dashboard(slow, call=held)",
    "len(held.get())",  # the call has a view above: no second one here
]


def frozen_of(cell: nbformat.NotebookNode) -> list[str]:
    """The frozen summaries among a cell's outputs (as a saved notebook holds them)."""
    return [
        o.data["text/html"]
        for o in cell.outputs
        if o.output_type == "display_data" and "cnb-frozen" in o.data.get("text/html", "")
    ]


def counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-(\w+)="(\d+)"', html.split(">", 1)[0])}


def test_a_long_call_shows_its_view_which_freezes_into_a_summary_the_saved_notebook_keeps(
    tmp_path: Path,
) -> None:
    nb = new_notebook(cells=[new_code_cell(textwrap.dedent(src).strip()) for src in CELLS])
    client = NotebookClient(nb, timeout=60, kernel_name="python3")
    client.km_kwargs = {
        "kernel_cmd": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    }
    client.execute()
    saved = tmp_path / "run.ipynb"
    nbformat.write(nb, saved)
    nb = nbformat.read(saved, as_version=4)  # what a reopened notebook shows
    long_call, short_call, _, turned_off, second, shown, waited = nb.cells[1:]

    [summary] = frozen_of(long_call)
    c = counts(summary)
    assert (c["total"], c["succeeded"], c["failed"], c["cancelled"]) == (4, 4, 0, 0)
    assert "4 done of 4" in summary and "<svg" in summary and "p50" in summary
    assert not [o for o in long_call.outputs if WIDGET in o.get("data", {})]  # no widget left
    assert long_call.outputs[-1].data["text/plain"] == "[0, 1, 2, 3]"
    assert short_call.outputs[-1].data["text/plain"] == "7"
    assert len(short_call.outputs) == 1  # no view for a short call
    assert len(turned_off.outputs) == 1
    assert turned_off.outputs[-1].data["text/plain"] == "[0, 1, 2, 3]"

    [later] = frozen_of(second)  # its own call's counts, not the function's 15 inputs
    assert counts(later)["total"] == 6 and counts(later)["succeeded"] == 6
    assert counts(summary)["total"] == 4  # the first summary did not change
    [spawned] = frozen_of(shown)  # frozen in place while the next cell waited
    assert counts(spawned)["total"] == 4 and counts(spawned)["succeeded"] == 4
    assert [o.output_type for o in waited.outputs] == ["execute_result"]


class PausingClient(NotebookClient):
    """Runs the cells as nbclient does, but waits ``pause`` seconds before cell ``before``
    (a user reading the output first)."""

    pause = 0.0
    before = -1

    async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kw: Any) -> Any:
        if cell_index == self.before:
            await asyncio.sleep(self.pause)
        return await super().async_execute_cell(cell, cell_index, *args, **kw)


def run_cells(cells: list[str], tmp_path: Path, pause_before: int = -1) -> nbformat.NotebookNode:
    """The saved notebook (as reopened) of ``cells`` run in a fresh kernel."""
    nb = new_notebook(cells=[new_code_cell(textwrap.dedent(src).strip()) for src in cells])
    client = PausingClient(nb, timeout=60, kernel_name="python3")
    client.pause, client.before = 2.0, pause_before
    client.km_kwargs = {
        "kernel_cmd": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    }
    client.execute()
    saved = tmp_path / "run.ipynb"
    nbformat.write(nb, saved)
    return nbformat.read(saved, as_version=4)


STALLED_PUBLISH = """
from concur_nb.notebook import dashboard

shown = dashboard.publish
def stalled(bundle, display_id, update):
    if not update:
        time.sleep(0.8)  # the kernel's thread held up as on a loaded machine; the call ends
    shown(bundle, display_id, update)
dashboard.publish = stalled
"""


def test_a_call_that_ends_while_its_view_is_being_shown_still_leaves_its_summary(
    tmp_path: Path,
) -> None:
    # The view appears after ~1 s of a 1.2-s call; showing it stalls past the call's end, so
    # the refresher's first tick finds the call ended while the live view is not out yet.
    nb = run_cells([CELLS[0], STALLED_PUBLISH, "list(slow.map(range(4)))"], tmp_path)
    outputs = nb.cells[2].outputs
    [summary] = frozen_of(nb.cells[2])
    assert counts(summary)["succeeded"] == 4
    assert not [o for o in outputs if WIDGET in o.get("data", {})]  # no live view left


def test_a_view_whose_call_ends_between_two_cells_is_frozen_in_the_saved_notebook(
    tmp_path: Path,
) -> None:
    # The call ends while no cell runs: the refresher's update goes out under an ended cell.
    cells = [
        CELLS[0],
        "from concur_nb.notebook import Dashboard\nheld = slow.spawn_map(range(2))\n"
        "Dashboard(slow, call=held)",
        "len(held.get())",
    ]
    nb = run_cells(cells, tmp_path, pause_before=2)
    [summary] = frozen_of(nb.cells[1])
    assert counts(summary)["succeeded"] == 2
    assert not [o for o in nb.cells[1].outputs if WIDGET in o.get("data", {})]


def test_a_kernel_interrupt_with_the_view_shown_returns_within_half_a_second() -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        setup = textwrap.dedent(CELLS[0]).strip()
        assert kc.execute_interactive(setup, timeout=60)["content"]["status"] == "ok"
        # A kernel's first traceback takes ~0.5 s to format (IPython imports its machinery):
        # the same with or without a view, so it is paid before measuring.
        kc.execute_interactive("raise KeyboardInterrupt", timeout=60)
        msg_id = kc.execute("list(slow.map(range(200)))")  # a minute, two at a time
        shown = False
        deadline = time.monotonic() + 30
        while not shown and time.monotonic() < deadline:  # the call's view appears after ~1 s
            msg = kc.get_iopub_msg(timeout=30)
            shown = msg["parent_header"].get("msg_id") == msg_id and (
                msg["msg_type"] == "display_data" and WIDGET in msg["content"]["data"]
            )
        assert shown, "the view did not appear"
        time.sleep(0.5)  # let it redraw a few times
        started = time.monotonic()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        took = time.monotonic() - started
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert took < 0.5, f"the interrupt took {took:.2f} s"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
