"""A real CeleryExecutor Airflow for e2e tests, on this machine, with nothing shared with anything else.

`CeleryCluster` starts, in temp dirs and on free ports:

- its own PostgreSQL cluster (initdb + pg_ctl; as the `postgres` user when run as root, which initdb refuses):
  Airflow refuses SQLite with the CeleryExecutor;
- its own redis-server: the Celery broker;
- an AIRFLOW_HOME migrated against that PostgreSQL, with the pool the DAGs write through;
- the scheduler, the dag-processor, the api-server (the workers' tasks call its execution API) and N Celery
  workers, each in its own process group, each with its own hostname (`worker1`, `worker2`, …: the
  `hostname` Airflow records on every task instance it runs), so a test can see which worker ran what.

`stop()` stops all of it (process groups, then the PostgreSQL cluster) and removes the temp dirs.

Only the standard library is imported at the top: every worker imports this module for its hostname
(`[core] hostname_callable = tests.helpers.celery_cluster.worker_hostname`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.helpers import task_preload

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow")
WORKER_HOSTNAME_ENV = "TENANT_TEST_WORKER_HOSTNAME"


def writer_pool() -> tuple[str, int]:
    """The pool the backfill's writers on AIRFLOW_CONN_TENANT_DB share, and its slots (scripts create it)."""
    from tenant_integrity.core import settings

    return settings.writer_pool(settings.TENANT_CONN_ID), settings.WRITER_POOL_SLOTS


def worker_hostname() -> str:
    """[core] hostname_callable of the test's workers: the name the cluster gave this worker."""
    return os.environ[WORKER_HOSTNAME_ENV]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


class ClusterError(RuntimeError):
    pass


def _postgres_bin() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name.split(".")[0])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterError("no PostgreSQL server binaries (initdb): run `make setup` (apt-get install postgresql)")


class Postgres:
    """A throwaway PostgreSQL cluster: trust auth for user `airflow` on 127.0.0.1:<port>, database `airflow`."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.port = free_port()
        # not under pytest's tmp dirs: those are 0700 root, and the server runs as `postgres` when we are root
        self.dir = Path(tempfile.mkdtemp(prefix="ti_celery_pg_"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                pwd.getpwnam(self.user)
            except KeyError as missing:
                raise ClusterError("as root, the server runs as user postgres: apt-get install postgresql") from missing
            shutil.chown(self.dir, self.user)
        self.url = f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"

    def _run(self, *command: str, timeout: float = 120) -> str:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=timeout, cwd=self.dir, check=False
        )
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}\n{tail(self.log)}")
        return done.stdout

    def start(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(self.data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"),
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "start", *("-w", "-t", "120", "-D", str(self.data), "-l", str(self.log), "-o", options))
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow", "airflow")

    def stop(self) -> None:
        if self.data.exists():
            try:
                self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-t", "30", "-m", "fast", "-D", str(self.data))
            except (ClusterError, subprocess.TimeoutExpired):
                pid_file = self.data / "postmaster.pid"
                if pid_file.exists():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="airflow", dbname="airflow")
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        finally:
            conn.close()


class CeleryCluster:
    """PostgreSQL + Redis + scheduler + dag-processor + api-server + `workers` Celery workers."""

    def __init__(self, home: Path, env: dict[str, str], workers: int = 2, concurrency: int = 2):
        self.home = home
        self.logs = home / "process-logs"
        self.extra_env = env
        self.worker_names = [f"worker{i}" for i in range(1, workers + 1)]
        self.concurrency = concurrency
        self.processes: dict[str, tuple[subprocess.Popen, Path]] = {}
        self.postgres: Postgres | None = None
        self.redis: subprocess.Popen | None = None
        self.api_port = free_port()
        self.env: dict[str, str] = {}

    # --- start -------------------------------------------------------------------------------------
    def start(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        self.logs.mkdir(parents=True, exist_ok=True)
        self.postgres = Postgres()
        self.postgres.start()
        redis_port = free_port()
        redis_dir = self.home / "redis"
        redis_dir.mkdir()
        redis_log = open(self.logs / "redis.log", "wb")  # noqa: SIM115 (the process owns it)
        self.redis = subprocess.Popen(
            [
                *(shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"),
                *("--dir", str(redis_dir), "--save", "", "--appendonly", "no", "--protected-mode", "no"),
            ],
            stdout=redis_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.env = self._airflow_env(redis_port)
        self.airflow("db", "migrate", timeout=300)
        pool, slots = writer_pool()
        self.airflow("pools", "set", pool, str(slots), "writers on tenant_db")
        self._spawn("api-server", ["api-server"])
        self._spawn("scheduler", ["scheduler"])
        self._spawn("dag-processor", ["dag-processor"])
        for name in self.worker_names:
            self._spawn(
                name,
                [
                    *("celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(self.concurrency)),
                    *("--pid", str(self.home / f"{name}.pid"), "--skip-serve-logs"),
                ],
                {WORKER_HOSTNAME_ENV: name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname"},
            )
        self.wait_until(lambda: port_answers(redis_port), deadline, "redis-server answers")
        self.wait_until(self._api_healthy, deadline, "the api-server answers /api/v2/monitor/health")
        for name in self.worker_names:
            self.wait_until(
                lambda name=name: f"{name}@" in (log := tail(self.processes[name][1], 100_000)) and " ready." in log,
                deadline,
                f"Celery {name} is ready",
            )

    def _airflow_env(self, redis_port: int) -> dict[str, str]:
        api = f"http://127.0.0.1:{self.api_port}"
        return {
            "PATH": f"{PROJECT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            # the workers import this module for their hostname_callable, and GX once for every task they fork
            "PYTHONPATH": f"{PROJECT}:{task_preload.FOLDER}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            # the driver named: SQLAlchemy 2.1's default for postgresql:// is psycopg 3, which is not installed
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
            "AIRFLOW__CELERY__OPERATION_TIMEOUT": "10",
            # Airflow 3: task processes on the workers talk to the api-server's execution API
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API__WORKERS": "1",  # 2 cores
            # every component must share these, or the api-server rejects the tokens the scheduler issues
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "GX_ANALYTICS_ENABLED": "false",
            **self.extra_env,
        }

    def _spawn(self, name: str, args: list[str], extra: dict | None = None) -> None:
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [AIRFLOW, *args],
                env={**self.env, **(extra or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        self.processes[name] = (process, log)

    def _api_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    # --- use -----------------------------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=self.home, check=False
        )
        if done.returncode != 0:
            raise ClusterError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def check_alive(self) -> None:
        for name, (process, log) in self.processes.items():
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}:\n{tail(log)}")
        if self.redis is not None and self.redis.poll() is not None:
            raise ClusterError(f"redis-server exited:\n{tail(self.logs / 'redis.log')}")

    def wait_until(self, condition, deadline: float, what: str, every: float = 1.0):
        """Poll `condition` until it returns something truthy; fail naming `what` if a process dies or time is up."""
        while True:
            self.check_alive()
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting until {what}\n{self.diagnostics()}")
            time.sleep(every)

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name} ---\n{tail(log, 2500)}" for name, (_, log) in self.processes.items())

    def trigger(self, dag_id: str, conf: dict, timeout: float = 240) -> str:
        """Wait until the dag-processor stored `dag_id`, unpause it, trigger a run with `conf`: its run_id."""
        deadline = time.monotonic() + timeout
        self.wait_until(
            lambda: self.postgres.query("select 1 from serialized_dag where dag_id = %s", (dag_id,)),
            deadline,
            f"the dag-processor stored {dag_id}",
        )
        self.airflow("dags", "unpause", dag_id)
        run_id = f"celery_e2e_{secrets.token_hex(4)}"
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id, "-c", json.dumps(conf))
        return run_id

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 360) -> str:
        """Poll the run's state until it is finished: success or failed."""

        def finished():
            rows = self.postgres.query("select state from dag_run where dag_id = %s and run_id = %s", (dag_id, run_id))
            return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None

        return self.wait_until(finished, time.monotonic() + timeout, f"run {run_id} finished", every=2.0)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        rows = self.postgres.query(
            "select task_id, map_index, hostname, state, pool, start_date, end_date from task_instance"
            " where dag_id = %s and run_id = %s order by task_id, map_index",
            (dag_id, run_id),
        )
        names = ("task_id", "map_index", "hostname", "state", "pool", "start_date", "end_date")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # --- stop ----------------------------------------------------------------------------------------
    def stop(self, grace: float = 30) -> None:
        groups = [p for p, _ in self.processes.values()] + ([self.redis] if self.redis else [])
        for process in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in groups:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # children (task supervisors, uvicorn, gunicorn, celery pool) may outlive the leader: end the group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self.postgres is not None:
            self.postgres.stop()
