"""tenant_review_import: one bad row applies nothing and names the line; a good file applies every decision."""

from __future__ import annotations

import json

import pytest

from tenant_integrity.core.errors import GateFailed, TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases, review_import
from tenant_integrity.repair.review_import import ReviewFileError
from tests.helpers.app_triggers import move_children_when_the_run_writes
from tests.helpers.dbcheck import checksum, customers, query
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS, filled

SPEC = load_spec("customers_company")


@pytest.fixture
def exported(edge_db, review_dir):
    """Data sets 1+2 after a real backfill: 7 open review rows and their exported CSV."""
    phases.run_all(edge_db, SPEC, RunContext(run_id="b1", dry_run=False))
    path = review_dir / "customers_company" / "b1" / "review.csv"
    return edge_db, path


# 101 and 109 have appointments at two companies and 106 at a missing one: any tenant would contradict them
GOOD = DECISIONS


def run(target, path, dry_run=False):
    return review_import.import_review(
        target, SPEC, RunContext(run_id="import-1", dry_run=dry_run, dag_id="tenant_review_import"), str(path)
    )


@pytest.mark.parametrize(("newline", "bom"), [("\r\n", False), ("\n", True)])
def test_a_good_file_applies_every_decision_audited(exported, newline, bom):
    target, path = exported
    decided = filled(path, GOOD, newline=newline, bom=bom)
    before = customers(target)
    summary = run(target, decided)

    after = customers(target)
    assert summary.applied == 4 and summary.skipped == 3 and summary.settled == ()
    (registered,) = query(target, "select status, summary from tenant_runs where run_id = 'import-1'")
    assert registered["status"] == "succeeded" and json.loads(registered["summary"])["applied"] == 4
    assert {k: after[k]["company_id"] for k in GOOD} == TENANTS_AFTER_DECISIONS
    assert after[109]["deleted_at"] is not None and before[109]["deleted_at"] is None
    assert all(after[k]["deleted_at"] is None for k in (101, 103, 104, 106, 110, 111))
    audit = query(
        target,
        "select row_id, column_name, new_value, action, source from tenant_audit_log where run_id = 'import-1' order by row_id",
    )
    line = {row_id: n for n, row_id in enumerate([101, 103, 104, 106, 109, 110, 111], start=2)}
    line[110] = 7  # 110's name holds a newline: its record starts on line 7 and ends on line 8
    line[111] = 9
    assert [(a["row_id"], a["column_name"], a["new_value"], a["action"], a["source"]) for a in audit] == [
        (103, "company_id", "83", "review_decision", f"decided.csv:{line[103]}"),
        (104, "company_id", "1", "review_decision", f"decided.csv:{line[104]}"),
        (109, "deleted_at", str(after[109]["deleted_at"]), "review_decision", f"decided.csv:{line[109]}"),
        (110, "company_id", "84", "review_decision", f"decided.csv:{line[110]}"),
    ]
    statuses = {r["row_id"]: r["status"] for r in query(target, "select row_id, status from tenant_review_queue")}
    assert statuses == {
        101: "skipped",
        103: "applied",
        104: "applied",
        106: "skipped",
        109: "applied",
        110: "applied",
        111: "skipped",
    }
    assert (
        query(target, "select count(*) as n from tenant_backup_customers where backup_run_id = 'import-1'")[0]["n"] == 4
    )
    assert all(check.success for check in summary.post_validation)


def test_one_bad_row_applies_nothing_and_names_the_line(exported):
    target, path = exported
    decided = filled(path, {**GOOD, 109: "=1+1"})
    before = checksum(target, "customers")
    with pytest.raises(ReviewFileError) as failure:
        run(target, decided)
    assert failure.value.problems == [
        "line 6: decision '=1+1' looks like a spreadsheet formula; write a tenant id, orphan or skip"
    ]
    assert checksum(target, "customers") == before
    assert query(target, "select count(*) as n from tenant_audit_log where run_id = 'import-1'")[0]["n"] == 0


def test_database_checks_name_every_line(exported):
    target, path = exported
    decided = filled(path, {**GOOD, 103: "999"})
    text = decided.read_bytes().replace(b"\r\n106,", b"\r\n42,", 1)  # 42 is not under review
    decided.write_bytes(text)
    with pytest.raises(ReviewFileError) as failure:
        run(target, decided)
    assert failure.value.problems == [
        "line 3: tenant 999 does not exist in companies.id",
        "line 5: row_id 42 is not an open review row of spec customers_company",
    ]


def test_a_decision_that_contradicts_related_rows_is_refused_before_writing(exported):
    target, path = exported
    before = checksum(target, "customers")
    with pytest.raises(ReviewFileError) as failure:
        run(target, filled(path, {**GOOD, 101: "15"}))
    assert failure.value.problems == [
        "line 2: tenant 15 contradicts 2 appointments row(s) of tenant 1 for row_id 101: fix those rows first, or decide orphan/skip"
    ]
    assert checksum(target, "customers") == before


def test_a_path_outside_the_review_folder_is_refused(exported, tmp_path):
    target, path = exported
    outside = tmp_path / "outside.csv"
    outside.write_bytes(path.read_bytes())
    for value in (str(outside), "../outside.csv", "customers_company/../../outside.csv"):
        with pytest.raises(ReviewFileError, match="outside the review folder"):
            run(target, value)


def test_rows_settled_by_the_application_meanwhile_are_left_alone_and_listed(exported):
    target, path = exported
    decided = filled(path, GOOD)
    with target.connect() as db, db.transaction():
        db.execute("update customers set company_id = 84 where id = 103")  # the app decided first
    summary = run(target, decided)
    assert summary.settled == (103,)
    assert customers(target)[103]["company_id"] == 84
    assert (
        query(target, "select count(*) as n from tenant_audit_log where run_id = 'import-1' and row_id = 103")[0]["n"]
        == 0
    )


def test_dry_run_validates_and_applies_nothing(exported):
    target, path = exported
    before = checksum(target, "customers")
    summary = run(target, filled(path, GOOD), dry_run=True)
    assert summary.by_kind == {"tenant": 3, "orphan": 1, "skip": 3}
    assert checksum(target, "customers") == before


def test_before_any_backfill_there_is_nothing_to_decide(seed_db, review_dir):
    (review_dir / "x").mkdir(parents=True)
    (review_dir / "x" / "r.csv").write_text("row_id,decision\n30,1\n", encoding="utf-8")
    with pytest.raises(TenantIntegrityError, match="no review queue yet"):
        run(seed_db, "x/r.csv", dry_run=True)


def test_a_bad_line_in_a_later_chunk_applies_nothing_of_the_earlier_ones(exported):
    # chunks of 2 decisions: the bad line (111, a tenant that does not exist) is in the last one
    target, path = exported
    before = checksum(target, "customers")
    ctx = RunContext(run_id="import-1", dry_run=False, dag_id="tenant_review_import", batch_size=2)
    with pytest.raises(ReviewFileError) as failure:
        review_import.import_review(target, SPEC, ctx, str(filled(path, {**GOOD, 111: "999"})))
    assert failure.value.problems == ["line 9: tenant 999 does not exist in companies.id"]  # 110 spans two lines
    assert checksum(target, "customers") == before
    assert query(target, "select count(*) as n from tenant_audit_log where run_id = 'import-1'")[0]["n"] == 0


def test_an_import_its_gate_rejects_ends_its_run_failed_post_validation(exported):
    # the application moves customer 104's appointments the moment the import writes its tenant
    target, path = exported
    move_children_when_the_run_writes(target, customer_id=104, company=85)
    with pytest.raises(GateFailed) as failure:
        run(target, filled(path, GOOD))
    assert {f["check"]: f["sample"] for f in failure.value.failures} == {"relation_mismatch:appointments": [104]}
    (registered,) = query(target, "select status, summary from tenant_runs where run_id = 'import-1'")
    assert registered["status"] == "failed_post_validation"
    assert "relation_mismatch:appointments" in json.loads(registered["summary"])["error"]
