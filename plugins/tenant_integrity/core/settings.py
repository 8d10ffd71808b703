"""Run settings: every default and bound of a run in one place, read by RunContext and by the DAGs' Params."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenant_integrity.core.errors import ParamError

BACKFILL_DAG = "tenant_backfill"  # the DAG ids the plugin, the pool listener and the operator page name
ROLLBACK_DAG = "tenant_rollback"
OPERATOR_PAGE_PREFIX = "/tenant-integrity"  # where the plugin mounts the operator page on Airflow's API server
# rows in a run's first chunk; the chunk sizer adapts from there toward CHUNK_SECONDS per chunk
BATCH_SIZE_DEFAULT, BATCH_SIZE_MIN, BATCH_SIZE_MAX = 1000, 1, 50_000
# the target duration of one chunk transaction
CHUNK_SECONDS_DEFAULT, CHUNK_SECONDS_MIN, CHUNK_SECONDS_MAX = 0.25, 0.01, 10
# connections that walk disjoint key ranges of one phase at once
WORKERS_DEFAULT, WORKERS_MIN, WORKERS_MAX = 2, 1, 8
# the throttle pauses the writers while the server's Threads_running is above this
MAX_THREADS_RUNNING_DEFAULT = 25
# critical load (gh-ost's --critical-load): at or above this Threads_running the writers pause, and if it
# lasts CRITICAL_LOAD_MAX_S the run ends between two chunks (every committed chunk whole; a retry resumes)
CRITICAL_THREADS_RUNNING_DEFAULT = 100
CRITICAL_LOAD_MAX_S = 30.0
# the throttle gives up (stops the run) after pausing this long before one chunk, whatever the reason
THROTTLE_MAX_WAIT_S = 600.0
# seconds between two load checks while the writers are paused (no replicas watched)
THROTTLE_POLL_S = 1.0
# replicas the throttle watches: comma-separated mysql:// URLs (user, password, host, port; a database in
# the URL names the target database's name on that replica, default: the same name)
REPLICAS_ENV = "TENANT_THROTTLE_REPLICAS"
# the writers pause while a watched replica lags more than this many seconds (param max_replica_lag_s)
MAX_REPLICA_LAG_S_DEFAULT, MAX_REPLICA_LAG_S_MIN, MAX_REPLICA_LAG_S_MAX = 1.0, 0.5, 3600.0
# the run's heartbeat on the primary (tenant_heartbeat.ts) moves at most this often; while replicas are
# watched the paused writers also look again this often (a lag reading is at most this much too high)
HEARTBEAT_INTERVAL_S = 0.25
# a replica whose lag cannot be read (unreachable, no heartbeat, IO thread down, SQL thread stopped on an
# error) pauses the writers this long, then stops the run naming it (fail closed)
REPLICA_GRACE_S = 10.0
# connecting to and reading a replica: a replica that does not answer within this counts as unreadable
REPLICA_TIMEOUT_S = 2
# seconds between two progress lines of a phase
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class RunContext:
    """One task's run: who it is (run_id, dag_id), whether it writes, and how it paces its chunks.

    Frozen: a writer that registers its run makes a new context with the run_no (dataclasses.replace)."""

    run_id: str
    dry_run: bool = True
    batch_size: int = BATCH_SIZE_DEFAULT
    dag_id: str = BACKFILL_DAG
    progress_every: float = PROGRESS_EVERY_S
    chunk_seconds: float = CHUNK_SECONDS_DEFAULT
    max_threads_running: int = MAX_THREADS_RUNNING_DEFAULT
    critical_threads_running: int = CRITICAL_THREADS_RUNNING_DEFAULT
    max_replica_lag_s: float = MAX_REPLICA_LAG_S_DEFAULT
    workers: int = WORKERS_DEFAULT
    run_no: int | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ParamError(f"batch_size must be an integer, got {self.batch_size!r}")
        if not BATCH_SIZE_MIN <= self.batch_size <= BATCH_SIZE_MAX:
            raise ParamError(f"batch_size must be between {BATCH_SIZE_MIN} and {BATCH_SIZE_MAX}, got {self.batch_size}")
        if isinstance(self.chunk_seconds, bool) or not isinstance(self.chunk_seconds, int | float):
            raise ParamError(f"chunk_seconds must be a number, got {self.chunk_seconds!r}")
        if not CHUNK_SECONDS_MIN <= self.chunk_seconds <= CHUNK_SECONDS_MAX:
            raise ParamError(
                f"chunk_seconds must be between {CHUNK_SECONDS_MIN} and {CHUNK_SECONDS_MAX}, got {self.chunk_seconds}"
            )
        if (
            isinstance(self.max_threads_running, bool)
            or not isinstance(self.max_threads_running, int)
            or self.max_threads_running < 1
        ):
            raise ParamError(f"max_threads_running must be a positive integer, got {self.max_threads_running!r}")
        if (
            isinstance(self.critical_threads_running, bool)
            or not isinstance(self.critical_threads_running, int)
            or self.critical_threads_running < 1
        ):
            raise ParamError(
                f"critical_threads_running must be a positive integer, got {self.critical_threads_running!r}"
            )
        if (
            isinstance(self.max_replica_lag_s, bool)
            or not isinstance(self.max_replica_lag_s, int | float)
            or not MAX_REPLICA_LAG_S_MIN <= self.max_replica_lag_s <= MAX_REPLICA_LAG_S_MAX
        ):
            raise ParamError(
                f"max_replica_lag_s must be a number between {MAX_REPLICA_LAG_S_MIN} and {MAX_REPLICA_LAG_S_MAX}, "
                f"got {self.max_replica_lag_s!r}"
            )
        if (
            isinstance(self.workers, bool)
            or not isinstance(self.workers, int)
            or not WORKERS_MIN <= self.workers <= WORKERS_MAX
        ):
            raise ParamError(
                f"workers must be an integer between {WORKERS_MIN} and {WORKERS_MAX}, got {self.workers!r}"
            )
        if not isinstance(self.dry_run, bool):
            raise ParamError(f"dry_run must be true or false, got {self.dry_run!r}")
        if not isinstance(self.run_id, str) or not self.run_id or len(self.run_id) > 250:
            raise ParamError(f"run_id must be a non-empty string of at most 250 characters, got {self.run_id!r}")


# the Airflow connection of the target database (a spec's conn_id default, the writer pool, the graph, the page)
TENANT_CONN_ID = "tenant_db"
# Airflow pool that bounds the concurrent writers of one target connection (scripts create it with this many slots)
WRITER_POOL_SLOTS = 2
# how often a spec waiting for its parent specs looks again (it gives its worker slot back meanwhile)
PARENT_POKE_INTERVAL_S = 15


# Deadlines: a hung task (a DDL or a read waiting on a metadata lock, a lost connection that never errors) fails
# when its task timeout runs out, and so does its run at its run timeout; both end in the failure mail like any
# failure. (task timeout, run timeout) per DAG, each sized to the longest legitimate run, not the usual one:
# the backfill writes 1B rows in about 10 h at today's rates (docs: speed); its run waits for parent specs (24 h
# sensor) and for a person's approval; the daily validation must be done before the working day; the watch is
# hourly, so it must end before the next hour's run.
DAG_TIMEOUTS_S = {
    "tenant_backfill": (12 * 3600, 4 * 24 * 3600),
    "tenant_rollback": (12 * 3600, 13 * 3600),
    "tenant_review_import": (2 * 3600, 3 * 3600),
    "tenant_constraints": (2 * 3600, 3 * 3600),
    "tenant_guard": (1800, 3600),
    "tenant_validation_daily": (3600, 3 * 3600),
    "tenant_watch": (1800, 3300),
}
# overrides, for a database bigger or slower than these bounds: "dag_id=task_s[/run_s],dag_id=..." (seconds)
TIMEOUTS_ENV = "TENANT_DAG_TIMEOUTS"


def dag_timeouts(dag_id: str, environ: dict | None = None) -> tuple[float, float]:
    """(task timeout, run timeout) in seconds of one DAG: DAG_TIMEOUTS_S, overridden by $TENANT_DAG_TIMEOUTS."""
    import os

    task_s, run_s = DAG_TIMEOUTS_S[dag_id]
    for item in filter(None, ((environ if environ is not None else os.environ).get(TIMEOUTS_ENV) or "").split(",")):
        name, _, value = item.strip().partition("=")
        if name.strip() != dag_id:
            continue
        task_text, _, run_text = value.partition("/")
        try:
            task_s = float(task_text)
            run_s = float(run_text) if run_text else max(run_s, task_s)
        except ValueError:
            raise ParamError(
                f"{TIMEOUTS_ENV}: {item.strip()!r} is not dag_id=task_seconds[/run_seconds] (numbers of seconds)"
            ) from None
        if task_s <= 0 or run_s <= 0:
            raise ParamError(f"{TIMEOUTS_ENV}: {item.strip()!r}: timeouts must be positive seconds")
    return task_s, run_s


def writer_pool(conn_id: str) -> str:
    """The Airflow pool of the writers of one target connection."""
    return f"tenant_writers_{conn_id}"
