"""DDL and the table's metadata lock: wait a bounded time, and when the wait runs out, say who may hold it.

An ALTER TABLE or CREATE TRIGGER needs the table's metadata lock, which a long transaction that read the
table holds until it ends. While the DDL waits, every later statement of the application on that table
queues behind it — a whole application can stall behind one forgotten transaction. So a DDL session of
this project waits at most a few seconds (the server's default is a year), and its error names the open
transactions; the task fails retryable and a later attempt may get the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

import MySQLdb

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.spec import Spec
from tenant_integrity.store import sql
from tenant_integrity.store.db import Database

log = logging.getLogger(__name__)
Applied = TypeVar("Applied")

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


def run_ddl(
    db: Database,
    spec: Spec,
    statements: Iterable[str],
    *,
    seconds: int,
    lock_timeout: type[TenantIntegrityError],
    what: str | None = None,
    again: str = "run again",
    execute: Callable[[Database, str], Applied] = Database.execute,
    refused: Callable[[MySQLdb.MySQLError, str], Exception | None] = lambda exc, applied: None,
) -> list[Applied]:
    """Run DDL statements one by one in a session that waits at most `seconds` for the table's metadata lock.

    A statement that waits longer raises `lock_timeout`, naming who may hold the lock (what = the DDL's name for
    a person, default the statement) and what was applied before it; `refused` may turn any other server error
    into the caller's own (given the error and the "applied" sentence). `execute` runs one statement and says
    what was applied (default: the driver's row count)."""
    limit_wait(db, seconds)
    done: list[str] = []
    results: list[Applied] = []
    for statement in statements:
        try:
            results.append(execute(db, statement))
        except MySQLdb.MySQLError as exc:
            applied = (
                f" Already applied before it ({len(done)}): {'; '.join(first_line(s) for s in done)}."
                if done
                else " Nothing was changed."
            )
            if exc.args and exc.args[0] == LOCK_WAIT_TIMEOUT:
                held = timed_out(db, spec.target.table, what or repr(statement), seconds)
                raise lock_timeout(
                    f"spec {spec.name!r}: {held}. Let it finish (or end it) and {again}.{applied}"
                ) from exc
            mine = refused(exc, applied)
            if mine is not None:
                raise mine from exc
            raise
        done.append(statement)
        log.info("applied: %s", first_line(statement))
    return results


def first_line(statement: str) -> str:
    """A statement's first line of code, for a log line or an error (a trigger body spans many)."""
    lines = [line for line in statement.splitlines() if line.strip() and not line.lstrip().startswith("--")]
    return lines[0].strip() if lines else statement
