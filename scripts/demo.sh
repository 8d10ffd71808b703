#!/usr/bin/env bash
# The demo: load the shipped demo database, run tenant_backfill as a dry run, then for real.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AIRFLOW_CONN_TENANT_DB:?set AIRFLOW_CONN_TENANT_DB}"
.venv/bin/python -m tenant_integrity load-demo --data-set all
run() {  # airflow dags test, keeping the full log and showing the plan/summary the task printed
  local label=$1 conf=$2 log=".airflow/demo-$1.log"
  echo "==> tenant_backfill $label: $conf (log: $log)"
  if ! .venv/bin/airflow dags test tenant_backfill -c "$conf" >"$log" 2>&1; then
    tail -60 "$log"; echo "demo: the $label run failed (full log: $log)" >&2; exit 1
  fi
  grep -q "state=success" "$log" || { tail -40 "$log"; echo "demo: the $label run did not succeed" >&2; exit 1; }
}
run dry-run '{"dry_run": true}'
.venv/bin/python -m tenant_integrity show-plan
run real-run '{"dry_run": false}'
.venv/bin/python -m tenant_integrity show-summary
