#!/usr/bin/env bash
# The demo: load the shipped demo database, show its tenant tables (discover), repair the whole tenant graph
# with tenant_backfill (a dry run of every spec, then the real run: customers first, then appointments and
# calls in parallel), and show the tenant tables again.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AIRFLOW_CONN_TENANT_DB:?set AIRFLOW_CONN_TENANT_DB}"
.venv/bin/python -m tenant_integrity load-demo --data-set all
registry() {  # discover: one row per tenant table with its status; `check` is the policy a CI would enforce
  echo "==> tenant tables $1 (python -m tenant_integrity discover)"
  .venv/bin/python -m tenant_integrity discover
}
run() {  # airflow dags test, keeping the full log
  local label=$1 conf=$2 log=".airflow/demo-$1.log"
  echo "==> tenant_backfill $label: $conf (log: $log)"
  if ! .venv/bin/airflow dags test tenant_backfill -c "$conf" >"$log" 2>&1; then
    tail -60 "$log"; echo "demo: the $label run failed (full log: $log)" >&2; exit 1
  fi
  grep -q "state=success" "$log" || { tail -40 "$log"; echo "demo: the $label run did not succeed" >&2; exit 1; }
  grep -A3 "tenant_backfill run order" "$log" | head -4
}
registry before
run dry-run '{"specs": ["all"], "dry_run": true}'
for spec in customers_company appointments_company calls_company; do
  .venv/bin/python -m tenant_integrity show-plan --spec "$spec"
done
run real-run '{"specs": ["all"], "dry_run": false}'
for spec in customers_company appointments_company calls_company; do
  .venv/bin/python -m tenant_integrity show-summary --spec "$spec"
done
registry after
