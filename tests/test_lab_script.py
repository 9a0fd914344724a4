"""The README's main command, ``bash scripts/lab.sh``, serves JupyterLab on the tutorials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sshd import free_port

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.real, pytest.mark.timeout(240)]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_lab_script_serves_jupyterlab_on_the_tutorials_at_127_0_0_1() -> None:
    port, token = free_port(), "concur-nb-test-token"
    env = {**os.environ, "CONCUR_NB_LAB_PORT": str(port), "CONCUR_NB_LAB_TOKEN": token}
    log = (ROOT / "test-artifacts").resolve()
    log.mkdir(exist_ok=True)
    with (log / "lab.log").open("w+") as out:
        lab = subprocess.Popen(
            ["bash", "scripts/lab.sh", "--no-browser"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so the whole group (bash, jupyter) can be stopped
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            status = 0
            while time.monotonic() < deadline and lab.poll() is None:
                try:
                    status, _ = get(f"{base}/lab?token={token}")
                except OSError:
                    status = 0
                if status == 200:
                    break
                time.sleep(0.5)
            out.seek(0)
            said = out.read()
            assert status == 200, f"JupyterLab did not answer on {base}/lab:\n{said}"
            assert f"{base}/lab?token={token}" in said  # the URL the user is told to open
            # Without the token the API refuses; with it, the tutorials are the root folder.
            assert get(f"{base}/api/contents")[0] == 403
            status, listing = get(f"{base}/api/contents?token={token}")
            assert status == 200 and "01_quickstart.ipynb" in listing
            # No news prompt: it covered the corner of the dashboards.
            url = f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification"
            status, body = get(f"{url}?token={token}")
            defaults = json.loads(body)["schema"]["properties"]  # the overrides land here
            assert status == 200 and defaults["fetchNews"]["default"] == "false"
            assert defaults["checkForUpdates"]["default"] is False
        finally:
            stop(lab)


def test_lab_script_installs_only_what_jupyterlab_needs() -> None:
    script = (ROOT / "scripts" / "lab.sh").read_text()
    assert "bash scripts/setup.sh" not in script and "apt-get" not in script
    assert '".[lab]"' in script
    extras = (ROOT / "pyproject.toml").read_text()
    assert 'lab = ["concur-nb[notebook,web]", "jupyterlab' in extras  # no test tools, no ray


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group we started (bash and the JupyterLab it exec'd)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=20)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()
