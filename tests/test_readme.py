"""The README's code blocks run: the 30-second example as a script, and in a notebook."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def blocks(section: str) -> list[str]:
    """The ```python blocks of the README section titled ``section``."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_the_30_second_example_runs_as_a_script() -> None:
    script, _ = blocks("30 seconds")
    env = dict(os.environ, PYTHONPATH=str(ROOT), CONCUR_NB_PROGRESS="0")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "20 inputs, the first ran as in-" in done.stdout
    assert "200 async inputs" in done.stdout


@pytest.mark.real
def test_the_30_second_example_and_the_notebook_block_run_in_a_kernel() -> None:
    script, notebook = blocks("30 seconds")
    # As its comment says: in a cell, await instead of asyncio.run (the kernel's loop runs).
    cell = script.replace("asyncio.run(main())", "await main()")
    assert cell != script
    nb = new_notebook(
        cells=[new_code_cell(cell), new_code_cell(notebook), new_code_cell("call.cancel()")]
    )
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "200 async inputs" in printed
    assert not [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
