"""Chunk guards: no row is written without a backup row of this run holding its values from just before the write."""

from __future__ import annotations

import pytest

from tenant_integrity import phases
from tenant_integrity.spec import load_spec
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")


def test_every_written_row_has_its_pre_image_from_the_same_transaction(seed_db):
    before = customers(seed_db)
    ctx = phases.RunContext(run_id="guard", dry_run=False, batch_size=10, chunk_seconds=10)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    assert query(seed_db, "select count(*) as n from tenant_backup_customers") == [{"n": 0}]  # copied by the writes
    result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert result["backfilled"] == 28

    backups = {
        r["id"]: r for r in query(seed_db, "select * from tenant_backup_customers where backup_run_id = 'guard'")
    }
    assert sorted(backups) == list(range(30, 58))
    for row_id, backup in backups.items():
        assert {k: backup[k] for k in before[row_id]} == before[row_id]  # every column, as it was
    late = query(
        seed_db,
        "select count(*) as n from tenant_audit_log a join tenant_backup_customers b "
        "on b.backup_run_id = a.run_id and b.id = a.row_id where a.run_id = 'guard' and b.backed_up_at > a.created_at",
    )
    assert late == [{"n": 0}]  # each backup row was taken before its audit row, in the same chunk


def test_a_backup_that_fails_stops_the_chunk_before_its_write(seed_db):
    # one worker walks the keys in order, so "the chunks before it" are exactly the keys below 44
    ctx = phases.RunContext(run_id="no-backup", dry_run=False, batch_size=10, chunk_seconds=10, workers=1)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    with seed_db.connect() as db:  # the backup table refuses row 44 (a full disk, a broken table ...)
        db.execute(
            "create trigger refuse_44 before insert on tenant_backup_customers for each row "
            "begin if new.id = 44 then signal sqlstate '45000' set message_text = 'backup refused'; end if; end"
        )
        db.commit()
    with pytest.raises(Exception, match="backup refused"):
        phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    after = customers(seed_db)
    audited = {r["row_id"] for r in query(seed_db, "select row_id from tenant_audit_log where run_id = 'no-backup'")}
    assert after[44]["company_id"] is None and 44 not in audited  # its whole chunk rolled back
    written = {i for i in range(30, 58) if after[i]["company_id"] is not None}
    assert written == audited  # the chunks before it committed, each with its audit
    assert written and max(written) < 44
    backed_up = {
        r["id"] for r in query(seed_db, "select id from tenant_backup_customers where backup_run_id = 'no-backup'")
    }
    assert backed_up == written


def test_a_failing_worker_stops_the_phase_and_every_committed_chunk_stays_whole(seed_db):
    ctx = phases.RunContext(run_id="no-backup-2", dry_run=False, batch_size=5, chunk_seconds=10, workers=2)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    with seed_db.connect() as db:  # row 35 is in the first worker's share (keys 30-44)
        db.execute(
            "create trigger refuse_35 before insert on tenant_backup_customers for each row "
            "begin if new.id = 35 then signal sqlstate '45000' set message_text = 'backup refused'; end if; end"
        )
        db.commit()
    with pytest.raises(Exception, match="backup refused"):
        phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    after = customers(seed_db)
    audited = {r["row_id"] for r in query(seed_db, "select row_id from tenant_audit_log where run_id = 'no-backup-2'")}
    backed_up = {
        r["id"] for r in query(seed_db, "select id from tenant_backup_customers where backup_run_id = 'no-backup-2'")
    }
    written = {i for i in range(30, 58) if after[i]["company_id"] is not None}
    assert after[35]["company_id"] is None and 35 not in audited
    assert {30, 31, 32, 33, 34} <= written  # the first worker's chunk before it committed
    assert written == audited == backed_up  # whatever the other worker committed before it stopped is whole
    shares = query(
        seed_db,
        "select phase, until_key from tenant_checkpoints where run_no = %(run_no)s order by phase",
        {"run_no": plan["run_no"]},
    )
    assert [(s["phase"], s["until_key"]) for s in shares] == [
        ("backfill_appointments:1/2", 44),
        ("backfill_appointments:2/2", 60),
    ]
