"""The operator loop on databases of every common default collation, and on a table mixing them.

Each case loads data set "all" into a fresh database created with that default collation (the demo
tables inherit it), then runs what an operator runs: a real backfill, a review import, a rollback of
the import and of the backfill (every row back to its state before, full rows and CHECKSUM), and on a
second fresh database the constraints step. The numbers are the ones data set "all" gives in the
default collation (test_edge_cases, test_review_import, test_rollback): the collation must change
none of them. The backup and archive tables promise to hold each column as the target defines it
(type, character set, collation): asserted per column from information_schema.
"""

from __future__ import annotations

import csv
import dataclasses

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.enforce import constraints
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import Counts
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import checksum, customers, query
from tests.helpers.operator_runs import (
    backup_rows,
    import_decisions,
    undo_backfill_in_verified_chunks,
    undo_import_reopens_its_decisions,
)
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS, filled
from tests.helpers.validation_history import clean_history

SPEC = load_spec("customers_company")
REVIEW_IDS = [101, 103, 104, 106, 109, 110, 111]

# case: (database default collation, customers columns altered after loading)
MIXED_ALTER = (
    "alter table customers default character set utf8mb4 collate utf8mb4_general_ci, "
    "modify name varchar(255) character set utf8mb4 collate utf8mb4_bin not null, "
    "modify email varchar(255) character set latin1 collate latin1_swedish_ci null, "
    "modify phone varchar(64) character set utf8mb3 collate utf8mb3_general_ci null"
)
CASES = {
    "utf8mb4_general_ci": ("utf8mb4_general_ci", None),
    "utf8mb4_unicode_ci": ("utf8mb4_unicode_ci", None),
    "utf8mb4_bin": ("utf8mb4_bin", None),
    "utf8mb3_general_ci": ("utf8mb3_general_ci", None),
    "latin1_swedish_ci": ("latin1_swedish_ci", None),
    "mixed": ("utf8mb4_unicode_ci", MIXED_ALTER),
}
# what each case's customers columns must be after loading: (character set, collation) of name, email, phone
TEXT_COLUMNS = {
    "utf8mb4_general_ci": {c: ("utf8mb4", "utf8mb4_general_ci") for c in ("name", "email", "phone")},
    "utf8mb4_unicode_ci": {c: ("utf8mb4", "utf8mb4_unicode_ci") for c in ("name", "email", "phone")},
    "utf8mb4_bin": {c: ("utf8mb4", "utf8mb4_bin") for c in ("name", "email", "phone")},
    "utf8mb3_general_ci": {c: ("utf8mb3", "utf8mb3_general_ci") for c in ("name", "email", "phone")},
    "latin1_swedish_ci": {c: ("latin1", "latin1_swedish_ci") for c in ("name", "email", "phone")},
    "mixed": {
        "name": ("utf8mb4", "utf8mb4_bin"),
        "email": ("latin1", "latin1_swedish_ci"),
        "phone": ("utf8mb3", "utf8mb3_general_ci"),
    },
}

# after the operator fixed the contradicting appointments (1003: 15 -> 1, 1007: 999 -> 1, 1010: 83 -> 1),
# every review row can get a tenant
FIXED_APPOINTMENTS = (1003, 1007, 1010)
ALL_TENANTS = {101: "1", 103: "83", 104: "1", 106: "1", 109: "1", 110: "84", 111: "1"}


def load(case: str):
    collation, alter = CASES[case]
    target = new_target("ti_coll")
    demo.recreate_database(target, "all", collation)
    if alter:
        with target.connect() as db:
            db.execute(alter)
    return target


@pytest.fixture(params=list(CASES))
def case_db(request, review_dir):
    target = load(request.param)
    yield request.param, target
    drop(target)


def column_definitions(target, table: str) -> dict[str, tuple]:
    rows = query(
        target,
        "select column_name, column_type, character_set_name, collation_name from information_schema.columns "
        "where table_schema = database() and table_name = %(t)s",
        {"t": table},
    )
    return {r["column_name"]: (r["column_type"], r["character_set_name"], r["collation_name"]) for r in rows}


def assert_copies_target_columns(target, copy_table: str) -> None:
    """Every column of customers exists in the copy with the same type, character set and collation."""
    original, copy = column_definitions(target, "customers"), column_definitions(target, copy_table)
    assert {name: copy.get(name) for name in original} == original


def backfill(target, review_dir) -> tuple[dict, object]:
    summary = phases.run_all(target, SPEC, RunContext(run_id="b1", dry_run=False, batch_size=5))
    review_csv = review_dir / "customers_company" / "b1" / "review.csv"
    with review_csv.open(encoding="utf-8", newline="") as handle:
        assert [int(row[0]) for row in list(csv.reader(handle))[1:]] == REVIEW_IDS
    return summary, review_csv


def audit_counts(target, run_id: str) -> list[tuple]:
    rows = query(
        target,
        "select action, column_name, count(*) as n from tenant_audit_log where run_id = %(r)s group by 1, 2 order by 1, 2",
        {"r": run_id},
    )
    return [(r["action"], r["column_name"], int(r["n"])) for r in rows]


def test_the_loaded_columns_carry_the_case_collation(case_db):
    case, target = case_db
    columns = column_definitions(target, "customers")
    assert {c: columns[c][1:] for c in ("name", "email", "phone")} == TEXT_COLUMNS[case]
    assert query(target, "select count(*) as n from customers")[0]["n"] == 74
    # latin1 lacks Ł and 東京: the demo loader stores them as '?' (the server's conversion) instead of failing
    name = "Zoë ?ukasz ??" if TEXT_COLUMNS[case]["name"][0] == "latin1" else "Zoë Łukasz 東京"
    assert customers(target)[104]["name"] == name


@pytest.mark.parametrize("collation", ["utf8mb4_general_ci; drop database mysql", "utf8mb4_nope_ci", "", "UTF8MB4_BIN"])
def test_the_demo_loader_refuses_a_bad_or_unknown_collation_before_dropping_anything(collation):
    target = new_target("ti_coll")
    with pytest.raises(ValueError, match="collation"):
        demo.recreate_database(target, "schema_only", collation)
    server = dataclasses.replace(target, database="information_schema")
    schemata = query(server, "select count(*) as n from schemata where schema_name = %(d)s", {"d": target.database})
    assert schemata[0]["n"] == 0  # nothing was created


def test_the_backup_table_copies_every_target_column(case_db, review_dir):
    _, target = case_db
    backfill(target, review_dir)
    assert_copies_target_columns(target, "tenant_backup_customers")


def test_backfill_review_import_and_both_rollbacks_restore_every_row(case_db, review_dir):
    _, target = case_db
    before, before_sum = customers(target), checksum(target, "customers")

    # a real backfill: data set "all" changes 37 rows (34 tenants written, 3 orphans soft-deleted)
    summary, review_csv = backfill(target, review_dir)
    assert summary.audited == {"backfill": 34, "soft_delete": 3}
    assert summary.backed_up == 37
    assert summary.phases.review.review_rows == 7
    assert summary.null_rows_after == Counts(active=7, soft_deleted=4)
    assert all(check.success for check in summary.post_validation)
    assert audit_counts(target, "b1") == [("backfill", "company_id", 34), ("soft_delete", "deleted_at", 3)]
    assert backup_rows(target, "b1") == 37
    after_backfill, after_backfill_sum = customers(target), checksum(target, "customers")
    assert after_backfill_sum != before_sum

    # the review import: 3 tenants and 1 orphan applied, 3 rows skipped
    imported = import_decisions(target, filled(review_csv, DECISIONS))
    assert (imported.applied, imported.skipped, imported.settled) == (4, 3, ())
    assert all(check.success for check in imported.post_validation)
    after_import = customers(target)
    assert {k: after_import[k]["company_id"] for k in REVIEW_IDS} == TENANTS_AFTER_DECISIONS
    assert after_import[109]["deleted_at"] is not None
    assert audit_counts(target, "import-1") == [
        ("review_decision", "company_id", 3),
        ("review_decision", "deleted_at", 1),
    ]
    assert backup_rows(target, "import-1") == 4

    # undo the import: the 4 rows it changed are back as the backfill left them
    undo_import_reopens_its_decisions(target, after_backfill, after_backfill_sum)
    assert audit_counts(target, "rb-import") == [("rollback", "company_id", 3), ("rollback", "deleted_at", 1)]
    assert backup_rows(target, "rb-import") == 4

    # undo the backfill: every row is back as it was before
    undo_backfill_in_verified_chunks(target)
    assert audit_counts(target, "rb-backfill") == [("rollback", "company_id", 34), ("rollback", "deleted_at", 3)]
    assert backup_rows(target, "rb-backfill") == 37
    assert customers(target) == before
    assert checksum(target, "customers") == before_sum
    assert_copies_target_columns(target, "tenant_backup_customers")


def test_constraints_after_every_review_row_got_a_tenant(case_db, review_dir):
    _, target = case_db
    _, review_csv = backfill(target, review_dir)
    with target.connect() as db, db.transaction():  # what the import's refusal tells the operator to do first
        db.execute("update appointments set company_id = 1 where id in %(ids)s", {"ids": FIXED_APPOINTMENTS})
    imported = import_decisions(target, filled(review_csv, ALL_TENANTS, "all_tenants.csv"))
    assert (imported.applied, imported.skipped, imported.settled) == (7, 0, ())
    assert audit_counts(target, "import-1") == [("review_decision", "company_id", 7)]
    assert backup_rows(target, "import-1") == 7
    # left: the soft-deleted orphans 58-60 (soft-deleted by the run) and 108 (already soft-deleted)
    nulls = query(target, "select id from customers where company_id is null order by id")
    assert [r["id"] for r in nulls] == [58, 59, 60, 108]

    clean_history(target)
    ctx = RunContext(run_id="c1", dry_run=False, dag_id="tenant_constraints")
    result = constraints.apply_constraints(target, SPEC, ctx, 7, True)
    assert (result.archive.archived, result.archive.archived_ids) == (4, (58, 59, 60, 108))
    assert result.not_null is True and result.foreign_key == "fk_customers_company_id"
    assert [a.online for a in result.applied] == [True, False]
    assert query(target, "select count(*) as n from customers")[0]["n"] == 70
    assert audit_counts(target, "c1") == [("archive", "id", 4)]  # one row per archived row, keyed by the id
    assert backup_rows(target, "c1") == 4
    archived = query(target, "select id from tenant_archive_customers order by id")
    assert [r["id"] for r in archived] == [58, 59, 60, 108]
    assert_copies_target_columns(target, "tenant_archive_customers")
    assert_copies_target_columns(target, "tenant_backup_customers")
    assert query(target, "select count(*) as n from customers where company_id is null")[0]["n"] == 0
