"""joblib code runs its tasks on concur_nb containers with ``backend="concur_nb"``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import joblib
import pytest

import concur_nb
from concur_nb._joblib import ConcurNbBackend, register
from concur_nb._joblib_hook import install


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    install()  # what ``import concur_nb`` does; registers at once since joblib is loaded
    yield
    concur_nb.shutdown()


def joblib_function() -> concur_nb.Function:
    """The concur_nb function the backend runs joblib's tasks through (the newest one)."""
    return [f for f in concur_nb.functions() if f.name == "joblib"][-1]  # type: ignore[return-value]


def pid_of(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def explode(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def test_a_joblib_parallel_run_happens_in_concur_nb_worker_processes() -> None:
    with joblib.parallel_config(backend="concur_nb", n_jobs=2):
        results = joblib.Parallel()(joblib.delayed(pid_of)(x) for x in range(20))
    assert [r[0] for r in results] == [x * x for x in range(20)]
    assert os.getpid() not in {r[1] for r in results}
    function = joblib_function()
    snapshot = function.snapshot()
    assert snapshot.backend == "process" and snapshot.succeeded >= 1
    assert 1 <= len(snapshot.containers) <= 2


def test_a_task_error_reaches_the_caller_of_parallel() -> None:
    with (
        joblib.parallel_config(backend="concur_nb", n_jobs=2),
        pytest.raises(ValueError, match="three is not allowed"),
    ):
        joblib.Parallel()(joblib.delayed(explode)(x) for x in range(6))


def test_a_scikit_learn_grid_search_runs_on_concur_nb_containers() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1.0, 10.0]}, cv=3)
    with joblib.parallel_config(backend="concur_nb", n_jobs=2):
        search.fit(X, y)
    assert search.best_score_ > 0.9
    assert joblib_function().snapshot().succeeded >= 1


def test_thread_containers_serve_joblib_too() -> None:
    with joblib.parallel_config(backend="concur_nb", where="thread", max_inputs=4, n_jobs=4):
        results = joblib.Parallel()(joblib.delayed(pid_of)(x) for x in range(8))
    assert {r[1] for r in results} == {os.getpid()}


def test_bad_backend_settings_are_refused() -> None:
    with pytest.raises(concur_nb.InvalidError, match="max_inputs=0"):
        ConcurNbBackend(max_inputs=0)


def test_importing_joblib_after_concur_nb_registers_the_backend() -> None:
    script = (
        "import sys; import concur_nb._joblib_hook as hook; hook.install(); "
        "assert 'joblib' not in sys.modules; import joblib.parallel as p; "
        "print('concur_nb' in p.BACKENDS)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr
    register()  # idempotent
