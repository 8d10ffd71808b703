"""DDL and the table's metadata lock: wait a bounded time, and when the wait runs out, say who may hold it.

An ALTER TABLE or CREATE TRIGGER needs the table's metadata lock, which a long transaction that read the
table holds until it ends. While the DDL waits, every later statement of the application on that table
queues behind it — a whole application can stall behind one forgotten transaction. So a DDL session of
this project waits at most a few seconds (the server's default is a year), and its error names the open
transactions; the task fails retryable and a later attempt may get the lock.
"""

from __future__ import annotations

import MySQLdb

from tenant_integrity import sql
from tenant_integrity.db import Database

LOCK_WAIT_TIMEOUT = 1205  # the server's error for a lock not granted within the timeout
DDL_LOCK_WAIT_SECONDS = 5


def limit_wait(db: Database, seconds: int = DDL_LOCK_WAIT_SECONDS) -> None:
    """This session's DDL waits at most `seconds` for a table's metadata lock."""
    db.execute(sql.render("locks/metadata_lock_wait.sql"), {"seconds": int(seconds)})


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
