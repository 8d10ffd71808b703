"""The daily validation's checks on crafted databases: each one failing with the right observed value."""

from __future__ import annotations

import json
import re

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import paging, validation
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")


def repaired(target, run_id="backfill-1"):
    phases.run_all(target, SPEC, RunContext(run_id=run_id, dry_run=False))
    return target


def checks(report) -> dict:
    return {c.check: c for c in report.checks}


def execute(target, *statements):
    with target.connect() as db, db.transaction():
        for statement in statements:
            db.execute(statement)


@pytest.fixture
def clean(seed_db, tmp_path, monkeypatch):
    """The seed incident after a successful backfill: no active NULL, 3 soft-deleted orphans."""
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    repaired(seed_db)
    validation.validate(seed_db, SPEC, "comprehensive", "baseline")
    return seed_db


def test_clean_database_passes_both_modes(clean):
    for mode in ("standard", "comprehensive"):
        report = validation.validate(clean, SPEC, mode, f"clean-{mode}")
        assert report.passed, validation.format_table(report)
    by_name = checks(report)
    assert by_name["soft_deleted_null_tenant"].observed == 3  # a warning, not a failure
    assert by_name["soft_deleted_null_tenant"].sample == [58, 59, 60]
    assert by_name["new_null_since_last_validation"].observed == 0
    assert by_name["tenant_isolation"].observed == 0
    assert by_name["last_remediation_integrity"].observed == 0


def test_first_validation_is_the_baseline_for_new_leaks(seed_db, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    report = validation.validate(repaired(seed_db), SPEC, "comprehensive", "first")
    assert checks(report)["new_null_since_last_validation"].observed.startswith("skipped: first validation")
    assert checks(report)["last_remediation_integrity"].observed == 0


def test_a_new_active_null_customer_fails_with_its_id_and_created_at(clean):
    execute(
        clean,
        "insert into customers (id, company_id, name, email, created_at, updated_at) "
        "values (61, null, 'Webhook Leak', 'leak@example.org', utc_timestamp() + interval 1 second, utc_timestamp())",
    )
    report = validation.validate(clean, SPEC, "comprehensive", "leak")
    assert not report.passed
    assert [c.check for c in report.failed] == ["active_null_tenant", "new_null_since_last_validation"]
    for name in ("active_null_tenant", "new_null_since_last_validation"):
        assert checks(report)[name].observed == 1
        assert checks(report)[name].sample == [61]
        assert checks(report)[name].first_bad_created_at is not None
    assert "active_null_tenant" in paging.validation_mail_subject([report])
    body = paging.validation_mail_body([report], "http://airflow/run")
    assert "ids (up to 20): 61" in body and "first bad created_at" in body and "http://airflow/run" in body


@pytest.mark.parametrize(
    ("statements", "check", "observed", "sample"),
    [
        (
            ["update appointments set company_id = 15 where customer_id in (3, 4)"],
            "relation_mismatch:appointments",
            3,
            [3, 4],
        ),
        (["update calls set company_id = 83 where customer_id = 10"], "relation_mismatch:calls", 1, [10]),
        # children LOWER than their parent (customer 24 and 25 belong to company 15): caught the same
        (["update appointments set company_id = 1 where customer_id = 24"], "relation_mismatch:appointments", 2, [24]),
        (["update calls set company_id = 1 where customer_id = 25"], "relation_mismatch:calls", 1, [25]),
        (["update customers set company_id = 777 where id in (5, 6)"], "tenant_exists", 2, [5, 6]),
        (["update customers set company_id = null where id = 9"], "active_null_tenant", 1, [9]),
        (["delete from tenant_audit_log where row_id = 44"], "last_remediation_integrity", 1, [44]),
        (["delete from tenant_backup_customers where id = 45"], "last_remediation_integrity", 1, [45]),
        (["update customers set company_id = 15 where id = 2"], "tenant_isolation", 1, [2]),
        # isolation in both directions: every child reaching the customer carries a lower / a higher tenant
        (["update appointments set company_id = 1 where customer_id = 24"], "tenant_isolation", 1, [24]),
        (["update appointments set company_id = 15 where customer_id = 2"], "tenant_isolation", 1, [2]),
    ],
)
def test_each_critical_check_fails_with_the_right_observed_value(clean, statements, check, observed, sample):
    execute(clean, *statements)
    report = validation.validate(clean, SPEC, "comprehensive", "crafted")
    assert not report.passed
    assert checks(report)[check].success is False
    assert checks(report)[check].observed == observed
    assert checks(report)[check].sample == sample


def test_isolation_proof_and_review_warnings_after_a_backfill_with_open_reviews(edge_db, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    report = validation.validate(repaired(edge_db), SPEC, "comprehensive", "edge")
    by_name = checks(report)
    # 101 (appointments at 1 and 15), 106 (reached from 999, carries none), 109 (1 and 83)
    assert (by_name["tenant_isolation"].observed, by_name["tenant_isolation"].sample) == (3, [101, 106, 109])
    assert by_name["open_review_rows"].observed == 7
    assert by_name["open_review_rows"].severity == "warning"
    assert by_name["soft_deleted_null_tenant"].sample == [58, 59, 60, 108]
    assert [c.check for c in report.failed] == ["active_null_tenant", "tenant_isolation"]


def test_history_rows_for_every_check_of_both_runs(clean):
    validation.validate(clean, SPEC, "standard", "h-standard")
    execute(clean, "update customers set company_id = null where id = 9")
    report = validation.validate(clean, SPEC, "comprehensive", "h-comprehensive")
    rows = query(
        clean,
        "select run_id, check_name, observed_value, passed, severity from tenant_validation_history "
        "where run_id like 'h-%%' order by id",
    )
    # every validation ends with the guard report (a warning row; no guard installed here)
    guard_rows = [r for r in rows if r["check_name"] == "tenant_guard"]
    assert [(r["run_id"], r["passed"], r["severity"], r["observed_value"]) for r in guard_rows] == [
        (run_id, 1, "warning", "no guard installed (tenant_guard installs one: fill, log or reject)")
        for run_id in ("h-standard", "h-comprehensive")
    ]
    rows = [r for r in rows if r["check_name"] != "tenant_guard"]
    assert [(r["run_id"], r["check_name"], r["passed"]) for r in rows] == [
        ("h-standard", "active_null_tenant", 1),
        ("h-standard", "relation_mismatch:appointments", 1),
        ("h-standard", "relation_mismatch:calls", 1),
        ("h-standard", "tenant_exists", 1),
        ("h-comprehensive", "active_null_tenant", 0),
        ("h-comprehensive", "relation_mismatch:appointments", 1),
        ("h-comprehensive", "relation_mismatch:calls", 1),
        ("h-comprehensive", "tenant_exists", 1),
        ("h-comprehensive", "new_null_since_last_validation", 1),
        ("h-comprehensive", "soft_deleted_null_tenant", 0),
        ("h-comprehensive", "open_review_rows", 1),
        ("h-comprehensive", "last_remediation_integrity", 1),
        ("h-comprehensive", "tenant_isolation", 0),
    ]
    assert rows[4]["observed_value"] == "1"
    runs = query(
        clean, "select run_id, passed, data_docs from tenant_validation_runs where run_id like 'h-%%' order by 1"
    )
    assert [(r["run_id"], r["passed"]) for r in runs] == [("h-comprehensive", 0), ("h-standard", 1)]
    assert runs[0]["data_docs"] == report.data_docs[0]
    # the row set back to NULL was not created since the last validation: a leak, but not a new one
    assert json.loads(rows[8]["observed_value"] or "0") == 0


def test_data_docs_html_shows_the_failing_expectation(clean):
    execute(clean, "update customers set company_id = null where id in (7, 8)")
    report = validation.validate(clean, SPEC, "standard", "docs")
    path = report.data_docs[0].removeprefix("file://")
    with open(path, encoding="utf-8") as handle:
        page = handle.read()
    rows = [row for row in re.split(r"<tr", page) if "0 active rows with a NULL tenant" in row]
    assert rows, "the expectation is not on the page"
    assert "fa-times" in rows[0]  # GX's failed marker
    assert re.search(r">\s*2\s*<", rows[0])  # observed value
    passing = [row for row in re.split(r"<tr", page) if "every tenant value exists" in row]
    assert "fa-check-circle" in passing[0]


def test_the_validation_reports_the_installed_guard_and_what_its_log_recorded(clean):
    from tenant_integrity.enforce import guards

    guards.install(clean, SPEC, "log", dry_run=False)
    execute(clean, "insert into customers (id, company_id, name) values (901, null, 'Leak A')")
    report = validation.validate(clean, SPEC, "standard", "g-1")
    guard = checks(report)["tenant_guard"]
    assert (guard.success, guard.severity, guard.observed, guard.sample) == (
        False,
        "warning",
        "mode log installed; 1 NULL-tenant write(s) logged",
        [901],
    )
    assert not report.passed  # active_null_tenant (critical) fails on 901; the guard row only reports
    assert [c.check for c in report.failed] == ["active_null_tenant"]
