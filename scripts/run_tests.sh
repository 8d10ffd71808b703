#!/usr/bin/env bash
# Every test layer (dags, unit, integration, e2e) plus lint. pytest's exit code 5 ("no tests
# collected") is a failure here: an empty run proves nothing.
# The tests run in TEST_WORKERS pytest-xdist workers (default 3: most tests wait on MariaDB or on an Airflow
# subprocess; a first run with 4 on the 2 cores reached the server's max_connections and timed out waits).
# --dist loadgroup keeps the groups tests/helpers/xdist_worker.py sets
# (the Airflow/browser tests on one worker; a module-scoped fixture made once) and hands the longest work out first.
# TEST_WORKERS=0 runs them in this one process, as a plain `pytest tests/x.py` does.
set -uo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.airflow}"
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1
.venv/bin/python -m pytest -n "${TEST_WORKERS:-3}" --dist loadgroup --no-loadscope-reorder --durations=25 "${@:-tests}"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: treating the empty run as a failure" >&2
  exit 1
fi
exit "$code"
