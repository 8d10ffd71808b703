"""Chunk guards: no row is written without a backup row of this run holding its values from before the write."""

from __future__ import annotations

from tenant_integrity import phases
from tenant_integrity.spec import load_spec
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")


def test_a_backup_row_that_vanished_is_copied_again_before_the_write(seed_db):
    ctx = phases.RunContext(run_id="guard", dry_run=False, batch_size=10, chunk_seconds=10)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    with seed_db.connect() as db, db.transaction():
        db.execute("delete from tenant_backup_customers where id = 44 and backup_run_id = 'guard'")
    result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert result["backfilled"] == 28
    backup = query(
        seed_db, "select company_id, name from tenant_backup_customers where id = 44 and backup_run_id = 'guard'"
    )
    assert backup == [{"company_id": None, "name": "Customer 44"}]
    assert query(seed_db, "select company_id from customers where id = 44") == [{"company_id": 1}]
    written_without_backup = query(
        seed_db,
        "select count(*) as n from tenant_audit_log a left join tenant_backup_customers b "
        "on b.backup_run_id = a.run_id and b.id = a.row_id where a.run_id = 'guard' and b.id is null",
    )
    assert written_without_backup == [{"n": 0}]
