"""Every magic and widget, used in a notebook executed by a real kernel (nbclient)."""

from __future__ import annotations

import textwrap

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.real

WIDGET = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "%load_ext concur_nb\nimport asyncio, threading, concur_nb",
    """
    %%concurrent --max-inputs 4 --target-inputs 3
    def double(x):
        print("doubling", x)
        return 2 * x
    """,
    "double.remote(21)",
    """
    %%concurrent --map range(12) --as i --max-inputs 6 -o squares --name squares_body
    await asyncio.sleep(0.01)
    print("square of", i)
    i * i
    """,
    "squares",
    "%concurrent_status",
    "%concurrent_dashboard double",
    """
    gate = threading.Event()
    """,
    """
    %%concurrent --map range(6) --as i --max-inputs 2 --background -o handle --name held_body
    gate.wait(30)
    i
    """,
    "%concurrent_tune held_body",
    "gate.set(); handle.get(timeout=30)",
    """
    from concur_nb.notebook.sweep import sweep
    result = sweep(double, range(8), max_inputs=[1, 4])
    result
    """,
    """
    from concur_nb.notebook import auto
    auto_dash = auto.maybe_show(double)
    again = auto.maybe_show(double)  # one automatic dashboard per function per cell
    (type(auto_dash).__name__, again)
    """,
    """
    from concur_nb.notebook import Dashboard
    docked = Dashboard(double, where="panel")
    docked
    """,
]


def outputs_of(cell: nbformat.NotebookNode, kind: str = "") -> list[dict]:
    return [o for o in cell.outputs if not kind or o.output_type == kind]


def text_of(cell: nbformat.NotebookNode) -> str:
    parts = []
    for o in cell.outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif "data" in o:
            parts.append(o.data.get("text/plain", ""))
    return "".join(parts)


def test_notebook_uses_every_magic_and_widget_in_a_real_kernel() -> None:
    nb = new_notebook(cells=[new_code_cell(textwrap.dedent(src).strip()) for src in CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": "."}}
    )
    client.execute()
    cells = nb.cells
    assert text_of(cells[2]) == "42"
    assert text_of(cells[4]) == str([i * i for i in range(12)])
    status = text_of(cells[5]).splitlines()
    assert status[0].startswith("function") and any(r.startswith("double ") for r in status)
    # The dashboard is a widget where one can render, with a text/HTML summary beside it.
    dash = outputs_of(cells[6])[0].data
    assert WIDGET in dash and "cnb-summary" in dash["text/html"]
    assert (
        "function: double" in dash["text/plain"] and "totals of all its calls" in dash["text/plain"]
    )
    # --background showed the call's live view at once; it froze into the call's summary when
    # the call ended (two cells later): static HTML with its counts, no widget left.
    [background] = outputs_of(cells[8], "display_data")
    assert WIDGET not in background.data
    assert 'class="cnb-frozen"' in background.data["text/html"]
    assert "6 done of 6" in background.data["text/html"]
    # the tuner shows sliders and a dashboard.
    assert WIDGET in outputs_of(cells[9], "execute_result")[0].data
    assert text_of(cells[10]) == "[0, 1, 2, 3, 4, 5]"
    sweep_html = "".join(o.data.get("text/html", "") for o in outputs_of(cells[11]))
    assert "recommended:" in sweep_html
    assert any("application/vnd.plotly.v1+json" in o.data for o in outputs_of(cells[11]))
    assert text_of(cells[12]).endswith("('Dashboard', None)")
    assert len(outputs_of(cells[12], "display_data")) == 1
    # The docked view went to a side panel (a sidecar widget); the cell says where it is.
    assert "shown in a side panel" in text_of(cells[13])
    assert not outputs_of(cells[13], "error")
    # nbclient saved the widgets' state, so the notebook renders them after the kernel is gone.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    headers = [
        m["state"]["value"]
        for m in state.values()
        if m["model_name"] == "HTMLModel" and "cnb-header" in m["state"].get("value", "")
    ]
    assert any('data-state="done"' in h for h in headers)
