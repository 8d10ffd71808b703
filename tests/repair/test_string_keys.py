"""Text keys: the operator loop on customers keyed by a UUID, a ULID and a latin1 natural key.

Data set "all" is loaded, then customers.id and every customer_id become text (tests/helpers/text_keys.py).
The rows are the same, so every number is the one the integer case gives (test_collation_matrix): the
key's type must change none of them. The UUID's key order is unrelated to the old ids, the natural
key's string order differs from number order ('Cust-10' < 'Cust-9'), so chunks, shares and checkpoints
really walk text order.
"""

from __future__ import annotations

import csv
import io

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core.errors import SpecError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.enforce import constraints
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import Counts
from tenant_integrity.store import bookkeeping
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import checksum, customers, query
from tests.helpers.operator_runs import (
    backup_rows,
    import_decisions,
    undo,
    undo_backfill_in_verified_chunks,
    undo_import_reopens_its_decisions,
)
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS
from tests.helpers.string_key_runs import REVIEW_IDS, audit_counts, exported_ids, text_key_target
from tests.helpers.text_keys import KINDS, rekey_customers
from tests.helpers.validation_history import clean_history

SPEC = load_spec("customers_company")
FIXED_APPOINTMENTS = (1003, 1007, 1010)  # the contradicting appointments an operator fixes before the last import
ALL_TENANTS = {101: "1", 103: "83", 104: "1", 106: "1", 109: "1", 110: "84", 111: "1"}


@pytest.fixture(params=list(KINDS))
def text_db(request, review_dir):
    target, keys = text_key_target(request.param)
    yield target, keys
    drop(target)


def backfill(target, review_dir, run_id="b1", **options):
    ctx = RunContext(run_id=run_id, dry_run=False, batch_size=5, **options)
    summary = phases.run_all(target, SPEC, ctx)
    return summary, review_dir / "customers_company" / run_id / "review.csv"


def decided(path, keys: dict[int, str], decisions: dict[int, str], name: str):
    """The export with the decision column filled in, for rows named by their old integer id."""
    by_key = {keys[old]: value for old, value in decisions.items()}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([*row[:-1], by_key.get(row[0], row[-1])])
    decided_path = path.parent / name
    decided_path.write_text(out.getvalue(), encoding="utf-8")
    return decided_path


def test_backfill_review_import_and_both_rollbacks_on_text_keys(text_db, review_dir):
    target, keys = text_db
    before, before_sum = customers(target), checksum(target, "customers")

    # two workers: the NULL rows are split into two shares of text keys
    summary, review_csv = backfill(target, review_dir, workers=2)
    assert summary.phases.backfill("appointments").workers == 2
    assert summary.audited == {"backfill": 34, "soft_delete": 3}
    assert summary.backed_up == 37
    assert summary.phases.review.review_rows == 7
    assert summary.null_rows_after == Counts(active=7, soft_deleted=4)
    assert all(check.success for check in summary.post_validation), summary.post_validation
    assert audit_counts(target, "b1") == [("backfill", "company_id", 34, 34), ("soft_delete", "deleted_at", 3, 3)]
    assert backup_rows(target, "b1") == 37
    assert sorted(exported_ids(review_csv)) == sorted(keys[i] for i in REVIEW_IDS)
    queued = query(target, "select row_id, row_key from tenant_review_queue where status = 'open'")
    assert sorted((r["row_id"], r["row_key"]) for r in queued) == sorted((0, keys[i]) for i in REVIEW_IDS)
    after_backfill, after_backfill_sum = customers(target), checksum(target, "customers")

    imported = import_decisions(target, decided(review_csv, keys, DECISIONS, "decided.csv"))
    assert (imported.applied, imported.skipped, imported.settled) == (4, 3, ())
    assert all(check.success for check in imported.post_validation)
    after_import = customers(target)
    assert {i: after_import[keys[i]]["company_id"] for i in REVIEW_IDS} == TENANTS_AFTER_DECISIONS
    assert after_import[keys[109]]["deleted_at"] is not None
    assert audit_counts(target, "import-1") == [
        ("review_decision", "company_id", 3, 3),
        ("review_decision", "deleted_at", 1, 1),
    ]
    statuses = query(target, "select row_key, status from tenant_review_queue")
    assert {r["row_key"]: r["status"] for r in statuses} == {
        keys[i]: "skipped" if DECISIONS[i] == "skip" else "applied" for i in REVIEW_IDS
    }

    undo_import_reopens_its_decisions(target, after_backfill, after_backfill_sum)

    undo_backfill_in_verified_chunks(target)
    assert audit_counts(target, "rb-backfill") == [
        ("rollback", "company_id", 34, 34),
        ("rollback", "deleted_at", 3, 3),
    ]
    assert backup_rows(target, "rb-backfill") == 37
    assert customers(target) == before
    assert checksum(target, "customers") == before_sum


def test_a_rollback_leaves_a_row_the_application_changed_since(text_db, review_dir):
    target, keys = text_db
    backfill(target, review_dir)
    changed = keys[30]  # written by the run from appointments, then renamed by the application
    with target.connect() as db, db.transaction():
        db.execute("update customers set name = 'renamed' where id = %(k)s", {"k": changed})
    undone = undo(target, "b1", "rb")
    assert (undone.changed_rows, undone.restored) == (37, 36)
    assert list(undone.skipped) == [{"row_id": changed, "reason": "changed since the run"}]
    assert customers(target)[changed]["company_id"] is not None


def test_constraints_archive_orphans_keyed_by_text(text_db, review_dir):
    target, keys = text_db
    _, review_csv = backfill(target, review_dir)
    with target.connect() as db, db.transaction():
        db.execute("update appointments set company_id = 1 where id in %(ids)s", {"ids": FIXED_APPOINTMENTS})
    imported = import_decisions(target, decided(review_csv, keys, ALL_TENANTS, "all_tenants.csv"))
    assert (imported.applied, imported.skipped) == (7, 0)

    clean_history(target)
    ctx = RunContext(run_id="c1", dry_run=False, dag_id="tenant_constraints", batch_size=3)
    result = constraints.apply_constraints(target, SPEC, ctx, 7, True)
    orphans = sorted(keys[i] for i in (58, 59, 60, 108))
    assert result.archive.archived == 4 and sorted(result.archive.archived_ids) == orphans
    assert result.not_null is True
    assert audit_counts(target, "c1") == [("archive", "id", 4, 4)]
    assert sorted(r["id"] for r in query(target, "select id from tenant_archive_customers")) == orphans
    assert query(target, "select count(*) as n from customers")[0]["n"] == 70


FAIL_ON_ROW = """
create trigger fail_on_one_row before update on customers for each row
begin
    if new.id = (select k from fail_on) then
        signal sqlstate '45000' set message_text = 'injected failure';
    end if;
end
"""


def appointment_rows(target) -> list[str]:
    """The rows the appointments pass writes, from the audit of a finished run."""
    statement = "select row_key from tenant_audit_log where run_id = 'r1' and source = 'appointments'"
    return [r["row_key"] for r in query(target, statement)]


def test_a_failed_chunk_resumes_after_its_text_checkpoint(text_db, review_dir):
    """A chunk fails mid-run; the retried run resumes after the last committed chunk, in the key's own order."""
    target, _ = text_db
    order = [r["id"] for r in query(target, "select id from customers where company_id is null order by id")]
    ctx = RunContext(run_id="r1", dry_run=False, batch_size=2, workers=1)
    with target.connect() as db:
        db.execute("create table fail_on (k varchar(64))")
        db.execute(FAIL_ON_ROW)
        db.commit()
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    # the poisoned row: the last in key order with a usable appointment, so earlier chunks commit first
    with target.connect() as db:
        written = [
            r["id"]
            for r in db.rows(
                "select c.id from customers c where c.company_id is null and c.deleted_at is null and exists"
                " (select 1 from appointments a join companies t on t.id = a.company_id where a.customer_id = c.id)"
                " order by c.id"
            )
        ]
        poisoned = written[-1]
        db.execute("insert into fail_on values (%(k)s)", {"k": poisoned})
        db.commit()
    with pytest.raises(Exception, match="injected failure"):
        phases.backfill_source(target, SPEC, ctx, plan, "appointments")
    checkpoint = query(
        target, "select last_key, last_key_text from tenant_checkpoints where phase = 'backfill_appointments'"
    )
    assert len(checkpoint) == 1 and checkpoint[0]["last_key"] == 0
    reached = checkpoint[0]["last_key_text"]
    assert order.index(reached) < order.index(poisoned)
    before = set(appointment_rows(target))

    with target.connect() as db:
        db.execute("drop trigger fail_on_one_row")
        db.commit()
    resumed = phases.backfill_source(target, SPEC, ctx, plan, "appointments")
    assert resumed.resumed_after == reached
    after = appointment_rows(target)
    assert len(after) == len(set(after)) == resumed.backfilled  # one audit row per row, none twice
    # the failed attempt committed exactly the rows up to its checkpoint, in the key's collation order
    assert before == {k for k in after if order.index(k) <= order.index(reached)}
    assert poisoned in after and poisoned not in before


@pytest.mark.parametrize(
    ("column_type", "message"),
    [
        ("binary(16)", "needs an integer, char or varchar key"),
        ("varchar(300)", "at most 255 characters"),
    ],
)
def test_a_key_the_bookkeeping_cannot_hold_is_refused_before_anything_is_written(column_type, message):
    target = new_target("ti_text")
    demo.recreate_database(target, "seed_incident")
    try:
        with target.connect() as db:
            db.execute(f"alter table customers modify id {column_type} not null")
            db.commit()
        with pytest.raises(SpecError, match=message):
            phases.preflight(target, SPEC, RunContext(run_id="p1", dry_run=False))
        assert "tenant_audit_log" not in {
            r["t"]
            for r in query(
                target, "select table_name as t from information_schema.tables where table_schema = database()"
            )
        }
    finally:
        drop(target)


OLD_AUDIT_LOG = """
create table tenant_audit_log (
    id bigint unsigned not null auto_increment primary key,
    run_id varchar(250) not null, spec varchar(64) not null, table_name varchar(64) not null,
    row_id bigint not null, column_name varchar(64) not null, old_value text null, new_value text null,
    action varchar(32) not null, source varchar(255) null, created_at datetime(6) not null,
    key tenant_audit_log_run (run_id, table_name, row_id), key tenant_audit_log_row (spec, table_name, row_id)
)
"""
OLD_REVIEW_QUEUE = """
create table tenant_review_queue (
    spec varchar(64) not null, table_name varchar(64) not null, row_id bigint not null, reason varchar(32) not null,
    candidates varchar(1024) null, status varchar(16) not null default 'open', first_run_no bigint unsigned not null,
    last_run_no bigint unsigned not null, created_at datetime(6) not null, updated_at datetime(6) not null,
    primary key (spec, table_name, row_id), key tenant_review_queue_run (last_run_no)
)
"""


def test_bookkeeping_tables_of_an_older_version_gain_the_text_key_columns(seed_db):
    with seed_db.connect() as db:
        db.execute(OLD_AUDIT_LOG)
        db.execute(OLD_REVIEW_QUEUE)
        db.execute(
            "insert into tenant_audit_log (run_id, spec, table_name, row_id, column_name, action, created_at)"
            " values ('old', 'customers_company', 'customers', 7, 'company_id', 'backfill', utc_timestamp(6))"
        )
        columns = bookkeeping.validate_against_database(db, SPEC)
        bookkeeping.ensure_tables(db, SPEC, columns)
        bookkeeping.ensure_tables(db, SPEC, columns)  # a second time changes nothing
    audit = query(seed_db, "select row_id, row_key from tenant_audit_log")
    assert audit == [{"row_id": 7, "row_key": ""}]
    indexes = query(
        seed_db,
        "select table_name as t, index_name as i, group_concat(column_name order by seq_in_index) as c"
        " from information_schema.statistics where table_schema = database()"
        " and table_name in ('tenant_audit_log', 'tenant_review_queue') group by table_name, index_name",
    )
    assert {(r["t"], r["i"]): r["c"] for r in indexes} == {
        ("tenant_audit_log", "PRIMARY"): "id",
        ("tenant_audit_log", "tenant_audit_log_row"): "spec,table_name,row_id,row_key",
        ("tenant_audit_log", "tenant_audit_log_run"): "run_id,table_name,row_id,row_key",
        ("tenant_review_queue", "PRIMARY"): "spec,table_name,row_id,row_key",
        ("tenant_review_queue", "tenant_review_queue_run"): "last_run_no",
    }


def test_a_uuid_row_inserted_during_the_run_below_the_scope_end_is_left_to_the_application(review_dir):
    """A UUIDv4 key inserted after preflight can sort below the largest key at preflight: the run's
    key bound does not exclude it, its created_at marker does. It is reported, not soft-deleted."""
    target = new_target("ti_text")
    demo.recreate_database(target, "all", KINDS["uuid"][1])
    try:
        rekey_customers(target, "uuid")
        ctx = RunContext(run_id="b1", dry_run=False, batch_size=5)
        plan = phases.preflight(target, SPEC, ctx)
        newcomer = "00000000-0000-4000-a000-000000000000"  # sorts before every key: inside the run's key bound
        with target.connect() as db, db.transaction():
            db.execute(
                "insert into customers (id, company_id, name, created_at, updated_at)"
                " values (%(k)s, null, 'signed up during the run', now(), now())",
                {"k": newcomer},
            )
        summary = phases.post_validation(target, SPEC, ctx, plan, phases.run_writes(target, SPEC, ctx, plan))
        assert all(check.success for check in summary.post_validation), summary.post_validation
        assert summary.audited == {"backfill": 34, "soft_delete": 3}  # the newcomer: no audit row
        row = customers(target)[newcomer]
        assert (row["company_id"], row["deleted_at"]) == (None, None)  # an orphan for now, but not ours to delete
        writes = summary.application_writes
        assert writes["null_tenant_arrived"] == {"rows": 1, "ids": [newcomer]}
        assert writes["inserted"] == {"rows": 1, "ids": [newcomer]}  # below the key bound: known by its marker
    finally:
        drop(target)
