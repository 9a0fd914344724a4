"""In a notebook, a blocking call that runs longer than about a second shows its dashboard."""

from __future__ import annotations

import sys
import textwrap
import time

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
    "list(slow.map(range(4)))",  # about 1.2 s: the dashboard appears
    "slow.remote(7)",  # 0.6 s: no dashboard
    "from concur_nb.notebook import auto; auto.enabled = False",
    "slow.spawn_map(range(4)).get()",  # long, but turned off
]


def test_a_long_blocking_call_shows_a_dashboard_and_a_short_one_does_not() -> None:
    nb = new_notebook(cells=[new_code_cell(textwrap.dedent(src).strip()) for src in CELLS])
    client = NotebookClient(nb, timeout=60, kernel_name="python3")
    client.km_kwargs = {
        "kernel_cmd": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    }
    client.execute()
    long_call, short_call, _, turned_off = nb.cells[1:]

    def widgets(cell: object) -> list[object]:
        return [o for o in cell.outputs if o.output_type == "display_data" and WIDGET in o.data]  # type: ignore[attr-defined]

    assert len(widgets(long_call)) == 1
    assert long_call.outputs[-1].data["text/plain"] == "[0, 1, 2, 3]"
    assert widgets(short_call) == []
    assert widgets(turned_off) == []
    assert turned_off.outputs[-1].data["text/plain"] == "[0, 1, 2, 3]"


def test_ctrl_c_lands_at_once_while_the_dashboard_is_up() -> None:
    from jupyter_client.manager import KernelManager

    km = KernelManager(
        kernel_cmd=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    )
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(textwrap.dedent(CELLS[0]).strip(), timeout=60)
        cell = (
            "try:\n"
            "    list(slow.map(range(40)))\n"  # 12 s: long enough to be interrupted
            "except KeyboardInterrupt:\n"
            "    print('interrupted', time.monotonic(), slow.snapshot().queued)\n"
        )
        msg_id = kc.execute(cell)
        interrupted_at = None
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "display_data" and WIDGET in msg["content"]["data"]:
                interrupted_at = time.monotonic()  # the dashboard is up: press Ctrl-C
                km.interrupt_kernel()
            elif msg["msg_type"] == "stream" and "interrupted" in msg["content"]["text"]:
                _, caught_at, queued = msg["content"]["text"].split()
                break
        assert interrupted_at is not None
        assert float(caught_at) - interrupted_at < 0.5
        assert queued == "0"  # and the call's inputs were cancelled
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
