"""tenant_rollback on a real backfill: CHECKSUM-identical when nothing changed, and the app's writes kept."""

from __future__ import annotations

import json

import pytest

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases, rollback
from tests.helpers.app_triggers import prefix_phone_when_the_tenant_changes
from tests.helpers.chunk_logs import chunk_rows
from tests.helpers.dbcheck import checksum, customers, query

SPEC = load_spec("customers_company")


def undo(target, run_id="b1", rollback_id="rb1", dry_run=False):
    ctx = RunContext(run_id=rollback_id, dry_run=dry_run, batch_size=4, dag_id="tenant_rollback")
    return rollback.rollback_run(target, SPEC, ctx, run_id)


@pytest.fixture
def backfilled(edge_db):
    before = checksum(edge_db, "customers"), customers(edge_db)
    phases.run_all(edge_db, SPEC, RunContext(run_id="b1", dry_run=False))
    return edge_db, before


def test_rollback_restores_checksum_identical_data(backfilled):
    target, (before_sum, _) = backfilled
    assert checksum(target, "customers") != before_sum
    result = undo(target)
    assert checksum(target, "customers") == before_sum
    assert (result.changed_rows, result.restored, result.skipped) == (37, 37, ())
    # every chunk the engine walked (its size adapts from 4) was checksum-verified, and together they hold the 37 rows
    rows = chunk_rows("rb1", "rollback")
    assert result.chunks_verified == len(rows) > 1 and sum(rows) == 37
    audit = query(
        target, "select action, source, count(*) as n from tenant_audit_log where run_id = 'rb1' group by 1, 2"
    )
    assert [(a["action"], a["source"], a["n"]) for a in audit] == [("rollback", "b1", 37)]
    assert query(target, "select count(*) as n from tenant_backup_customers where backup_run_id = 'rb1'")[0]["n"] == 37
    # the rollback's own tenant_runs row ends with its status and numbers (it stayed `running` before)
    (row,) = query(target, "select status, summary from tenant_runs where run_id = 'rb1'")
    assert row["status"] == "succeeded" and json.loads(row["summary"])["restored"] == 37


def test_a_chunk_whose_restored_rows_differ_from_the_backup_is_rolled_back_and_named(backfilled):
    # installed after the run: the application's trigger prefixes the phone on the rollback's own restore
    # (tenant -> NULL). The same edit on an even number of rows cancels out in an XOR of CRC32s: the
    # comparison is row by row
    target, _ = backfilled
    prefix_phone_when_the_tenant_changes(target)
    after_backfill = checksum(target, "customers")
    with pytest.raises(TenantIntegrityError) as failed:
        undo(target)
    # the first chunk (its size starts at 4): every row in it was rewritten, so none is restored
    assert str(failed.value) == (
        "spec 'customers_company', phase 'rollback', table 'customers', keys (-9223372036854775808, 33]: "
        "4 restored row(s) do not match the backup (ids [30, 31, 32, 33]); chunk rolled back"
    )
    assert checksum(target, "customers") == after_backfill  # the chunk was rolled back whole
    assert query(target, "select count(*) as n from tenant_audit_log where run_id = 'rb1'")[0]["n"] == 0
    assert query(target, "select count(*) as n from tenant_backup_customers where backup_run_id = 'rb1'")[0]["n"] == 0
    (row,) = query(target, "select status from tenant_runs where run_id = 'rb1'")
    assert row["status"] == "failed"


def test_a_value_the_app_wrote_after_the_run_is_kept_and_reported(backfilled):
    target, (_, before) = backfilled
    with target.connect() as db, db.transaction():
        db.execute("update customers set company_id = 15 where id = 40")  # the app reassigned it
        db.execute("update customers set name = 'Renamed by app' where id = 41")  # or edited it
    result = undo(target)
    assert result.restored == 35
    assert list(result.skipped) == [
        {"row_id": 40, "reason": "changed since the run"},
        {"row_id": 41, "reason": "changed since the run"},
    ]
    after = customers(target)
    assert (after[40]["company_id"], after[41]["name"], after[41]["company_id"]) == (15, "Renamed by app", 1)
    for key in set(before) - {40, 41}:
        assert after[key] == before[key], key


def test_a_soft_delete_the_app_undid_after_the_run_is_left_alone_and_reported(backfilled):
    """The run soft-deleted orphan 58; the application restored it (deleted_at NULL again, nothing else changed).
    Its row equals the backup now, but not what the run left: the rollback leaves it alone and lists it."""
    target, _ = backfilled
    with target.connect() as db, db.transaction():
        db.execute("update customers set deleted_at = null where id = 58")
    result = undo(target)
    assert (result.restored, list(result.skipped)) == (36, [{"row_id": 58, "reason": "changed since the run"}])
    rolled_back = "select count(*) as n from tenant_audit_log where action = 'rollback' and row_id = 58"
    assert query(target, rolled_back)[0]["n"] == 0
    assert (customers(target)[58]["deleted_at"], customers(target)[58]["company_id"]) == (None, None)


def test_dry_run_reports_and_restores_nothing(backfilled):
    target, _ = backfilled
    state = checksum(target, "customers")
    result = undo(target, dry_run=True)
    assert (result.restored, result.skipped) == (37, ())
    assert checksum(target, "customers") == state
    assert query(target, "select count(*) as n from tenant_audit_log where action = 'rollback'")[0]["n"] == 0


def test_a_second_rollback_restores_nothing_and_says_so(backfilled):
    target, (before_sum, _) = backfilled
    undo(target)
    result = undo(target, rollback_id="rb2")
    assert (result.already_restored, result.restored, result.skipped) == (37, 0, ())
    assert checksum(target, "customers") == before_sum


def test_the_daily_integrity_check_accepts_a_rolled_back_run(backfilled, tmp_path, monkeypatch):
    from tenant_integrity.monitoring import validation

    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path))
    target, _ = backfilled
    undo(target)
    report = validation.validate(target, SPEC, "comprehensive", "after-rollback")
    check = next(c for c in report.checks if c.check == "last_remediation_integrity")
    assert (check.success, check.observed) == (True, 0)


def test_unknown_run_is_a_clear_error(backfilled):
    target, _ = backfilled
    with pytest.raises(TenantIntegrityError, match="run 'nope' changed no rows"):
        undo(target, run_id="nope")
