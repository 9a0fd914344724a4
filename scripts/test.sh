#!/usr/bin/env bash
# Sets up everything from nothing, then runs every check: ruff (format and lint), mypy, pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k autoscale`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== ruff check";          .venv/bin/ruff check .
echo "== mypy";                .venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
