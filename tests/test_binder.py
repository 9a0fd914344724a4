"""A fresh environment built from ``binder/`` the way Binder builds it runs the tutorials.

repo2docker installs ``binder/requirements.txt`` with pip, then runs ``binder/postBuild`` in the
repository. This test does the same in a new virtualenv (pip's cache makes a second run quick),
checks that JupyterLab's widget and plotly extensions are there prebuilt, imports concur_nb,
and executes tutorial 1 with that environment's own kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 180  # seconds for the whole build and run

pytestmark = [pytest.mark.real, pytest.mark.timeout(BUDGET + 60)]

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=90, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
print("executed", len(nb.cells), "cells")
"""


def run(argv: list[str], env: dict[str, str], deadline: float) -> str:
    left = deadline - time.monotonic()
    assert left > 0, f"out of time before {argv}"
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=left, check=False
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_binder_environment_installs_concur_nb_and_runs_tutorial_1(tmp_path: Path) -> None:
    pip_index_reachable = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-d",
                str(tmp_path / "probe"),
                "--quiet",
                "cloudpickle",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        ).returncode
        == 0
    )
    require(pip_index_reachable, "the Python package index (for a Binder-like build)")
    deadline = time.monotonic() + BUDGET
    venv = tmp_path / "binder-env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=60)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",  # as in Binder's image
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    python = str(venv / "bin" / "python")
    run([python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], env, deadline)
    run(["bash", "binder/postBuild"], env, deadline)

    # JupyterLab 4 + ipywidgets 8: the widget, anywidget and plotly extensions come prebuilt.
    labextensions = venv / "share" / "jupyter" / "labextensions"
    for extension in ("@jupyter-widgets/jupyterlab-manager", "anywidget", "jupyterlab-plotly"):
        assert (labextensions / extension).is_dir(), f"{extension} is not installed"
    where = run([python, "-c", "import concur_nb; print(concur_nb.__file__)"], env, deadline)
    assert Path(where.strip()).parent == ROOT / "concur_nb"  # postBuild installed this repo
    notebook = ROOT / "notebooks" / "01_quickstart.ipynb"
    said = run([python, "-c", EXECUTE, str(notebook), str(notebook.parent)], env, deadline)
    assert "executed" in said
