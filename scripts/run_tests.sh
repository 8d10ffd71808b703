#!/usr/bin/env bash
# Every test layer (dags, unit, integration, e2e) plus lint. pytest's exit code 5 ("no tests
# collected") is a failure here: an empty run proves nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME="${AIRFLOW_HOME:-$PWD/.airflow}"
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1
.venv/bin/python -m pytest "${@:-tests}"
code=$?
if [ "$code" -eq 5 ]; then
  echo "pytest collected no tests: treating the empty run as a failure" >&2
  exit 1
fi
exit "$code"
