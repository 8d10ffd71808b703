"""DDL and the table's metadata lock: wait a bounded time, and when the wait runs out, say who may hold it.

An ALTER TABLE or CREATE TRIGGER needs the table's metadata lock, which a long transaction that read the
table holds until it ends. While the DDL waits, every later statement of the application on that table
queues behind it — a whole application can stall behind one forgotten transaction. So a DDL session of
this project waits at most a few seconds (the server's default is a year), and its error names the open
transactions; the task fails retryable and a later attempt may get the lock.
"""

from __future__ import annotations

import MySQLdb

from tenant_integrity.store import sql
from tenant_integrity.store.db import Database

LOCK_WAIT_TIMEOUT = 1205  # the server's error for a lock not granted within the timeout
DDL_LOCK_WAIT_SECONDS = 5


def limit_wait(db: Database, seconds: int) -> None:
    """This session's DDL waits at most `seconds` for a table's metadata lock."""
    db.execute(sql.render("locks/metadata_lock_wait.sql"), {"seconds": int(seconds)})


def timed_out(db: Database, table: str, what: str, seconds: int) -> str:
    """Why a DDL gave up (the caller adds what to do next): the table, the wait, and who may hold the lock."""
    return (
        f"could not lock table {table} for {what} within {seconds} s (lock_wait_timeout): "
        f"a long transaction holds it ({open_transactions(db)})"
    )


def open_transactions(db: Database) -> str:
    """The other sessions' oldest open transactions, when this user may see them (PROCESS)."""
    try:
        rows = db.rows(sql.render("locks/open_transactions.sql"))
    except MySQLdb.MySQLError:
        return "see SHOW PROCESSLIST for the session"
    if not rows:
        return "see SHOW PROCESSLIST for the session"
    listed = ", ".join(f"thread {r['thread_id']} since {r['started']} ({r['state']})" for r in rows)
    return f"open transactions of other sessions on the server, oldest first: {listed}"
