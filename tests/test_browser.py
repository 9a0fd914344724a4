"""The dashboard as a user sees it: JupyterLab in a real headless Chromium.

A notebook launches background work and shows ``tune(fn)`` (sliders beside the live
dashboard). The test watches the slot bars and the queue depth move while the work runs, moves
the ``max_inputs`` slider and sees the slots in use follow, selects an input and sees its own
log lines, and saves a screenshot in ``test-artifacts/`` (``CONCUR_NB_UPDATE_SCREENSHOT=1``
also copies it to ``docs/dashboard.png``, the README's picture). Under ``CI=true`` a missing
browser fails; elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = [pytest.mark.real, pytest.mark.timeout(180)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

NOTEBOOK_CELL = """\
import time
import concur_nb
from concur_nb.notebook.tuning import tune

@concur_nb.concurrent(max_inputs=2)
@concur_nb.function(max_containers=1, name="slow_io")
def slow_io(x):
    for step in range(3):
        print(f"{concur_nb.current_input_id()} step {step} of item {x}")
        time.sleep(0.3)
    return x

call = slow_io.spawn_map(range(300))  # in the background: the kernel stays free for sliders
tune(slow_io)
"""


def require_browser() -> Any:
    """Playwright's sync API, or a skip (a failure under CI=true) when the browser is missing."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
        sync_api = None
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return sync_api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    """JupyterLab on a notebook that runs ``tune(slow_io)``; yields the notebook's URL."""
    nb = new_notebook(cells=[new_code_cell(NOTEBOOK_CELL)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    work = tmp_path / "work"
    work.mkdir()
    nbformat.write(nb, work / "dashboard.ipynb")
    with serve_lab(tmp_path, work) as base:
        yield f"{base}/lab/tree/dashboard.ipynb?token={TOKEN}"


TOKEN = "concur-nb-test-token"


@contextlib.contextmanager
def serve_lab(tmp_path: Path, work: Path) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 with a token, serving ``work``, isolated from the user's
    settings; yields its base URL."""
    port = free_port()
    settings = tmp_path / "lab-settings" / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "notebook-extension").mkdir(parents=True)
    # No news or update checks: the machine is offline, and toasts would cover the dashboard.
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Every cell stays rendered (no windowing), so views far up the page can be read.
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        PYTHONPATH=str(ROOT),
    )
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=",
            "--LabApp.extension_manager=readonly",  # no calls to PyPI
            "--LabApp.expose_app_in_browser=True",  # the test runs all cells as the menu does
            "--allow-root",  # containers and CI often run as root
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if server.poll() is not None:
                log.flush()
                tail = (tmp_path / "lab.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"JupyterLab exited with {server.returncode}:\n{tail}")
            return _answers(f"{base}/api/status?token={TOKEN}")

        wait_for(ready, 60, "JupyterLab to start")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def test_dashboard_moves_live_follows_the_slider_and_shows_an_inputs_logs(lab: str) -> None:
    sync_api = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(lab)
            run_first_cell(page)
            check_dashboard(page)
        except BaseException:
            if "page" in locals():
                page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"))
            raise
        finally:
            browser.close()


def run_first_cell(page: Any) -> None:
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content")
    # The status bar names the kernel once it is connected; a cell run before that is dropped.
    page.locator(".jp-StatusBar-TextItem", has_text="(ipykernel) | Idle").wait_for()
    page.click(".jp-Notebook .jp-Cell .cm-content")
    page.keyboard.press("Shift+Enter")


def check_dashboard(page: Any) -> None:
    header = page.locator(".cnb-header")
    header.wait_for(timeout=90_000)

    def attr(locator: Any, name: str) -> str | None:
        try:
            return str(locator.first.get_attribute(name, timeout=2000))
        except Exception:
            return None

    # The work runs: two slots busy on one container, and the queue drains.
    bar = page.locator(".cnb-bar")
    wait_for(lambda: attr(bar, "data-in-use") == "2", 30, "the slot bar to show 2 in use")
    first = int(attr(header, "data-queued") or 0)
    wait_for(
        lambda: int(attr(header, "data-queued") or first) < first,
        30,
        "the queue depth to go down",
    )

    # Move max_inputs to 6 the way a user can: type into the slider's readout.
    readout = page.locator(".cnb-tune-max_inputs .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    page.keyboard.press("Enter")
    wait_for(lambda: attr(bar, "data-in-use") == "6", 30, "slots in use to follow the slider to 6")
    assert attr(bar, "data-max") == "6"
    # The header is another widget: its update may reach the page a moment after the bar's.
    wait_for(lambda: attr(header, "data-max-inputs") == "6", 10, "the header to say max 6")

    # Select a running input: its own log lines, and only those, show up.
    options = page.locator(".cnb-inputs select option")
    label = wait_for(
        # ipywidgets writes the spaces of option labels as no-break spaces
        lambda: next((t for t in options.all_inner_texts() if "running" in t), None),
        30,
        "a running input in the list",
    )
    input_id = label.split()[0]
    # Pick it by id, as a click would: the labels of running inputs tick over once a second.
    page.locator(".cnb-inputs select").evaluate(
        """(select, id) => {
            const i = [...select.options].findIndex(o => o.text.split(/\\s/)[0] === id);
            select.selectedIndex = i;
            select.dispatchEvent(new Event("change", {bubbles: true}));
        }""",
        input_id,
    )
    lines = page.locator(".cnb-log .cnb-log-line")
    wait_for(lambda: lines.count() >= 1, 30, f"log lines of {input_id}")
    texts = lines.all_inner_texts()
    assert texts and all(t.startswith(f"{input_id} step ") for t in texts), (input_id, texts)

    # The charts are SVG drawn in the kernel, with their data: points from the first frame.
    charts = page.locator(".cnb-dashboard svg.cnb-chart")
    wait_for(lambda: charts.count() == 2, 30, "both charts")
    wait_for(lambda: drawn_points(page.locator(".cnb-dashboard")) >= 2, 30, "points drawn")
    page.wait_for_timeout(1000)  # let them draw a few more points before the picture
    target = page.locator(".cnb-tuner")
    target.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    if os.environ.get("CONCUR_NB_UPDATE_SCREENSHOT") == "1":  # the README's picture, on demand
        shutil.copy(ARTIFACTS / "dashboard.png", ROOT / "docs" / "dashboard.png")


PANEL_CELL = """\
import time
import concur_nb
from concur_nb.notebook import Dashboard

@concur_nb.concurrent(max_inputs=4)
def docked(x):
    time.sleep(0.2)
    return x

call = docked.spawn_map(range(200))
Dashboard(docked, where="panel")
"""


def test_a_docked_view_opens_in_a_side_panel(tmp_path: Path) -> None:
    sync_api = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir()
    nb = new_notebook(cells=[new_code_cell(PANEL_CELL)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, work / "panel.ipynb")
    with serve_lab(tmp_path, work) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/panel.ipynb?token={TOKEN}")
            run_first_cell(page)
            page.locator(".jp-OutputArea-output", has_text="shown in a side panel").wait_for()
            docked = page.locator(".cnb-dashboard")
            docked.first.wait_for(timeout=60_000)
            # Not under the cell: in the panel beside the notebook.
            inside = docked.first.evaluate("e => !!e.closest('.jp-Notebook')")
            assert not inside, "the docked view was drawn in the notebook"
            head = docked.first.locator(".cnb-header").first
            wait_for(lambda: int(head.get_attribute("data-succeeded") or 0) > 0, 30, "work done")
            assert "totals of all its calls" in head.inner_text()
            page.screenshot(path=str(ARTIFACTS / "panel.png"))
        except BaseException:
            if "page" in locals():
                page.screenshot(path=str(ARTIFACTS / "panel-failure.png"))
            raise
        finally:
            browser.close()


# --- the tutorials' views ---------------------------------------------------------------------


def drawn_points(view: Any) -> int:
    """The most points any line of ``view``'s charts has on screen (0: a blank chart)."""
    counts = view.locator("svg.cnb-chart polyline.cnb-series").evaluate_all(
        """lines => lines.map(l => {
            const box = l.getBBox();
            const n = l.points.numberOfItems;
            return (box.width > 0 || box.height > 0) ? n : Math.min(n, 1);
        })"""
    )
    return max(counts, default=0)


def view_counts(view: Any) -> dict[str, int]:
    attrs = view.evaluate("e => Object.assign({}, e.dataset)")
    return {k: int(v) for k, v in attrs.items() if str(v).isdigit()}


def run_all_cells(page: Any) -> None:
    # A code cell's editor: a rendered markdown cell's editor is in the page but hidden.
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content")
    page.locator(".jp-StatusBar-TextItem", has_text="(ipykernel) | Idle").wait_for()
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def all_cells_done(page: Any) -> bool:
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    return bool(prompts) and all(re.search(r"\[\d+\]", p) for p in prompts)


@pytest.mark.timeout(420)
@pytest.mark.parametrize("stem", ["01_quickstart", "03_tuning"])
def test_tutorial_views_draw_points_count_their_call_and_stay_frozen(
    stem: str, tmp_path: Path
) -> None:
    sync_api = require_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    work = tmp_path / "work"
    work.mkdir()
    for name in (f"{stem}.ipynb", "demo_api.py"):
        shutil.copy(ROOT / "notebooks" / name, work / name)
    with serve_lab(tmp_path, work) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/{stem}.ipynb?token={TOKEN}")
            run_all_cells(page)
            check_tutorial_views(page, stem)
        except BaseException:
            if "page" in locals():
                page.screenshot(path=str(ARTIFACTS / f"{stem}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def check_tutorial_views(page: Any, stem: str) -> None:
    frozen = page.locator(".cnb-frozen")
    # The first view freezes while later cells still run: keep what it showed then.
    frozen.first.wait_for(timeout=120_000)
    first_html = frozen.first.inner_html()
    first = view_counts(frozen.first)
    if stem == "01_quickstart":
        assert first["total"] == 20 and first["succeeded"] == 20, first  # cell 3: 20 inputs
        assert "20 done of 20" in frozen.first.inner_text()
    frozen.first.scroll_into_view_if_needed()
    frozen.first.screenshot(path=str(ARTIFACTS / f"{stem}-view.png"))
    if os.environ.get("CONCUR_NB_UPDATE_SCREENSHOT") == "1":
        shutil.copy(ARTIFACTS / f"{stem}-view.png", ROOT / "docs" / f"{stem}-view.png")
    wait_for(lambda: all_cells_done(page), 300, "every cell to run")
    page.wait_for_timeout(1500)  # the last refresher ticks land
    assert not page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        has_text="Traceback",
    ).count()
    # Later cells ran more work on the same function: the summary above did not move.
    assert frozen.first.inner_html() == first_html
    views = frozen.all()
    assert views, "no frozen summary"
    for view in views:
        c = view_counts(view)
        assert c["succeeded"] + c["failed"] + c["cancelled"] == c["total"], c
        assert f"{c['succeeded']} done of {c['total']}" in view.inner_text()
        assert drawn_points(view) >= 2, f"a blank chart in the summary of {c}"
    if stem == "01_quickstart":
        assert [view_counts(v)["total"] for v in views[:2]] == [20, 100]
    for live in page.locator(".cnb-dashboard").all():  # views still live (a function's)
        assert drawn_points(live) >= 2, "a live view with a blank chart"
        head = live.locator(".cnb-header").first
        if head.get_attribute("data-scope") == "function":
            assert "totals of all its calls" in head.inner_text()
