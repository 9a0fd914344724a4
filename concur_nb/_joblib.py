"""A joblib parallel backend that runs joblib's tasks on concur_nb containers.

Code written with ``joblib.Parallel`` (scikit-learn's ``n_jobs`` included) runs its tasks in
worker processes, on SSH hosts, or on threads, and shows up in concur_nb's live state like any
other function::

    with joblib.parallel_config(backend="concur_nb", n_jobs=8):
        GridSearchCV(model, grid).fit(X, y)  # tasks run in 8 local worker processes

    with joblib.parallel_config(backend="concur_nb", where=concur_nb.ssh("gpu-box"), n_jobs=16,
                                max_inputs=4):
        ...

``where`` picks the containers (``"process"`` by default, ``"thread"``, or ``concur_nb.ssh``);
``max_inputs`` is how many tasks one container runs at once (1 suits CPU-bound tasks in
processes). ``n_jobs`` tasks run at a time, on ``ceil(n_jobs / max_inputs)`` containers. The
containers are shared by every backend with the same ``where`` and ``max_inputs``, so a second
``Parallel`` call finds them warm; idle ones retire after ``scaledown_window`` seconds.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from joblib.parallel import AutoBatchingMixin, ParallelBackendBase, register_parallel_backend

from ._errors import InvalidError

NAME = "concur_nb"

# (id of where, max_inputs) -> (where, concur_nb Function); holding ``where`` keeps its id unique
_shared: dict[tuple[int, int], tuple[Any, Any]] = {}
_shared_lock = threading.Lock()


def run_task(task: Any) -> Any:
    """What a container runs: one joblib batch of calls."""
    return task()


def _function_for(where: Any, max_inputs: int, scaledown_window: float) -> Any:
    import concur_nb

    key = (id(where), max_inputs)
    with _shared_lock:
        if key not in _shared or _is_shut_down(_shared[key][1]):
            backend = None if where == "thread" else where
            concurrent = concur_nb.concurrent(max_inputs=max_inputs)(run_task)
            function = concur_nb.function(
                backend=backend, name="joblib", scaledown_window=scaledown_window
            )(concurrent)
            _shared[key] = (where, function)
        return _shared[key][1]


def _is_shut_down(function: Any) -> bool:
    """True once ``concur_nb.shutdown()`` (or ``function.shutdown()``) retired it."""
    closed = getattr(function, "closed", None)  # the public flag, where the engine has one
    if closed is None:
        closed = function._pool_now().closed
    return bool(closed)


class ConcurNbBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's view of concur_nb containers; see the module docstring."""

    supports_retrieve_callback = True
    supports_inner_max_num_threads = False

    def __init__(
        self,
        where: Any = "process",
        max_inputs: int = 1,
        scaledown_window: float = 60.0,
        nesting_level: int | None = None,
        inner_max_num_threads: int | None = None,
        **backend_kwargs: Any,
    ) -> None:
        super().__init__(
            nesting_level=nesting_level,
            inner_max_num_threads=inner_max_num_threads,
            **backend_kwargs,
        )
        if isinstance(max_inputs, bool) or not isinstance(max_inputs, int) or max_inputs < 1:
            raise InvalidError(
                f"max_inputs={max_inputs!r}: use a positive int (tasks per container)."
            )
        self.where = where
        self.max_inputs = max_inputs
        self.scaledown_window = scaledown_window
        self._function: Any = None
        self._waiters: ThreadPoolExecutor | None = None

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None:
            return 1
        if n_jobs < 0:
            hosts = getattr(self.where, "max_containers", lambda: None)()
            total = hosts * self.max_inputs if hosts else (os.cpu_count() or 1)
            return max(total + 1 + n_jobs, 1)
        return n_jobs

    def configure(
        self,
        n_jobs: int = 1,
        parallel: Any = None,
        prefer: str | None = None,
        require: str | None = None,
        **backend_kwargs: Any,
    ) -> int:
        n_jobs = self.effective_n_jobs(n_jobs)
        self.parallel = parallel
        self._function = _function_for(self.where, self.max_inputs, self.scaledown_window)
        self._function.update(max_containers=math.ceil(n_jobs / self.max_inputs))
        # Each pending task waits for its result in one of these threads; joblib keeps about
        # 2 * n_jobs tasks pending, so the engine always sees the real queue.
        self._waiters = ThreadPoolExecutor(4 * n_jobs, thread_name_prefix="concur_nb-joblib")
        return n_jobs

    def submit(self, func: Any, callback: Any = None) -> Future[Any]:
        assert self._waiters is not None, "submit before configure"
        future = self._waiters.submit(self._function.remote, func)
        if callback is not None:
            future.add_done_callback(callback)
        return future

    def retrieve_result_callback(self, out: Future[Any]) -> Any:
        return out.result()

    def abort_everything(self, ensure_ready: bool = True) -> None:
        if self._function is not None:
            self._function.cancel_all()
        if self._waiters is not None:
            self._waiters.shutdown(wait=False, cancel_futures=True)
            self._waiters = None
        if ensure_ready and self.parallel is not None:
            self.configure(n_jobs=self.parallel.n_jobs, parallel=self.parallel)

    def terminate(self) -> None:
        # The containers stay warm for the next Parallel call and retire when idle.
        if self._waiters is not None:
            self._waiters.shutdown(wait=True)
            self._waiters = None
        self.reset_batch_stats()


def register() -> None:
    """Make ``backend="concur_nb"`` available to joblib (done on ``import joblib``)."""
    register_parallel_backend(NAME, ConcurNbBackend)
