"""Run settings: every default and bound of a run in one place, read by RunContext and by the DAGs' Params."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenant_integrity.errors import ParamError

# rows in a run's first chunk; the chunk sizer adapts from there toward CHUNK_SECONDS per chunk
BATCH_SIZE_DEFAULT, BATCH_SIZE_MIN, BATCH_SIZE_MAX = 1000, 1, 50_000
# the target duration of one chunk transaction
CHUNK_SECONDS_DEFAULT, CHUNK_SECONDS_MIN, CHUNK_SECONDS_MAX = 0.25, 0.01, 10
# connections that walk disjoint key ranges of one phase at once
WORKERS_DEFAULT, WORKERS_MIN, WORKERS_MAX = 2, 1, 8
# the throttle pauses the writers while the server's Threads_running is above this
MAX_THREADS_RUNNING_DEFAULT = 25
# seconds between two progress lines of a phase
PROGRESS_EVERY_S = 5.0


@dataclass
class RunContext:
    """One task's run: who it is (run_id, dag_id), whether it writes, and how it paces its chunks."""

    run_id: str
    dry_run: bool = True
    batch_size: int = BATCH_SIZE_DEFAULT
    dag_id: str = "tenant_backfill"
    progress_every: float = PROGRESS_EVERY_S
    chunk_seconds: float = CHUNK_SECONDS_DEFAULT
    max_threads_running: int = MAX_THREADS_RUNNING_DEFAULT
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


# Airflow pool that bounds the concurrent writers of one target connection (scripts create it with this many slots)
WRITER_POOL_SLOTS = 2
# how often a spec waiting for its parent specs looks again (it gives its worker slot back meanwhile)
PARENT_POKE_INTERVAL_S = 15


def writer_pool(conn_id: str) -> str:
    """The Airflow pool of the writers of one target connection."""
    return f"tenant_writers_{conn_id}"
