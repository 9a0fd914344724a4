"""Tutorial 9 runs top to bottom in a real kernel, inside a network namespace of its own.

Ray's processes must not reach past loopback on this machine, so the notebook is executed by
nbclient inside ``tests/ray_namespace.py`` (the kernel and a two-node cluster both in there,
``RAY_ADDRESS`` set) by this file run as a script; the test then reads the executed notebook.
The namespace's cluster, not one the kernel starts: its start is retried when a loaded machine
makes a raylet give up on its agents (see ``ray_namespace.py``), which ``ray.init()`` is not.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
import ray_namespace
from conftest import require

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "09_scale_out_on_ray.ipynb"
CELL_TIMEOUT = 90
BUDGET = 360  # seconds: the cluster starting (retried on 2 loaded cores), and the notebook


def outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.real
@pytest.mark.timeout(BUDGET + 60)
def test_tutorial_09_runs_on_a_two_node_ray_cluster(tmp_path: Path) -> None:
    require(ray_namespace.missing() is None, f"a namespace with Ray ({ray_namespace.missing()})")
    executed = tmp_path / "09.ipynb"
    started = time.monotonic()
    argv = [sys.executable, __file__, str(NOTEBOOK), str(executed)]
    done = ray_namespace.run(argv, timeout=BUDGET)
    if done.returncode != 0:
        pytest.fail(f"tutorial 9 failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    nb = nbformat.read(executed, as_version=4)
    text = outputs_text(nb)
    assert "joining the Ray cluster at 127.0.0.1:6379" in text
    assert "GPUs the inputs saw: ['0', '1']" in text
    assert "GPU ids ['0']" in text and "GPU ids ['1']" in text
    assert "pending: waiting for Ray to place it (needs 1 GPU)" in text
    assert "embedded 'document" in text  # a per-input log line, back through concur_nb
    assert time.monotonic() - started < BUDGET
    noise = "".join(
        out.get("text", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr"
    )
    for bad in ("Traceback", "DeprecationWarning", "FutureWarning", "RuntimeWarning"):
        assert bad not in noise, f"tutorial 9 wrote to stderr:\n{noise}"


def execute(source: Path, target: Path) -> None:
    """Run the notebook in a kernel of this Python (called inside the namespace)."""
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.km_kwargs = {
        "kernel_cmd": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    }
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)


if __name__ == "__main__":
    execute(Path(sys.argv[1]), Path(sys.argv[2]))
