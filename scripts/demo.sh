#!/usr/bin/env bash
# The demo: the seed's whole plan on the demo database, step by step as a data engineer runs it.
# Load the seed incident across its tenant graph (DEMO_DATA_SET, default incident_graph), show its tenant
# tables (discover), repair the graph with tenant_backfill (a dry run of every spec, then the real run:
# customers first, then appointments and calls in parallel), validate it (tenant_validation_daily), add
# NOT NULL + FK with tenant_constraints (archiving the soft-deleted orphans), and show the tenant tables again.
# DEMO_DATA_SET=all adds data set 2, the rows a person has to decide: the repair leaves them in the review
# queue and tenant_constraints refuses, naming them — the demo prints why and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AIRFLOW_CONN_TENANT_DB:?set AIRFLOW_CONN_TENANT_DB}"
SPECS=(customers_company appointments_company calls_company)
.venv/bin/python -m tenant_integrity load-demo --data-set "${DEMO_DATA_SET:-incident_graph}"
registry() {  # discover: one row per tenant table with its status; `check` is the policy a CI would enforce
  echo "==> tenant tables $1 (python -m tenant_integrity discover)"
  .venv/bin/python -m tenant_integrity discover
}
log_text() {  # a task log's lines as a person reads them: no timestamp, level or logger suffix
  sed -E 's/^[0-9TZ:.-]+ \[[a-z]+ *\] //; s/ \[tenant_integrity[^]]*\] loc=.*$//'
}
run() {  # airflow dags test <dag> <label> <conf> [<what an expected failure logs>], keeping the full log
  local dag=$1 label=$2 conf=$3 expected=${4:-} log=".airflow/demo-$2.log"
  echo "==> $dag $label: $conf (log: $log)"
  if .venv/bin/airflow dags test "$dag" -c "$conf" >"$log" 2>&1 && grep -q "state=success" "$log"; then
    return 0
  fi
  if [[ -n $expected ]] && grep -q "$expected" "$log"; then  # data set 2's rows: the tool says why and stops
    awk -v said="$expected" 'found && (/^[0-9]{4}-/ || /^Traceback/ || /^$/) {exit} index($0, said) {found=1} found' "$log" |
      log_text | sed -E 's/^[a-z_.]+\.[A-Za-z]+: //'  # and no exception class before the message
    return 0
  fi
  tail -60 "$log"; echo "demo: the $dag $label run failed (full log: $log)" >&2; exit 1
}
registry before
run tenant_backfill dry-run '{"specs": ["all"], "dry_run": true}'
grep -A3 "tenant_backfill run order" ".airflow/demo-dry-run.log" | head -4
for spec in "${SPECS[@]}"; do .venv/bin/python -m tenant_integrity show-plan --spec "$spec"; done
run tenant_backfill real-run '{"specs": ["all"], "dry_run": false}'
for spec in "${SPECS[@]}"; do .venv/bin/python -m tenant_integrity show-summary --spec "$spec"; done
registry "after the repair"
# the daily validation mails on-call: with no AIRFLOW_CONN_SMTP_DEFAULT, a local catcher is the inbox
if [ -z "${AIRFLOW_CONN_SMTP_DEFAULT:-}" ]; then
  port_file=.airflow/demo-mail.port; rm -f "$port_file"
  .venv/bin/python scripts/mail_catcher.py --dir .airflow/demo-mail --port-file "$port_file" >.airflow/demo-mail.log &
  trap 'kill $! 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
  [ -s "$port_file" ] || { echo "demo: the mail catcher did not start (scripts/mail_catcher.py)" >&2; exit 1; }
  export AIRFLOW_CONN_SMTP_DEFAULT="smtp://127.0.0.1:$(cat "$port_file")?disable_tls=true&disable_ssl=true&from_email=tenant-integrity%40localhost"
  export AIRFLOW_VAR_ON_CALL_EMAIL=${AIRFLOW_VAR_ON_CALL_EMAIL:-oncall@localhost}
fi
run tenant_validation_daily validation '{}' "one mail sent to"
grep -E "^validation of spec .*(PASSED|FAILED)" ".airflow/demo-validation.log" || true
# one clean validation is enough for a demo; production keeps clean_days at its default (7 days)
for spec in "${SPECS[@]}"; do
  run tenant_constraints "constraints-$spec" \
    "{\"spec\": \"$spec\", \"dry_run\": false, \"clean_days\": 1, \"archive_orphans\": true}" \
    "refused, nothing changed"
  grep -hE "archived [0-9]+ soft-deleted|applied online|cannot do this online" ".airflow/demo-constraints-$spec.log" |
    log_text | sed 's/^/  /' || true
done
registry "after the constraints"
