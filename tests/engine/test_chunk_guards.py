"""Chunk guards: no row is written without a backup row of this run holding its values from just before the write."""

from __future__ import annotations

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")


def test_every_written_row_has_its_pre_image_from_the_same_transaction(seed_db):
    before = customers(seed_db)
    ctx = RunContext(run_id="guard", dry_run=False, batch_size=10, chunk_seconds=10)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    assert query(seed_db, "select count(*) as n from tenant_backup_customers") == [{"n": 0}]  # copied by the writes
    result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert result.backfilled == 28

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


def backfill_with_a_refused_backup(target, ctx, refused_id: int) -> tuple[dict, set, set, set]:
    """Run the appointments backfill while the backup table refuses one row (a full disk, a broken table ...).

    Returns the plan and the ids written, audited and backed up by the run.
    """
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    with target.connect() as db:
        db.execute(
            f"create trigger refuse_{refused_id} before insert on tenant_backup_customers for each row "
            f"begin if new.id = {refused_id} then signal sqlstate '45000' set message_text = 'backup refused'; "
            "end if; end"
        )
        db.commit()
    with pytest.raises(Exception, match="backup refused"):
        phases.backfill_source(target, SPEC, ctx, plan, "appointments")
    after = customers(target)
    run = {"run_id": ctx.run_id}
    audited = {r["row_id"] for r in query(target, "select row_id from tenant_audit_log where run_id = %(run_id)s", run)}
    backed_up = {
        r["id"] for r in query(target, "select id from tenant_backup_customers where backup_run_id = %(run_id)s", run)
    }
    written = {i for i in range(30, 58) if after[i]["company_id"] is not None}
    return plan, written, audited, backed_up


def test_a_backup_that_fails_stops_the_chunk_before_its_write(seed_db):
    # one worker walks the keys in order, so "the chunks before it" are exactly the keys below 44
    ctx = RunContext(run_id="no-backup", dry_run=False, batch_size=10, chunk_seconds=10, workers=1)
    _, written, audited, backed_up = backfill_with_a_refused_backup(seed_db, ctx, 44)
    assert 44 not in written and 44 not in audited  # its whole chunk rolled back
    assert written == audited  # the chunks before it committed, each with its audit
    assert written and max(written) < 44
    assert backed_up == written


def test_a_failing_worker_stops_the_phase_and_every_committed_chunk_stays_whole(seed_db):
    # row 35 is in the first worker's share (keys 30-44)
    ctx = RunContext(run_id="no-backup-2", dry_run=False, batch_size=5, chunk_seconds=10, workers=2)
    plan, written, audited, backed_up = backfill_with_a_refused_backup(seed_db, ctx, 35)
    assert 35 not in written and 35 not in audited
    assert {30, 31, 32, 33, 34} <= written  # the first worker's chunk before it committed
    assert written == audited == backed_up  # whatever the other worker committed before it stopped is whole
    shares = query(
        seed_db,
        "select phase, until_key from tenant_checkpoints where run_no = %(run_no)s order by phase",
        {"run_no": plan.run_no},
    )
    assert [(s["phase"], s["until_key"]) for s in shares] == [
        ("backfill_appointments:1/2", 44),
        ("backfill_appointments:2/2", 60),
    ]


def test_chunk_sessions_read_committed_unless_the_binary_log_is_statement_based(seed_db):
    # REPEATABLE READ share-locked the next index entry past a chunk's range (the other worker's row):
    # two workers deadlocked at their share boundary on Akaunting's contacts in most runs
    from tenant_integrity.engine.session import Session
    from tenant_integrity.repair.walks import DecisionWalk, read_committed_is_safe

    ctx = RunContext(run_id="isolation")
    session = Session(
        seed_db, SPEC, DecisionWalk(SPEC, ctx, "detect_conflicts", "conflict", queue=True, lock=False), ctx
    )
    try:
        isolation = session.db.rows("select @@session.tx_isolation as level")[0]["level"]
    finally:
        session.close()
    assert isolation == "READ-COMMITTED"
    assert [
        read_committed_is_safe(*mode) for mode in ((0, "STATEMENT"), (1, "ROW"), (1, "MIXED"), (1, "STATEMENT"))
    ] == [
        True,
        True,
        True,
        False,
    ]
