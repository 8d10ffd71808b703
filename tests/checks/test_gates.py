"""A failing gate stops the run and names what failed, with sample ids."""

from __future__ import annotations

import sys

import pytest

from tenant_integrity.checks import gates
from tenant_integrity.core.errors import GateFailed, SpecError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import formatting, phases, rollback
from tenant_integrity.repair.results import OlderMismatch
from tests.helpers.app_triggers import move_children_when_the_run_writes, prefix_phone_when_the_tenant_changes
from tests.helpers.dbcheck import customers, query, tables

SPEC = load_spec("customers_company")


def test_post_validation_names_older_mismatches_as_warnings_and_passes(seed_db):
    # customer 5 belongs to company 1; two of its children carried other companies before the run: the run
    # writes neither row, so its gate lists them (warning) and passes; the daily validation fails on them
    with seed_db.connect() as db, db.transaction():
        db.execute("update appointments set company_id = 15 where customer_id = 5")
        db.execute("update calls set company_id = 83 where customer_id = 7")

    summary = phases.run_all(seed_db, SPEC, RunContext(run_id="mismatch", dry_run=False))

    assert summary.status == "succeeded"
    assert summary.planned.relation_mismatches_before_run == {
        "appointments": OlderMismatch(rows=1, sample_ids=(5,)),
        "calls": OlderMismatch(rows=1, sample_ids=(7,)),
    }
    # the summary lists them as preflight found them; the gate checks only the rows the run wrote, and passes
    assert summary.relation_mismatches_before_run == summary.planned.relation_mismatches_before_run
    assert [r.check for r in summary.post_validation if not r.success] == []
    text = formatting.format_summary(summary)
    assert "WARNING older mismatch:        1 appointments row(s)" in text and "(ids [5])" in text
    assert "WARNING older mismatch:        1 calls row(s)" in text and "(ids [7])" in text


@pytest.mark.parametrize(
    ("evidence_company", "moved_to"),
    [
        (None, 85),  # the run writes company 1 (the appointment's), the child moves up to 85
        (85, 1),  # the run writes company 85, the child moves down to 1: caught in both directions
    ],
)
def test_post_validation_fails_on_a_mismatch_the_run_created_naming_the_ids(seed_db, evidence_company, moved_to):
    if evidence_company is not None:  # customer 30's one appointment is the evidence the run writes from
        with seed_db.connect() as db, db.transaction():
            db.execute("update appointments set company_id = %(c)s where customer_id = 30", {"c": evidence_company})
    # the application moves customer 30's appointment the moment the run writes customer 30's tenant
    move_children_when_the_run_writes(seed_db, customer_id=30, company=moved_to)

    with pytest.raises(GateFailed) as failure:
        phases.run_all(seed_db, SPEC, RunContext(run_id="mismatch", dry_run=False))

    error = failure.value
    assert error.phase == "post_validation"
    failed = {f["check"]: f for f in error.failures}
    assert set(failed) == {"relation_mismatch:appointments"}
    assert failed["relation_mismatch:appointments"]["observed"] == 1
    assert failed["relation_mismatch:appointments"]["sample"] == [30]
    assert "relation_mismatch:appointments on customers: observed 1 (sample ids: 30)" in str(error)
    run = query(seed_db, "select status from tenant_runs where run_id = 'mismatch'")[0]
    assert run["status"] == "failed_post_validation"
    pair = "select c.company_id as parent, a.company_id as child from customers c join appointments a on a.customer_id = c.id"
    assert query(seed_db, f"{pair} where c.id = 30") == [{"parent": evidence_company or 1, "child": moved_to}]


def test_a_trigger_rewriting_another_column_of_the_written_rows_fails_the_gate_naming_them(seed_db):
    # the application's BEFORE UPDATE trigger prefixes the phone of a customer whose tenant changes, in the
    # run's own UPDATE: the 28 rows backfilled (30-57) change beyond their tenant; the 3 orphans soft-deleted
    # (58-60) keep their NULL tenant and their phone
    prefix_phone_when_the_tenant_changes(seed_db)
    before = customers(seed_db)
    # a dry run runs no UPDATE, so the trigger never fires: its plan and gate are those of any seed run
    # (what the trigger does cannot be predicted: phases.preflight says so)
    plan = phases.run_all(seed_db, SPEC, RunContext(run_id="dry", dry_run=True))
    assert (plan.planned_changes, plan.outcomes.backfill["appointments"].active) == (31, 28)

    with pytest.raises(GateFailed) as failure:
        phases.run_all(seed_db, SPEC, RunContext(run_id="trigger", dry_run=False))

    error = failure.value
    assert error.phase == "post_validation"
    failed = {f["check"]: f for f in error.failures}
    # row by row against the backup, named; and the range checksum (range 1-60) sees it too
    assert set(failed) == {"written_rows_unchanged_beyond_tenant", "unchanged_columns_checksum"}
    written = failed["written_rows_unchanged_beyond_tenant"]
    assert (written["table"], written["observed"], written["sample"]) == ("customers", 28, list(range(30, 50)))
    ids = ", ".join(str(i) for i in range(30, 50))
    assert f"written_rows_unchanged_beyond_tenant on customers: observed 28 (sample ids: {ids})" in str(error)
    assert (failed["unchanged_columns_checksum"]["observed"], failed["unchanged_columns_checksum"]["sample"]) == (
        1,
        [1],
    )
    # the run ends failed with its writes in place: nothing is undone by itself (tenant_rollback is the operator's)
    run = query(seed_db, "select status from tenant_runs where run_id = 'trigger'")[0]
    assert run["status"] == "failed_post_validation"
    after = customers(seed_db)
    assert [i for i in after if after[i]["phone"] != before[i]["phone"]] == list(range(30, 58))
    assert [i for i in after if after[i]["company_id"] != before[i]["company_id"]] == list(range(30, 58))

    # and tenant_rollback leaves those 28 alone (they differ from their backup), restoring the 3 orphans
    undone = rollback.rollback_run(seed_db, SPEC, RunContext(run_id="undo", dry_run=False), "trigger")
    assert (undone.changed_rows, undone.restored, undone.skipped_rows) == (31, 3, 28)
    assert {s["reason"] for s in undone.skipped} == {"changed since the run"}


def test_more_audit_rows_than_values_changed_fail_the_audit_gate(seed_db):
    # a value audited twice (one backfilled row, one changed value): more audit rows than changes is as wrong as fewer
    ctx = RunContext(run_id="audit-twice", dry_run=False)
    plan = phases.preflight(seed_db, SPEC, ctx)
    results = phases.run_writes(seed_db, SPEC, ctx, plan)
    with seed_db.connect() as db, db.transaction():
        db.execute(
            "insert into tenant_audit_log (run_id, spec, table_name, row_id, row_key, column_name, old_value,"
            " new_value, action, source, created_at)"
            " select run_id, spec, table_name, row_id, row_key, column_name, old_value, new_value, action, source,"
            " created_at from tenant_audit_log where run_id = 'audit-twice' and row_id = 33"
        )
    with pytest.raises(GateFailed) as failure:
        phases.post_validation(seed_db, SPEC, ctx, plan, results)
    failed = {f["check"]: f for f in failure.value.failures}
    assert set(failed) == {"audit_equals_changes"}
    assert (failed["audit_equals_changes"]["observed"], failed["audit_equals_changes"]["sample"]) == (1, [33])


def test_preflight_gate_fails_on_an_empty_tenant_table_before_any_write(seed_db):
    with seed_db.connect() as db, db.transaction():
        db.execute("delete from companies")
    with pytest.raises(GateFailed) as failure:
        phases.run_all(seed_db, SPEC, RunContext(run_id="no-tenants", dry_run=False))
    assert [f["check"] for f in failure.value.failures] == ["tenant_table_not_empty"]
    assert failure.value.failures[0]["observed"] == 0
    assert not {"tenant_runs", "tenant_audit_log", "tenant_backup_customers"} & tables(seed_db)
    assert query(seed_db, "select count(*) as n from customers where company_id is null")[0]["n"] == 31


def test_duplicate_keys_stop_the_run_at_the_live_check_before_any_write(seed_db):
    # a key that is unique in the spec's eyes but not in the data: drop the primary key, duplicate a row.
    # The live check requires a primary key or single-column unique index on target.key, so a GX
    # uniqueness scan after it could never fail; this is where duplicates are stopped.
    with seed_db.connect() as db:
        db.execute("alter table customers modify id bigint unsigned not null, drop primary key")
        db.execute("alter table customers add unique key id_u (id, email)")
        db.execute("insert into customers (id, name, email) values (30, 'Dup', 'dup@example.org')")
        db.commit()
    with pytest.raises(SpecError) as failure:
        phases.run_all(seed_db, SPEC, RunContext(run_id="duplicates", dry_run=False))
    assert "target.key: customers.id is not a primary key or unique index" in str(failure.value)
    assert not {"tenant_runs", "tenant_audit_log", "tenant_backup_customers"} & tables(seed_db)
    assert query(seed_db, "select count(*) as n from customers where id = 30")[0]["n"] == 2


def test_the_backup_table_follows_a_column_added_to_the_target_after_preflight(seed_db):
    ctx = RunContext(run_id="backup-columns", dry_run=False)
    plan = phases.preflight(seed_db, SPEC, ctx)
    with seed_db.connect() as db:  # the application's migration runs in between
        db.execute("alter table customers add column vip tinyint not null default 0")
        db.execute("update customers set vip = 1 where id = 44")
        db.commit()
    result = phases.backup(seed_db, SPEC, ctx, plan)
    assert result.columns == 9
    phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    backup = query(seed_db, "select vip, company_id from tenant_backup_customers where id = 44")
    assert backup == [{"vip": 1, "company_id": None}]


def test_a_column_the_run_may_not_change_that_changed_fails_the_checksum_gate_naming_the_range(edge_db):
    ctx = RunContext(run_id="checksum", dry_run=False)
    plan = phases.preflight(edge_db, SPEC, ctx)
    results = phases.run_writes(edge_db, SPEC, ctx, plan)
    with edge_db.connect() as db, db.transaction():  # someone edits a column no run may touch
        db.execute("update customers set email = 'changed@example.org' where id = 5")
    with pytest.raises(GateFailed) as failure:
        phases.post_validation(edge_db, SPEC, ctx, plan, results)
    failed = {f["check"]: f for f in failure.value.failures}
    assert set(failed) >= {"unchanged_columns_checksum"}
    assert (failed["unchanged_columns_checksum"]["observed"], failed["unchanged_columns_checksum"]["sample"]) == (
        1,
        [1],
    )
    ranges = query(
        edge_db,
        "select range_lo, range_hi, row_count from tenant_range_checksums where run_no = %(n)s",
        {"n": plan.run_no},
    )
    assert ranges == [{"range_lo": 1, "range_hi": 114, "row_count": 74}]


def test_a_row_deleted_during_the_run_fails_the_row_count_gate(seed_db):
    # the application hard-deletes a customer between the writes and the gate: one row fewer than at preflight
    ctx = RunContext(run_id="deleted", dry_run=False)
    plan = phases.preflight(seed_db, SPEC, ctx)
    results = phases.run_writes(seed_db, SPEC, ctx, plan)
    with seed_db.connect() as db, db.transaction():
        db.execute("delete from calls where customer_id = 2")
        db.execute("delete from appointments where customer_id = 2")
        db.execute("delete from customers where id = 2")
    with pytest.raises(GateFailed) as failure:
        phases.post_validation(seed_db, SPEC, ctx, plan, results)
    failed = {f["check"]: f for f in failure.value.failures}
    # the row's key range no longer checksums the same either
    assert set(failed) == {"row_count_unchanged", "unchanged_columns_checksum"}
    assert failed["row_count_unchanged"]["sample"] == [60]  # the count at preflight; 59 now


def test_the_task_log_shows_plan_gates_and_progress_not_gx_start_up(seed_db, caplog):
    caplog.set_level("INFO")
    phases.run_all(seed_db, SPEC, RunContext(run_id="quiet", dry_run=False))
    chatter = [r.getMessage() for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < 30]
    assert chatter == []
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("tenant_integrity")]
    assert any(m.startswith("plan for customers_company:") for m in ours)
    assert any(m.startswith("gate post_validation / row_count_unchanged on customers: ok") for m in ours)
    # every phase's progress ends with one 100% line
    for phase in ("preflight profile", "detect_conflicts", "backfill_appointments", "soft_delete_orphans"):
        lines = [m for m in ours if m.startswith(f"customers_company {phase}: ")]
        assert "(100.0%)" in lines[-1] and sum("(100.0%)" in m for m in lines) == 1, lines


def _check(name: str, query_sql: str) -> dict:
    return {
        "type": gates.COUNTED_ONCE,
        "kwargs": {"unexpected_rows_query": query_sql},
        "check": name,
        "asset": "target",
        "description": name,
        "severity": "critical",
        "needs": [],
    }


def test_a_gate_on_two_connections_reports_every_check_in_suite_order_and_keeps_stdout(seed_db):
    # four checks dealt to two checkpoints: the failures of both come back, named, in the suite's order
    checks = [
        _check("first_null_rows", "select id as row_id from {batch} where company_id is null order by id"),
        _check("second_none", "select id as row_id from {batch} where id < 0"),
        _check("third_company_15", "select id as row_id from {batch} where company_id = 15 order by id"),
        _check("fourth_broken", "select no_such_column as row_id from {batch}"),
    ]
    stdout = sys.stdout
    run = gates.run_expectations(seed_db, SPEC, "parallel", checks, connections=2)
    assert sys.stdout is stdout  # GX's print()-hint redirection happened once, not raced by two threads
    got = {r.check: r for r in run.results}
    assert [r.check for r in run.results] == [c["check"] for c in checks]
    null_ids = query(seed_db, "select id from customers where company_id is null order by id")
    assert (got["first_null_rows"].success, got["first_null_rows"].observed) == (False, 31)
    assert got["first_null_rows"].sample == [r["id"] for r in null_ids][: gates.SAMPLE_SIZE]
    assert (got["second_none"].success, got["second_none"].observed) == (True, 0)
    company_15 = [r["id"] for r in query(seed_db, "select id from customers where company_id = 15 order by id")]
    assert (got["third_company_15"].observed, got["third_company_15"].sample) == (3, company_15)
    # a query the database refuses is a failure that says why (it used to come back as observed None)
    assert got["fourth_broken"].success is False
    assert str(got["fourth_broken"].observed).startswith("error:") and "no_such_column" in got["fourth_broken"].observed
