"""Two runs never write one table at once: the engine holds the table's writer lock for each writing phase."""

from __future__ import annotations

import MySQLdb
import pytest

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases, rollback
from tests.helpers.dbcheck import checksum, query

SPEC = load_spec("customers_company")
LOCK = "select get_lock(concat('tenant_integrity:', left(sha1(concat(database(), '.', 'customers')), 40)), 0)"


def _other_run(target):
    """A connection standing in for another run's writer: it holds the customers table's lock."""
    conn = MySQLdb.connect(
        host=target.host, port=target.port, user=target.user, passwd=target.password, db=target.database
    )
    cur = conn.cursor()
    cur.execute(LOCK)
    assert cur.fetchone()[0] == 1
    cur.execute("select connection_id()")
    return conn, cur.fetchone()[0]


def test_a_phase_refuses_a_table_another_run_is_writing_and_writes_nothing(seed_db):
    ctx = RunContext(run_id="lock-1", dry_run=False, batch_size=7)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    before = checksum(seed_db, "customers")
    other, holder = _other_run(seed_db)
    try:
        with pytest.raises(TenantIntegrityError) as refused:
            phases.backfill_in_priority_order(seed_db, SPEC, ctx, plan)
    finally:
        other.close()  # the other run ends: the server frees its lock with its connection
    assert str(refused.value) == (
        "spec 'customers_company', phase 'backfill_appointments', table 'customers': table customers is being "
        f"written by another tenant_integrity run (server connection {holder} holds its writer lock); nothing was "
        "written — run this again when that run has finished"
    )
    assert checksum(seed_db, "customers") == before
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 0

    # the same task again, once the other run is gone: it writes, and frees the lock after each phase
    summary = phases.post_validation(seed_db, SPEC, ctx, plan, phases.run_writes(seed_db, SPEC, ctx, plan))
    assert (summary.status, summary.audited) == ("succeeded", {"backfill": 28, "soft_delete": 3})
    free, _ = _other_run(seed_db)  # asserts get_lock returned 1
    free.close()


def test_a_rollback_waits_its_turn_too(seed_db):
    phases.run_all(seed_db, SPEC, RunContext(run_id="lock-2", dry_run=False))
    after_run = checksum(seed_db, "customers")
    other, _ = _other_run(seed_db)
    try:
        with pytest.raises(
            TenantIntegrityError, match="table customers is being written by another tenant_integrity run"
        ):
            rollback.rollback_run(seed_db, SPEC, RunContext(run_id="undo-lock-2", dry_run=False), "lock-2")
    finally:
        other.close()
    assert checksum(seed_db, "customers") == after_run
