"""Hold a row lock as the application would, and see who waits for it: races made deterministic.

A test holds a row lock, lets the run walk into it, and waits until the server itself says the run's
statement is blocked on that lock (information_schema.innodb_lock_waits) before it moves on. No timer
decides the order of events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tenant_integrity.store.db import Database

# lock_chunk.sql's statement: a worker waiting in it is inside its chunk's transaction
CHUNK_LOCK = "%locked_rows%"

WAITERS = """
select r.trx_mysql_thread_id as waiting
from information_schema.innodb_lock_waits as w
join information_schema.innodb_trx as r on r.trx_id = w.requesting_trx_id
join information_schema.innodb_trx as b on b.trx_id = w.blocking_trx_id
where b.trx_mysql_thread_id = %(holder)s
  and r.trx_query like %(statement_like)s
"""


class RowLock:
    """A connection of its own holding `select … for update` on one row until `release()` (a rollback)."""

    def __init__(self, target, table: str, key: int, column: str = "id"):
        self.db = target.connect(lock_wait_timeout=60)
        self.id = int(self.db.scalar("select connection_id()"))
        self.db.execute("start transaction")
        self.db.execute(f"select {column} from {table} where {column} = %(key)s for update", {"key": key})

    def release(self) -> None:
        self.db.rollback()

    def close(self) -> None:
        self.db.close()


# InnoDB refreshes what information_schema.innodb_trx and innodb_lock_waits show only once nobody on the whole server
# has read them for 0.1 s (MariaDB's trx_i_s cache). Pollers of several xdist workers, each reading every 0.15 s,
# kept one another on a stale picture for good (a worker that waited for its lock for 20 s was never seen). So every
# read of those tables takes this server-wide named lock and first lets the cache's idle time pass.
TRX_CACHE_LOCK = "tenant_tests.innodb_trx_cache"
TRX_CACHE_IDLE_S = 0.12


def waiters(db: Database, holder_id: int, statement_like: str = "%") -> list[int]:
    """Connections whose statement (matching `statement_like`) waits for a row lock connection `holder_id` holds."""
    if db.scalar("select get_lock(%(name)s, 120)", {"name": TRX_CACHE_LOCK}) != 1:
        raise AssertionError(f"no turn to read information_schema.innodb_trx in 120 s ({TRX_CACHE_LOCK})")
    try:
        time.sleep(TRX_CACHE_IDLE_S)  # no reader since: this read refreshes the cache
        rows = db.rows(WAITERS, {"holder": holder_id, "statement_like": statement_like})
    finally:
        db.scalar("select release_lock(%(name)s)", {"name": TRX_CACHE_LOCK})
    return [int(r["waiting"]) for r in rows]


def waiters_count(holder: RowLock, statement_like: str) -> Callable[[Database], int]:
    """How many connections wait for `holder`'s lock in `statement_like`, as a probe (for kills.sigkill_when)."""
    return lambda db: len(waiters(db, holder.id, statement_like))


def metadata_lock_waiters(db: Database, statement_like: str) -> list[int]:
    """Connections whose statement (matching `statement_like`) waits for a table's metadata lock (LOCK TABLES)."""
    rows = db.rows(
        "select id from information_schema.processlist where db = database()"
        " and state = 'Waiting for table metadata lock' and info like %(statement_like)s",
        {"statement_like": statement_like},
    )
    return [int(r["id"]) for r in rows]


def connection_open(db: Database, connection_id: int) -> bool:
    return bool(
        db.scalar("select count(*) from information_schema.processlist where id = %(id)s", {"id": connection_id})
    )


def wait_until(target, probe: Callable[[Database], object], what: str, timeout_s: float = 60):
    """Poll `probe(db)` on a connection of its own until it returns something truthy; return that.

    Every look is its own transaction, so each sees what the server holds now. Fails naming `what`.
    """
    deadline = time.monotonic() + timeout_s
    with target.connect() as db:
        while time.monotonic() < deadline:
            found = probe(db)
            db.commit()
            if found:
                return found
            time.sleep(0.15)
    raise AssertionError(f"timed out waiting until {what}")


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, dict]:
    """Start `work` in a thread; the dict gets its "result" or its "error" once it ended."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = work()
        except Exception as exc:  # the test looks at it once the thread ended
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome
