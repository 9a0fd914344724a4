"""The tutorials run from top to bottom in a real kernel, each within two minutes, unattended.

Each notebook in ``notebooks/`` is executed by nbclient in a fresh kernel running this
virtualenv's Python, the way a user (or Binder) runs it; any error fails the test, and so does a
cell that runs past ``CELL_TIMEOUT``. Tutorial 6 runs against a private sshd on 127.0.0.1
(``tests/sshd.py``) through the same environment variables a user sets for a real host.

The committed notebooks carry no outputs and match their sources in ``scripts/tutorials/``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from conftest import require
from nbclient import NotebookClient
from sshd import PrivateSshd, SshKeys, find_sshd

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TUTORIALS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 90  # seconds any one cell may run
NOTEBOOK_BUDGET = 120  # seconds a whole notebook may take, kernel start included
EXPECTED = [
    "01_quickstart",
    "02_io_bound",
    "03_tuning",
    "04_logs_and_cancellation",
    "05_cpu_bound_and_batching",
    "06_remote_gpu_over_ssh",
    "07_modal_locally",
    "08_modal_web_endpoints",
    "09_scale_out_on_ray",
]
SSH_TUTORIAL = "06_remote_gpu_over_ssh"
# Starts a Ray cluster, which must run in a network namespace: tests/test_ray_tutorial.py.
RAY_TUTORIAL = "09_scale_out_on_ray"
RUN_HERE = [p for p in TUTORIALS if p.stem != RAY_TUTORIAL]

sys.path.insert(0, str(ROOT / "scripts"))
import build_notebooks  # noqa: E402


def run_notebook(
    path: Path, python: str = sys.executable, env: dict[str, str] | None = None
) -> tuple[nbformat.NotebookNode, float]:
    """Execute ``path`` in a kernel of ``python``, in the notebook's folder; (notebook, secs)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    # The kernel must be this environment's Python, whatever kernelspec a machine has.
    client.km_kwargs = {
        "kernel_cmd": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    }
    started = time.monotonic()
    client.execute(env={**os.environ, **(env or {})})
    return nb, time.monotonic() - started


def stderr_of(nb: nbformat.NotebookNode) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    )


def test_every_tutorial_is_there() -> None:
    assert [p.stem for p in TUTORIALS] == EXPECTED


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {index} has outputs: clear them"
        assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name} carries saved widget state"


def test_committed_notebooks_match_their_sources() -> None:
    stale = [p.name for p, text in build_notebooks.targets().items() if p.read_text() != text]
    assert not stale, f"run scripts/build_notebooks.py: out of date: {stale}"


@pytest.fixture(scope="module")
def ssh_env() -> Iterator[dict[str, str]]:
    """The variables tutorial 6 reads, pointing at a private sshd on 127.0.0.1."""
    sshd = find_sshd()
    require(sshd is not None, "sshd (for tutorial 6)")
    assert sshd is not None
    keys = SshKeys()
    server = PrivateSshd(sshd, keys).start()
    try:
        yield {
            "CONCUR_NB_SSH_HOST": server.destination,
            "CONCUR_NB_SSH_OPTIONS": shlex.join(keys.options()),
            "CONCUR_NB_SSH_PYTHON": sys.executable,
        }
    finally:
        server.stop()
        keys.cleanup()


@pytest.mark.real
@pytest.mark.timeout(NOTEBOOK_BUDGET + 60)
@pytest.mark.parametrize("path", RUN_HERE, ids=[p.stem for p in RUN_HERE])
def test_tutorial_runs_top_to_bottom(
    path: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = {"CONCUR_NB_SSH_HOST": ""}
    if path.stem == SSH_TUTORIAL:
        env = request.getfixturevalue("ssh_env")
    nb, seconds = run_notebook(path, env=env)
    assert seconds < NOTEBOOK_BUDGET, f"{path.name} took {seconds:.0f} s"
    noise = stderr_of(nb)
    for bad in ("Traceback", "DeprecationWarning", "FutureWarning", "RuntimeWarning"):
        assert bad not in noise, f"{path.name} wrote to stderr:\n{noise}"
    if path.stem == SSH_TUTORIAL:
        shown = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
        assert "running on SSH host" in shown, "tutorial 6 did not use the SSH host"
        assert " ssh running " in shown, "tutorial 6 shows no ssh container"
    saved = tmp_path / path.name
    nbformat.write(nb, saved)  # what a user reopens (or GitHub, or nbviewer, shows)
    check_frozen_summaries(nbformat.read(saved, as_version=4), path.stem)


def frozen_summaries(nb: nbformat.NotebookNode) -> list[tuple[int, dict[str, int], str]]:
    """(cell index, counts, html) of every frozen call summary among the saved outputs."""
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            if 'class="cnb-frozen"' in html:
                head = html.split(">", 1)[0]
                counts = {k: int(v) for k, v in re.findall(r'data-(\w+)="(\d+)"', head)}
                found.append((index, counts, html))
    return found


def check_frozen_summaries(nb: nbformat.NotebookNode, stem: str) -> None:
    """Each frozen summary is static text/html with its call's final counts, adding up."""
    summaries = frozen_summaries(nb)
    for index, c, html in summaries:
        assert c["succeeded"] + c["failed"] + c["cancelled"] == c["total"], (index, c)
        assert c["queued"] == c["running"] == c["cancelling"] == 0, (index, c)
        assert f"{c['succeeded']} done of {c['total']}" in html
        assert "<svg" in html and 'class="cnb-series"' in html
    if stem == "01_quickstart":
        # The 20-input map under cell 3 and the 100-input call of the Dashboard cell.
        totals = [c["total"] for _, c, _ in summaries]
        assert totals[:2] == [20, 100], totals
        assert all(c["succeeded"] == c["total"] for _, c, _ in summaries[:2])
