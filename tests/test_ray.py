"""Ray containers on a real two-node Ray cluster, each test of ``tests/ray_suite.py`` here.

The cluster and the suite's driver must live in a network namespace of their own (Ray's
processes try non-loopback addresses; see ``tests/ray_namespace.py``), so one pytest process
runs the whole suite in there once, and each of its tests is reported here under its own name:
bringing the cluster up once (~20 s on 2 cores) instead of per test keeps CI short.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import ray_namespace
from conftest import require

SUITE = Path(__file__).with_name("ray_suite.py")
EXIT = "<exit>"
SUITE_BUDGET = 420  # seconds: cluster up (retried on a loaded machine), every test, down
NAMES = [
    node.name
    for node in ast.parse(SUITE.read_text()).body
    if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
]


@pytest.fixture(scope="module")
def suite_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """Run the suite once in the namespace; each test's failure text (None: it passed)."""
    why = ray_namespace.missing()
    require(why is None, f"a namespace with Ray ({why})")
    report = tmp_path_factory.mktemp("ray") / "junit.xml"
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(SUITE)]
    done = ray_namespace.run([*pytest_argv, f"--junitxml={report}"], timeout=SUITE_BUDGET)
    if not report.exists():
        pytest.fail(
            f"the Ray suite did not run (exit {done.returncode}):\n{done.stdout[-4000:]}"
            f"\n{done.stderr[-4000:]}"
        )
    results: dict[str, str | None] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        found = [case.find(kind) for kind in ("failure", "error", "skipped")]
        problem = next((item for item in found if item is not None), None)
        text = (
            None if problem is None else (problem.get("message", "") + "\n" + (problem.text or ""))
        )
        results[case.get("name", "")] = text
    # Not a test name: how the suite's process ended (a crash at exit shows only here).
    results[EXIT] = (
        None if done.returncode == 0 else f"exit {done.returncode}:\n{done.stderr[-4000:]}"
    )
    return results


@pytest.mark.real
@pytest.mark.timeout(SUITE_BUDGET + 60)  # the first one waits for the whole suite
@pytest.mark.parametrize("name", NAMES)
def test_on_a_two_node_ray_cluster(name: str, suite_results: dict[str, str | None]) -> None:
    assert name in suite_results, f"{name} did not run in the Ray suite"
    problem = suite_results[name]
    if problem is not None:
        pytest.fail(problem[-6000:], pytrace=False)


@pytest.mark.real
@pytest.mark.timeout(SUITE_BUDGET + 60)
def test_the_suite_process_exits_cleanly(suite_results: dict[str, str | None]) -> None:
    """Its actors end before Ray's own exit hook: no crash, no hang at interpreter exit."""
    assert suite_results[EXIT] is None, suite_results[EXIT]
