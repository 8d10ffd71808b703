"""orphans: review (the default for a table without a soft-delete column) or soft_delete with several columns.

A small Laravel-shaped schema of our own beside the demo's: `contacts` keyed by id, `invoices` pointing at
them and carrying their own company_id. Contacts, by case:
  1 NULL, invoice at company 1            -> backfilled 1
  2 NULL, no invoice                      -> orphan
  3 NULL, no invoice                      -> orphan
  4 company 2                             -> untouched
  5 NULL, invoice with a NULL company     -> review, no_tenant_evidence
  6 NULL, no invoice, already deleted     -> left alone (only with a soft-delete column)
"""

from __future__ import annotations

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import parse_spec
from tenant_integrity.repair import formatting, phases, review_import, rollback
from tenant_integrity.repair.review_import import ReviewFileError
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import query

SCHEMA = """
create table companies (id int unsigned not null auto_increment primary key, name varchar(100) not null);
create table contacts (
    id int unsigned not null auto_increment primary key,
    company_id int unsigned null,
    name varchar(100) not null,
    {soft_delete}
    updated_at timestamp null
);
create table invoices (
    id int unsigned not null auto_increment primary key,
    company_id int unsigned null,
    contact_id int unsigned not null
);
insert into companies (id, name) values (1, 'One'), (2, 'Two');
insert into invoices (id, company_id, contact_id) values (1, 1, 1), (2, null, 5), (3, 2, 4)
"""

SPEC = """
conn_id: tenant_db
target: {{table: contacts, key: id, tenant_column: company_id{soft_delete}}}
tenant_table: {{table: companies, key: id}}
evidence: [{{name: invoices, table: invoices, foreign_key: contact_id, tenant_column: company_id}}]
relations: [{{table: invoices, foreign_key: contact_id, tenant_column: company_id}}]
review_columns: [name]
{orphans}
"""


def database(soft_delete_columns: str, contacts: str):
    target = new_target()
    import MySQLdb

    server = MySQLdb.connect(host=target.host, port=target.port, user=target.user, passwd=target.password)
    try:
        cur = server.cursor()
        cur.execute(f"create database `{target.database}` character set utf8mb4 collate utf8mb4_general_ci")
        cur.execute(f"use `{target.database}`")
        for statement in SCHEMA.format(soft_delete=soft_delete_columns).split(";"):
            cur.execute(statement)
        cur.execute(contacts)
        server.commit()
    finally:
        server.close()
    return target


def rows(target) -> dict[int, dict]:
    return {r["id"]: r for r in query(target, "select * from contacts order by id")}


def queue(target) -> dict[int, str]:
    return {r["row_id"]: r["reason"] for r in query(target, "select row_id, reason from tenant_review_queue")}


@pytest.fixture
def without_soft_delete(review_dir):
    target = database(
        "",
        "insert into contacts (id, company_id, name) values"
        " (1, null, 'a'), (2, null, 'b'), (3, null, 'c'), (4, 2, 'd'), (5, null, 'e')",
    )
    yield target, parse_spec("contacts_company", SPEC.format(soft_delete="", orphans=""))
    drop(target)


@pytest.fixture
def deleted_twice(review_dir):
    target = database(
        "deleted_at timestamp null, is_deleted tinyint(1) not null default 0,",
        "insert into contacts (id, company_id, name, deleted_at, is_deleted) values"
        " (1, null, 'a', null, 0), (2, null, 'b', null, 0), (3, null, 'c', null, 0), (4, 2, 'd', null, 0),"
        " (5, null, 'e', null, 0), (6, null, 'f', '2025-01-01 00:00:00', 1)",
    )
    orphans = "orphans: {action: soft_delete, set: {deleted_at: now, is_deleted: 1}}"
    yield (
        target,
        parse_spec("contacts_company", SPEC.format(soft_delete=", soft_delete_column: deleted_at", orphans=orphans)),
    )
    drop(target)


def test_without_a_soft_delete_column_orphans_go_to_review_and_nothing_but_the_tenant_is_written(
    without_soft_delete, review_dir
):
    target, spec = without_soft_delete
    before = rows(target)
    plan = phases.run_all(target, spec, RunContext(run_id="dry", dry_run=True))
    assert (plan.planned_changes, plan.review_rows, plan.outcomes.orphan.active) == (1, 3, 2)
    assert "review, orphan:                2 active (orphans.action: review)" in formatting.format_plan(plan, spec)

    summary = phases.run_all(target, spec, RunContext(run_id="real", dry_run=False))
    assert summary.status == "succeeded"
    assert summary.phases.orphans.soft_deleted == 0
    assert summary.phases.review.by_reason == {"orphan": 2, "no_tenant_evidence": 1}
    assert (summary.audited, summary.backed_up) == ({"backfill": 1}, 1)
    assert queue(target) == {2: "orphan", 3: "orphan", 5: "no_tenant_evidence"}
    after = rows(target)
    assert after[1]["company_id"] == 1
    assert {k: v for k, v in after.items() if k != 1} == {k: v for k, v in before.items() if k != 1}

    # a reviewer cannot soft-delete where the table has no soft delete: named, nothing applied
    csv_path = review_dir / "decided.csv"
    csv_path.write_text("row_id,reason,candidates,name,decision\n2,orphan,,b,orphan\n3,orphan,,c,2\n")
    ctx = RunContext(run_id="import", dry_run=False, dag_id="tenant_review_import")
    with pytest.raises(ReviewFileError) as failure:
        review_import.import_review(target, spec, ctx, str(csv_path))
    assert "line 2: decision orphan for row_id 2, but spec contacts_company does not soft-delete" in str(failure.value)
    assert rows(target) == after

    undone = rollback.rollback_run(
        target, spec, RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback"), "real"
    )
    assert (undone.changed_rows, undone.restored, undone.skipped) == (1, 1, ())
    assert rows(target) == before


def test_soft_delete_sets_every_configured_column_audits_each_and_rollback_restores_both(deleted_twice):
    target, spec = deleted_twice
    before = rows(target)
    summary = phases.run_all(target, spec, RunContext(run_id="real", dry_run=False))
    assert summary.status == "succeeded"
    assert summary.phases.orphans.soft_deleted == 2
    assert summary.audited == {"backfill": 1, "soft_delete": 4}  # two columns on each of 2 orphans
    assert summary.backed_up == 3
    audit = query(
        target, "select row_id, column_name, old_value, new_value from tenant_audit_log where action = 'soft_delete'"
    )
    assert sorted((a["row_id"], a["column_name"], a["old_value"]) for a in audit) == [
        (2, "deleted_at", None),
        (2, "is_deleted", "0"),
        (3, "deleted_at", None),
        (3, "is_deleted", "0"),
    ]
    after = rows(target)
    assert [(after[i]["is_deleted"], after[i]["deleted_at"] is not None) for i in (2, 3, 6)] == [
        (1, True),
        (1, True),
        (1, True),
    ]
    assert after[6] == before[6]  # already soft-deleted: keeps its values

    undone = rollback.rollback_run(
        target, spec, RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback"), "real"
    )
    assert (undone.changed_rows, undone.restored, undone.skipped) == (3, 3, ())
    assert rows(target) == before
    restored = query(target, "select count(*) as n from tenant_audit_log where action = 'rollback'")[0]["n"]
    assert restored == 5  # one per value the run wrote
