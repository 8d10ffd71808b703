"""Issue 6.2, step by step: the application writes between the phases of a real run.

The seed incident (NULL ids 30-57 with appointments at company 1, orphans 58-60). Between the backup
and the writes the application sets a tenant itself, soft-deletes a planned row, renames an orphan
and another customer, inserts a customer without a tenant; after the writes it NULLs a good row.
The run must not lose or overwrite any of that, must pass its gates (the spec's updated_at marker
says which rows the application wrote), and its summary must list exactly those rows.
A spec without the marker keeps the gates strict: the same writes fail post_validation.
"""

from __future__ import annotations

import dataclasses

import pytest

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import formatting, phases
from tenant_integrity.repair.results import Counts, PhaseResults
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")


def app_write(target, statement: str, params: dict | None = None) -> int:
    """One application transaction, the way a Laravel save does it: the change plus updated_at = now()."""
    with target.connect() as db:
        changed = db.execute(statement, params)
        db.commit()
        return changed


def writes_before_the_backfill(target) -> dict:
    app_write(target, "update customers set company_id = 1, updated_at = now() where id = 31")
    app_write(target, "update customers set deleted_at = now(), updated_at = now() where id = 35")
    app_write(target, "update customers set name = 'Renamed orphan', updated_at = now() where id = 59")
    app_write(target, "update customers set name = 'Renamed by app', updated_at = now() where id = 5")
    app_write(
        target,
        "insert into customers (id, company_id, name, created_at, updated_at) "
        "values (61, null, 'Webhook, still broken', now(), now())",
    )
    return customers(target)


def run_with_application(target, spec, run_id: str):
    """preflight and backup, the application's first writes, the write phases, its last write, post_validation."""
    ctx = RunContext(run_id=run_id, dry_run=False, batch_size=5)
    plan = phases.preflight(target, spec, ctx)
    backed_up = phases.backup(target, spec, ctx, plan)
    app_state = writes_before_the_backfill(target)
    results = PhaseResults(
        backup=backed_up,
        backfills=tuple(phases.backfill_source(target, spec, ctx, plan, source.name) for source in spec.evidence),
        conflicts=phases.detect_conflicts(target, spec, ctx, plan),
        review=phases.export_review(target, spec, ctx, plan),
        orphans=phases.soft_delete_orphans(target, spec, ctx, plan),
    )
    app_write(target, "update customers set company_id = null, updated_at = now() where id = 10")
    return app_state, lambda: phases.post_validation(target, spec, ctx, plan, results)


def test_application_writes_during_a_run_are_kept_and_reported(seed_db):
    app_state, finish = run_with_application(seed_db, SPEC, "app-1")
    summary = finish()
    after = customers(seed_db)

    assert summary.status == "succeeded"
    assert all(g.success for g in summary.post_validation)
    # nothing the application wrote was lost or overwritten
    assert after[31]["company_id"] == 1 and after[31]["updated_at"] == app_state[31]["updated_at"]
    assert after[35]["deleted_at"] == app_state[35]["deleted_at"]  # its soft-delete stands; the tenant is ours
    assert after[35]["company_id"] == 1
    assert after[59]["name"] == "Renamed orphan" and after[59]["deleted_at"] is None  # in use: not soft-deleted
    assert after[5]["name"] == "Renamed by app"
    assert after[61]["company_id"] is None and after[61]["deleted_at"] is None  # inserted after preflight: left alone
    assert after[10]["company_id"] is None

    audit = query(seed_db, "select row_id, action from tenant_audit_log where run_id = 'app-1' order by row_id")
    backfilled = [a["row_id"] for a in audit if a["action"] == "backfill"]
    assert backfilled == [i for i in range(30, 58) if i != 31]  # 27: not 31, whose tenant the app set first
    assert [a["row_id"] for a in audit if a["action"] == "soft_delete"] == [58, 60]
    backups = query(seed_db, "select id from tenant_backup_customers where backup_run_id = 'app-1' order by id")
    assert [b["id"] for b in backups] == [*backfilled, 58, 60]  # one pre-image per changed row
    assert query(seed_db, "select deleted_at from tenant_backup_customers where id = 35") == [
        {"deleted_at": app_state[35]["deleted_at"]}  # the pre-image holds the application's soft-delete
    ]

    writes = summary.application_writes
    assert writes["null_tenant_arrived"] == {"rows": 3, "ids": [10, 59, 61]}
    assert writes["inserted"] == {"rows": 1, "ids": [61]}
    assert writes["existing_rows_written_by_application"] == {"rows": 5, "ids": [5, 10, 31, 35, 59]}
    assert writes["changed_by_the_run_and_the_application"] == {"rows": 1, "ids": [35]}
    assert writes["ranges_not_checksummed"] == 1
    assert summary.null_rows_after == Counts(active=3, soft_deleted=2)  # 10, 59, 61; 58, 60 (35 got its tenant)

    text = formatting.format_summary(summary)
    assert "3 active (0 in review, 3 arrived during the run)" in text
    assert "changed by the run and by the application: 1 [35]" in text


def test_without_a_change_marker_the_same_writes_fail_post_validation(seed_db):
    strict = dataclasses.replace(
        SPEC, target=dataclasses.replace(SPEC.target, updated_at_column=None, created_at_column=None)
    )
    _, finish = run_with_application(seed_db, strict, "strict-1")
    with pytest.raises(TenantIntegrityError) as failed:
        finish()
    message = str(failed.value)
    # 10: active NULL outside review; 5 and 59 renamed: their checksum range. (The audit gate holds: each
    # pre-image is taken under the write's lock, after the application's earlier writes to the row.)
    assert "audit_equals_changes" not in message
    assert "active_null_tenant_outside_review" in message
    assert "unchanged_columns_checksum" in message
    run = query(seed_db, "select status from tenant_runs where run_id = 'strict-1'")[0]
    assert run["status"] == "failed_post_validation"


def test_a_run_keeps_on_update_timestamps_as_they_were(seed_db):
    # the application's schema declares updated_at ON UPDATE CURRENT_TIMESTAMP: a plain UPDATE would move it
    app_write(
        seed_db, "alter table customers modify updated_at timestamp null default null on update current_timestamp"
    )
    before = customers(seed_db)
    summary = phases.run_all(seed_db, SPEC, RunContext(run_id="on-update-1", dry_run=False, batch_size=5))
    after = customers(seed_db)

    assert summary.status == "succeeded"
    assert summary.audited == {"backfill": 28, "soft_delete": 3}
    assert [after[i]["updated_at"] for i in range(30, 61)] == [before[i]["updated_at"] for i in range(30, 61)]
    assert summary.application_writes["existing_rows_written_by_application"]["rows"] == 0


def test_a_row_the_application_sets_back_to_null_is_backed_up_once_and_keeps_its_first_copy(seed_db):
    # row 30 is written from its appointments; then the application moves it to company 15's line and
    # NULLs it again, so the phone pass of the same run decides and writes it a second time
    ctx = RunContext(run_id="renulled", dry_run=False, batch_size=5)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    backup_of_30 = "select company_id, name, backed_up_at from tenant_backup_customers where id = 30"
    first_copy = query(seed_db, backup_of_30)
    app_write(seed_db, "delete from appointments where customer_id = 30")
    app_write(
        seed_db,
        "insert into calls (company_id, customer_id, from_number, to_number, created_at, updated_at) "
        "values (15, 30, '+491710000030', '+493000000015', now(), now())",
    )
    app_write(seed_db, "update customers set company_id = null, updated_at = now() where id = 30")

    assert phases.backfill_source(seed_db, SPEC, ctx, plan, "phone").backfilled == 1
    assert customers(seed_db)[30]["company_id"] == 15
    assert first_copy[0]["company_id"] is None and query(seed_db, backup_of_30) == first_copy  # one row, unchanged
    audit = query(seed_db, "select source, new_value from tenant_audit_log where row_id = 30 order by id")
    assert [(a["source"], a["new_value"]) for a in audit] == [("appointments", "1"), ("phone", "15")]
