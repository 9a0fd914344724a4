#!/usr/bin/env bash
# Sets up everything from nothing, then runs every check: ruff (format and lint), mypy, pytest,
# then the async engine's tests again on uvloop. Extra arguments go to both pytest passes,
# e.g. `bash scripts/test.sh -k autoscale`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== ruff check";          .venv/bin/ruff check .
echo "== mypy";                .venv/bin/mypy
# Async containers run on uvloop when it is installed (the test extra brings it), else on the
# stdlib loop. The main pass runs on the stdlib loop, the one every install has; the second
# forces uvloop over the engine-level files whose inputs run on an async container (its loop,
# lag watch, cancels, per-input logs, the process worker's loop, Modal's async verbs and web
# endpoints). Left out of it to keep CI time sane: the browser, notebook-kernel, Ray and SSH
# files (SSH's far side is the worker the process tests run), and test_uvloop.py and
# test_async_identity.py, which choose their loop themselves.
echo "== pytest (CONCUR_NB_UVLOOP=0)"
status=0
CONCUR_NB_UVLOOP=0 .venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?

uvloop_files=(
    tests/test_accounting.py tests/test_api_bugs.py tests/test_broken_exceptions.py
    tests/test_cancellation.py tests/test_faults.py tests/test_function_call.py
    tests/test_logs_and_identity.py tests/test_loop_lag.py tests/test_placement.py
    tests/test_process_containers.py tests/test_shutdown.py tests/test_soak.py
    tests/test_timing_rules.py tests/test_validation.py tests/test_modal_compat.py
    tests/test_modal_generators.py tests/test_modal_dict_queue.py tests/test_modal_web.py
)
echo "== pytest on uvloop (CONCUR_NB_UVLOOP=1)"
uvloop_status=0
CONCUR_NB_UVLOOP=1 .venv/bin/python -m pytest -q -p no:cacheprovider "${uvloop_files[@]}" "$@" \
    || uvloop_status=$?
# 5: the arguments (-k ...) selected none of these files' tests; not a failure of this pass.
if [ "$uvloop_status" -ne 0 ] && [ "$uvloop_status" -ne 5 ] && [ "$status" -eq 0 ]; then
    status=$uvloop_status
fi
exit "$status"
