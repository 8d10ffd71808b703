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
from tenant_integrity.db import DbTarget
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
read -r POOL SLOTS < <(.venv/bin/python -c 'from tenant_integrity import settings as s; print(s.writer_pool("tenant_db"), s.WRITER_POOL_SLOTS)')
SLOTS=${TENANT_WRITER_POOL_SLOTS:-$SLOTS}
airflow db migrate >/dev/null  # pools live in the metadata database
airflow pools set "$POOL" "$SLOTS" "tenant_integrity writers on connection tenant_db" >/dev/null
say "pool $POOL: $SLOTS slot(s) (at most that many tasks write through tenant_db at once)"
exec airflow standalone
