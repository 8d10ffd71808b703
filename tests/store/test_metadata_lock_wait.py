"""A table the application holds locked (LOCK TABLES, a long DDL) never makes a run of ours wait without end.

A wait inside the driver is one no task timeout interrupts (Airflow's timeout is a signal, handled only when the
driver call returns), so every session we open — ours and GX's — bounds its metadata-lock wait
(db.METADATA_LOCK_WAIT_S): the 04:00 validation then ends in an error the alerting mails, not in silence.
"""

from __future__ import annotations

import threading
import time

import MySQLdb
import pytest

from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import validation
from tenant_integrity.store import db as db_module

SPEC = load_spec("customers_company")
WAIT_S = 2


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setattr(db_module, "METADATA_LOCK_WAIT_S", WAIT_S)


def _ends(call, limit_s: float):
    """Run `call` in a thread; (finished within limit_s, its exception or result, seconds, the thread)."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # the thread reports what ended it
            outcome["value"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit_s)
    return not worker.is_alive(), outcome.get("value"), time.monotonic() - started, worker


def test_our_session_gives_up_on_a_locked_table(seed_db, short_wait):
    holder = seed_db.connect()
    try:
        holder.execute("lock tables customers write")
        reader = seed_db.connect()
        finished, value, took, worker = _ends(lambda: reader.scalar("select count(*) from customers"), 60)
    finally:
        holder.close()  # a read still waiting gets the table now, and ends
    worker.join(60)
    reader.close()  # its snapshot's metadata lock would hold the test database's drop
    assert finished, "still waiting on the metadata lock after 60 s"
    assert isinstance(value, MySQLdb.OperationalError) and value.args[0] == 1205, value  # lock wait timeout
    assert took < WAIT_S + 5


def test_gx_sessions_give_up_on_a_locked_table_too(seed_db, short_wait):
    holder = seed_db.connect()
    try:
        holder.execute("lock tables customers write")
        finished, value, took, worker = _ends(lambda: validation.validate(seed_db, SPEC, "standard", "locked"), 120)
    finally:
        holder.close()
    worker.join(120)
    assert finished, "validation still waiting on the metadata lock after 120 s"
    # GX's own session reads customers first, and gives up with the server's lock-wait error
    assert isinstance(value, Exception) and "(1205, 'Lock wait timeout exceeded" in str(value), repr(value)
    assert took < 60
