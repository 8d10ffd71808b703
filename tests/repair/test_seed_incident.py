"""The seed incident (data set 1) end to end through every phase, on the real MariaDB."""

from __future__ import annotations

import csv
import json

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import Counts, Outcome, Summary
from tests.helpers.dbcheck import active_distribution, checksum, customers, query, tables

SPEC = load_spec("customers_company")
NULL_IDS = list(range(30, 61))


def run(target, run_id, dry_run):
    return phases.run_all(target, SPEC, RunContext(run_id=run_id, dry_run=dry_run, batch_size=7))


def test_default_run_is_dry_and_changes_nothing(seed_db, review_dir):
    before = {t: checksum(seed_db, t) for t in ("customers", "appointments", "calls", "phone_numbers", "companies")}
    tables_before = tables(seed_db)
    ctx = RunContext(run_id="dry-1")
    assert ctx.dry_run is True  # the safe default
    plan = phases.run_all(seed_db, SPEC, ctx)

    assert {t: checksum(seed_db, t) for t in before} == before
    assert tables(seed_db) == tables_before  # not even bookkeeping tables: a dry run writes nothing
    assert plan.null_rows == Counts(active=31, soft_deleted=0)
    assert plan.outcomes.backfill["appointments"] == Counts(active=28, soft_deleted=0)
    assert plan.outcomes.backfill["phone"] == Counts(active=0, soft_deleted=0)
    assert plan.outcomes.orphan == Counts(active=3, soft_deleted=0)
    assert plan.planned_changes == 31
    assert plan.review_rows == 0
    preview = review_dir / "customers_company" / "dry-1" / "review_preview.csv"
    assert list(csv.reader(preview.open(encoding="utf-8"))) == [
        ["row_id", "reason", "candidates", "name", "email", "phone", "created_at", "decision"]
    ]


def test_real_run_repairs_the_seed_incident_exactly(seed_db):
    before = customers(seed_db)
    summary = run(seed_db, "real-1", dry_run=False)
    after = customers(seed_db)

    assert active_distribution(seed_db) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert (
        query(seed_db, "select count(*) as n from customers where company_id is null and deleted_at is null")[0]["n"]
        == 0
    )
    orphans = [i for i in NULL_IDS if after[i]["deleted_at"] is not None]
    assert orphans == [58, 59, 60]
    assert all(after[i]["company_id"] is None for i in orphans)
    assert all(after[i]["company_id"] == 1 for i in range(30, 58))

    audit = query(
        seed_db, "select row_id, column_name, old_value, new_value, action, source from tenant_audit_log order by id"
    )
    assert len(audit) == 31
    assert sorted(a["row_id"] for a in audit if a["action"] == "backfill") == list(range(30, 58))
    assert {
        (a["column_name"], a["old_value"], a["new_value"], a["source"]) for a in audit if a["action"] == "backfill"
    } == {("company_id", None, "1", "appointments")}
    assert sorted(a["row_id"] for a in audit if a["action"] == "soft_delete") == [58, 59, 60]
    assert query(seed_db, "select count(*) as n from tenant_backup_customers")[0]["n"] == 31

    # no other customer column changed, on any row
    for key, row in before.items():
        changed = {c for c in row if row[c] != after[key][c]}
        expected = {"company_id"} if 30 <= key <= 57 else {"deleted_at"} if key >= 58 else set()
        assert changed == expected, (key, changed)

    assert summary.audited == {"backfill": 28, "soft_delete": 3}
    assert summary.backed_up == 31
    assert summary.null_rows_after == Counts(active=0, soft_deleted=3)
    assert all(check.success for check in summary.post_validation)
    # what tenant_runs keeps (and `show-summary`, the next task, a rollback read) is the same summary, typed again
    stored = query(seed_db, "select summary from tenant_runs where run_id = 'real-1'")[0]["summary"]
    assert Summary.from_dict(json.loads(stored)) == summary
    assert Outcome.from_dict(json.loads(json.dumps(phases.outcome(summary).to_dict()))).audited == summary.audited


def test_backup_holds_every_column_as_it_was(seed_db):
    before = customers(seed_db)
    run(seed_db, "real-b", dry_run=False)
    backup = query(seed_db, "select * from tenant_backup_customers order by id")
    assert [b["id"] for b in backup] == NULL_IDS
    for b in backup:
        assert b["backup_run_id"] == "real-b"
        assert {c: b[c] for c in before[b["id"]]} == before[b["id"]]


def test_second_real_run_changes_nothing_and_audits_nothing(seed_db):
    run(seed_db, "real-1", dry_run=False)
    state = checksum(seed_db, "customers")
    audit_rows = query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"]

    summary = run(seed_db, "real-2", dry_run=False)

    assert checksum(seed_db, "customers") == state
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == audit_rows == 31
    assert query(seed_db, "select count(*) as n from tenant_audit_log where run_id = 'real-2'")[0]["n"] == 0
    assert summary.audited == {}
    assert summary.backed_up == 0
