#!/usr/bin/env bash
# Airflow 3 locally on the demo database: `airflow standalone` (api-server + scheduler + dag-processor
# + triggerer, LocalExecutor, SQLite) with the project's DAGs. Prints the URL and the login, then
# runs in the foreground until Ctrl-C. `make airflow` runs it after the set-up.
#
#   AIRFLOW_CONN_TENANT_DB  the database the DAGs work on (required; `make airflow`: the demo database)
#   AIRFLOW_PORT            port of the UI, the REST API and the execution API (default 8080)
#   AIRFLOW_HOME            default .airflow/ (project-local; SQLite metadata DB, logs, config)
#   TENANT_REVIEW_DIR       where plans and review CSVs go (default review/)
#   TENANT_DEMO_DATA_SET    demo data set loaded when the database does not exist yet (default all)
#   TENANT_DEMO_RELOAD=1    drop and reload the demo data set even if the database exists
#   AIRFLOW_ADMIN_PASSWORD  password of user admin when none was generated yet (default: random)
#   AIRFLOW_CONN_SMTP_DEFAULT  your SMTP server for the on-call mail; unset: a local catcher
#                           (scripts/mail_catcher.py) writes each mail to $AIRFLOW_HOME/mail/
#   AIRFLOW_VAR_ON_CALL_EMAIL  who gets it (default with the catcher: oncall@localhost)
#   TENANT_MAIL_CATCHER=0   no catcher (smtp_default comes from the Airflow metadata database then)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
say() { printf '==> %s\n' "$*"; }

: "${AIRFLOW_CONN_TENANT_DB:?set AIRFLOW_CONN_TENANT_DB (mysql://user:pw@host:3306/db), or use make airflow}"
PORT=${AIRFLOW_PORT:-8080}
URL="http://127.0.0.1:$PORT"
[ -x .venv/bin/airflow ] || { echo "no .venv/bin/airflow: run make setup first" >&2; exit 1; }

export AIRFLOW_HOME=${AIRFLOW_HOME:-$ROOT/.airflow}
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-4}  # LocalExecutor workers; 32 by default
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
export AIRFLOW__API__PORT=$PORT
export AIRFLOW__API__BASE_URL="$URL"
# task processes reach the scheduler's Execution API here; the default (:8080) is wrong on any other port
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$URL/execution/"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
export TENANT_REVIEW_DIR=${TENANT_REVIEW_DIR:-$ROOT/review}
export PATH="$ROOT/.venv/bin:$PATH"  # standalone starts every component as `airflow <component>` from PATH
mkdir -p "$AIRFLOW_HOME" "$TENANT_REVIEW_DIR"

port_free() { .venv/bin/python - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(1 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 0)
PY
}
port_free "$PORT" || { echo "port $PORT is in use: set AIRFLOW_PORT to a free port" >&2; exit 1; }

# --- the demo database ---------------------------------------------------------------------------
db_exists() { .venv/bin/python - <<'PY'
import os, sys
import MySQLdb
from tenant_integrity.store.db import DbTarget
t = DbTarget.from_url(os.environ["AIRFLOW_CONN_TENANT_DB"])
conn = MySQLdb.connect(host=t.host, port=t.port, user=t.user, passwd=t.password)
cur = conn.cursor()
cur.execute("select count(*) from information_schema.tables where table_schema = %s", (t.database,))
sys.exit(0 if cur.fetchone()[0] else 1)
PY
}
if [ "${TENANT_DEMO_RELOAD:-0}" = 1 ] || ! db_exists; then
  say "loading demo data set ${TENANT_DEMO_DATA_SET:-all}"
  .venv/bin/python -m tenant_integrity load-demo --data-set "${TENANT_DEMO_DATA_SET:-all}"
else
  say "database of AIRFLOW_CONN_TENANT_DB exists: using it as it is (TENANT_DEMO_RELOAD=1 reloads the demo)"
fi

# --- the login: user admin (role admin) of the simple auth manager --------------------------------
PASSWORDS="$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
PASSWORD=$(.venv/bin/python - "$PASSWORDS" <<'PY'
import json, os, secrets, sys
path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        passwords = json.loads(f.read() or "{}")
except FileNotFoundError:
    passwords = {}
if "admin" not in passwords:
    passwords["admin"] = os.environ.get("AIRFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(passwords) + "\n")
print(passwords["admin"])
PY
)

say "Airflow 3 (standalone) with AIRFLOW_HOME=$AIRFLOW_HOME, DAGs from $AIRFLOW__CORE__DAGS_FOLDER"
say "tenant_db: $(.venv/bin/python -c 'import os, re; print(re.sub(r":[^:@/]*@", ":***@", os.environ["AIRFLOW_CONN_TENANT_DB"]))')"
cat <<EOF
==> Airflow UI:  $URL  (ready when the log says "Airflow is ready"; Ctrl-C stops everything)
==> login:       user admin, password $PASSWORD
==>              (kept in $PASSWORDS)
EOF
# --- the writer pool: tenant_backfill's writing tasks take a slot of their connection's pool -------
read -r POOL SLOTS < <(.venv/bin/python -c 'from tenant_integrity.core import settings as s; print(s.writer_pool(s.TENANT_CONN_ID), s.WRITER_POOL_SLOTS)')
SLOTS=${TENANT_WRITER_POOL_SLOTS:-$SLOTS}
airflow db migrate >/dev/null  # pools live in the metadata database
airflow pools set "$POOL" "$SLOTS" "tenant_integrity writers on connection tenant_db" >/dev/null
say "pool $POOL: $SLOTS slot(s) (at most that many tasks write through tenant_db at once)"
# --- mail: on-call alerts reach a local catcher unless you configured a server -------------------
if [ -z "${AIRFLOW_CONN_SMTP_DEFAULT:-}" ] && [ "${TENANT_MAIL_CATCHER:-1}" != 0 ]; then
  MAIL_DIR="$AIRFLOW_HOME/mail"
  MAIL_PORT_FILE="$AIRFLOW_HOME/mail_catcher.port"
  rm -f "$MAIL_PORT_FILE"
  # same process group as this script (and, after exec, airflow standalone): Ctrl-C stops it too;
  # it also stops by itself when Airflow ends
  .venv/bin/python scripts/mail_catcher.py --dir "$MAIL_DIR" --port-file "$MAIL_PORT_FILE" &
  for _ in $(seq 100); do [ -s "$MAIL_PORT_FILE" ] && break; sleep 0.1; done
  [ -s "$MAIL_PORT_FILE" ] || { echo "the mail catcher did not start (scripts/mail_catcher.py)" >&2; exit 1; }
  MAIL_PORT=$(cat "$MAIL_PORT_FILE")
  export AIRFLOW_CONN_SMTP_DEFAULT="smtp://127.0.0.1:$MAIL_PORT?disable_tls=true&disable_ssl=true&from_email=tenant-integrity%40localhost"
  export AIRFLOW_VAR_ON_CALL_EMAIL=${AIRFLOW_VAR_ON_CALL_EMAIL:-oncall@localhost}
  say "mail: to $AIRFLOW_VAR_ON_CALL_EMAIL, caught on 127.0.0.1:$MAIL_PORT, one .eml file per message in $MAIL_DIR/"
  say "      (set AIRFLOW_CONN_SMTP_DEFAULT and AIRFLOW_VAR_ON_CALL_EMAIL to send through a real server)"
elif [ -n "${AIRFLOW_CONN_SMTP_DEFAULT:-}" ]; then
  say "mail: through your AIRFLOW_CONN_SMTP_DEFAULT ($(.venv/bin/python -c 'import os, re; print(re.sub(r":[^:@/]*@", ":***@", os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]))')) to ${AIRFLOW_VAR_ON_CALL_EMAIL:-nobody: set AIRFLOW_VAR_ON_CALL_EMAIL, else tenant_validation_daily fails at check_alerting}"
else
  say "mail: no catcher (TENANT_MAIL_CATCHER=0): connection smtp_default and Variable on_call_email from the Airflow metadata database"
fi
exec airflow standalone
