#!/usr/bin/env bash
# Idempotent set-up on a Debian machine (as root): system packages, a MariaDB on 127.0.0.1:3306,
# the project's .venv from requirements.lock, and a project-local AIRFLOW_HOME with SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3.11}
say() { printf '==> %s\n' "$*"; }

apt_ready=""
apt_install() {  # install Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  if [ -z "$apt_ready" ]; then apt-get update -qq; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# mysqlclient builds against these
apt_install pkg-config libmariadb-dev gcc
apt_install chromium  # Debian's browser for tests/e2e/test_browser.py (Playwright never downloads one)
# tests/e2e/test_celery_executor.py starts its own redis-server and PostgreSQL cluster (temp dirs, free ports)
apt_install redis-server postgresql
# tests/engine/test_replica_throttle.py: pt-table-checksum compares the test's own primary and replica
# (throwaway mariadbd processes on free ports, from the machine's mariadb-server; never the 3306 server)
apt_install percona-toolkit

# --- MariaDB on 127.0.0.1:3306: reuse a running one, otherwise install and start ---------------
db_answers() { "$PY" - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 3306)) == 0 else 1)
PY
}
if db_answers; then
  say "MariaDB/MySQL answers on 127.0.0.1:3306: reusing it"
else
  apt_install mariadb-server mariadb-client
  say "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306
  for _ in $(seq 1 60); do db_answers && break; sleep 1; done
  db_answers || { echo "MariaDB did not start on 127.0.0.1:3306" >&2; exit 1; }
  # a fresh Debian MariaDB lets root in only over the socket; tests connect as root over TCP
  mariadb -uroot -e "create user if not exists 'root'@'127.0.0.1' identified by '';
    grant all privileges on *.* to 'root'@'127.0.0.1' with grant option; flush privileges;" || true
fi

# --- the project's venv, from the full lock ------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv
fi
# uv (pinned in the lock) installs the ~240 locked packages in about 30 s where pip takes about 3 minutes (make test's
# 20-minute budget includes this set-up on a clean clone); pip stays the fallback where uv cannot run
UV_VERSION=$(sed -n 's/^uv==//p' requirements.lock)
if [ ! -f .venv/.installed ] || [ requirements.lock -nt .venv/.installed ]; then
  say "installing requirements.lock into .venv"
  if .venv/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION" \
     && .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python -r requirements.lock; then
    :
  else
    say "uv could not install the lock: installing it with pip"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
  fi
  touch .venv/.installed
fi
# the package lives in plugins/ (Airflow's plugins folder); make it importable from the venv too
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT/plugins" > "$site/tenant_integrity_plugins.pth"

# --- project-local Airflow home with a SQLite metadata DB ------------------------------------------
export AIRFLOW_HOME="$ROOT/.airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags" AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins" AIRFLOW__CORE__LOAD_EXAMPLES=False
mkdir -p "$AIRFLOW_HOME"
if [ ! -f "$AIRFLOW_HOME/airflow.db" ] || [ ! -f "$AIRFLOW_HOME/.migrated" ]; then
  say "initialising the Airflow metadata DB in $AIRFLOW_HOME"
  .venv/bin/airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -30 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
  touch "$AIRFLOW_HOME/.migrated"
fi
say "set-up complete"
