"""The write's guard (`… where tenant is null`, include/sql/backfill/write_tenant.sql) under a real race.

A chunk locks its NULL rows before it decides, so the application cannot change those until the chunk
commits. The race the guard is for is a row that was not NULL when the chunk locked its rows: the
application sets it back to NULL (its webhook bug) before the chunk decides, then sets a tenant again
after the decision and before the write. The test makes that order certain: it holds the evidence table
(LOCK TABLES) until the chunk waits there to decide, and holds the row until the chunk's UPDATE waits
for it — each wait seen in the server's own lists, never guessed from a timer.
"""

from __future__ import annotations

from tenant_integrity.core.errors import ChunkError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import query
from tests.helpers.row_locks import in_thread, metadata_lock_waiters, wait_until, waiters

SPEC = load_spec("customers_company")
DECIDE = "%insert into tenant_chunk_decisions%"  # decide_chunk.sql
WRITE = "%update tenant_chunk_decisions%"  # write_tenant.sql
RACED = 40  # one of the seed's rows the appointments backfill writes with company 1
APPLICATION_TENANT = 15


def set_tenant(db, tenant) -> None:
    db.execute("update customers set company_id = %(t)s where id = %(id)s", {"t": tenant, "id": RACED})


def tenant_of(target) -> int | None:
    return query(target, "select company_id from customers where id = %(id)s", {"id": RACED})[0]["company_id"]


def audited_ids(target) -> list[int]:
    rows = query(target, "select row_id from tenant_audit_log where run_id = 'race' order by row_id")
    return [r["row_id"] for r in rows]


def test_a_tenant_the_application_sets_between_decision_and_write_survives_and_is_not_counted(seed_db):
    ctx = RunContext(run_id="race", dry_run=False, workers=1)  # one chunk: rows (29, 60]
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    application, evidence = seed_db.connect(lock_wait_timeout=60), seed_db.connect()
    application_id = int(application.scalar("select connection_id()"))
    try:
        set_tenant(application, APPLICATION_TENANT)  # before the chunk: its row lock passes the row by
        application.commit()
        evidence.execute("lock tables appointments write")
        run, outcome = in_thread(lambda: phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments"))
        wait_until(seed_db, lambda db: metadata_lock_waiters(db, DECIDE), "the chunk waits to decide")
        set_tenant(application, None)  # the webhook bug again: the decision will see the row NULL
        application.commit()
        application.execute("start transaction")
        set_tenant(application, APPLICATION_TENANT)  # and the application assigns it again, not yet committed
        evidence.execute("unlock tables")
        wait_until(seed_db, lambda db: waiters(db, application_id, WRITE), "the chunk's write waits for the row")
        application.commit()  # the application's tenant lands after the decision, before the write
        run.join(timeout=120)
    finally:
        application.close()
        evidence.close()
    assert not run.is_alive()
    # the guarded write skips the row: fewer rows written than decided, so the chunk is refused whole
    assert isinstance(outcome.get("error"), ChunkError), outcome
    assert "decided 28 rows but {'written': 27}; chunk rolled back" in str(outcome["error"])
    assert tenant_of(seed_db) == APPLICATION_TENANT
    assert audited_ids(seed_db) == []

    # Airflow's retry decides again: the row is the application's now, left alone and not audited
    retried = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert retried.backfilled == 27
    assert tenant_of(seed_db) == APPLICATION_TENANT
    assert audited_ids(seed_db) == [key for key in range(30, 58) if key != RACED]
    backups = query(seed_db, "select count(*) as n from tenant_backup_customers where id = %(id)s", {"id": RACED})
    assert backups[0]["n"] == 0
