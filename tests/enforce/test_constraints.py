"""tenant_constraints: refused for every unsafe state with nothing changed; applied once it is safe."""

from __future__ import annotations

import dataclasses
import json

import MySQLdb
import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.enforce import constraints, ddl
from tenant_integrity.enforce.constraints import ConstraintsLockTimeout, ConstraintsRefused
from tenant_integrity.repair import phases
from tenant_integrity.store.db import DbTarget
from tests.helpers.dbcheck import checksum, query
from tests.helpers.validation_history import clean_history

SPEC = load_spec("customers_company")


def run(target, dry_run=False, archive=False, clean_days=7, run_id="c1"):
    ctx = RunContext(run_id=run_id, dry_run=dry_run, dag_id="tenant_constraints")
    return constraints.apply_constraints(target, SPEC, ctx, clean_days, archive)


@pytest.fixture
def repaired(seed_db):
    phases.run_all(seed_db, SPEC, RunContext(run_id="b1", dry_run=False))
    return seed_db


def refused(target, **kwargs) -> list[str]:
    before = checksum(target, "customers"), query(target, "show create table customers")[0]["Create Table"]
    with pytest.raises(ConstraintsRefused) as failure:
        run(target, **kwargs)
    assert (checksum(target, "customers"), query(target, "show create table customers")[0]["Create Table"]) == before
    return failure.value.reasons


def test_refused_with_soft_deleted_null_rows(repaired):
    clean_history(repaired)
    assert refused(repaired) == [
        "3 row(s) have a NULL company_id (0 active, 3 soft-deleted; ids [58, 59, 60]): "
        "resolve them (tenant_review_import, or archive_orphans for soft-deleted ones)"
    ]


def test_a_refusal_with_archive_orphans_names_only_the_rows_that_would_stay_null(edge_db):
    phases.run_all(edge_db, SPEC, RunContext(run_id="b1", dry_run=False))
    clean_history(edge_db)
    # 7 active rows wait in review; the 4 soft-deleted ones (58-60, 108) have no related row: archivable
    assert refused(edge_db, archive=True) == [
        "7 row(s) have a NULL company_id (7 active, 0 soft-deleted after archiving 4; "
        "ids [101, 103, 104, 106, 109, 110, 111]): resolve them (tenant_review_import)",
    ]
    assert refused(edge_db)[0] == (
        "11 row(s) have a NULL company_id (7 active, 4 soft-deleted; ids [58, 59, 60, 101, 103, 104, 106, 108, 109, "
        "110, 111]): resolve them (tenant_review_import, or archive_orphans for soft-deleted ones)"
    )


def test_the_refusal_names_the_blocking_rows_behind_a_thousand_archivable_ones(repaired):
    """The sample of rows that stay NULL is taken after the archive's rows are left out, not from the first rows."""
    with repaired.connect() as db:
        # 1000 soft-deleted orphans (no related row: archivable) keyed before one active NULL row with no evidence
        db.execute_many(
            "insert into customers (id, name, deleted_at) values (%(id)s, %(name)s, '2026-01-01 00:00:00')",
            [{"id": 1000 + n, "name": f"gone {n}"} for n in range(1, 1001)],
        )
        db.execute("insert into customers (id, name) values (3000, 'walk-in, no evidence')")
        db.commit()
    clean_history(repaired)
    assert refused(repaired, archive=True) == [
        "1 row(s) have a NULL company_id (1 active, 0 soft-deleted after archiving 1003; ids [3000]): "
        "resolve them (tenant_review_import)"
    ]


def test_the_unrepaired_incident_is_refused_with_every_reason_not_the_first(seed_db):
    """No run and no validation yet: the refusal names the missing history and the 31 NULL rows together."""
    assert refused(seed_db) == [
        constraints.NO_HISTORY,
        "31 row(s) have a NULL company_id (31 active, 0 soft-deleted; ids [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]): "
        "resolve them (tenant_review_import, or archive_orphans for soft-deleted ones)",
    ]


def test_refused_without_clean_history(repaired):
    assert refused(repaired, archive=True)[0] == (
        "only 0 finished validation(s) recorded; 7 clean daily validations are required"
    )
    clean_history(repaired, failed_day=3)
    reasons = refused(repaired, archive=True)
    assert (
        len(reasons) == 1
        and reasons[0].startswith("validation(s) #4 on ")
        and reasons[0].endswith("failed within the last 7")
    )


def test_seven_clean_validations_on_fewer_than_seven_days_are_not_seven_clean_days(repaired):
    """A day on which the validation ran several times (re-triggered by hand) is one clean day, not several."""
    clean_history(repaired, days=7, on_days=3)
    days = query(repaired, "select count(distinct date(started_at)) as n from tenant_validation_runs")
    assert days[0]["n"] == 3
    assert refused(repaired, archive=True) == [
        "the last 7 validations fall on only 3 day(s); 7 different days are required"
    ]
    # with clean_days 3 the same history is enough: the newest 3 fall on 2 days, still refused
    assert refused(repaired, archive=True, clean_days=3) == [
        "the last 3 validations fall on only 2 day(s); 3 different days are required"
    ]


@dataclasses.dataclass(frozen=True)
class NonStrictTarget(DbTarget):
    """The same database, reached by an application whose sessions run without strict mode.

    Set per session, never globally: the server is shared with every other test and client.
    """

    def connect(self, *args, **kwargs):
        db = super().connect(*args, **kwargs)
        db.execute("set session sql_mode = 'NO_ENGINE_SUBSTITUTION'")
        return db


def test_refused_under_a_non_strict_sql_mode(repaired):
    clean_history(repaired)
    reasons = refused(NonStrictTarget(**dataclasses.asdict(repaired)), archive=True)
    assert reasons == [
        "the session's sql_mode is not strict (NO_ENGINE_SUBSTITUTION): MODIFY … NOT NULL would turn NULL into 0"
    ]


def test_refused_on_a_type_mismatch(repaired):
    clean_history(repaired)
    with repaired.connect() as db:
        db.execute("alter table customers modify company_id int null")
    before = query(repaired, "show create table customers")[0]["Create Table"]
    # a backfill may compare an int with a bigint unsigned; a foreign key needs the same type: refused here
    with pytest.raises(ConstraintsRefused) as failure:
        run(repaired, archive=True)
    assert "customers.company_id is int(11) but companies.id is bigint(20) unsigned" in str(failure.value)
    assert query(repaired, "show create table customers")[0]["Create Table"] == before


def test_dry_run_prints_the_exact_ddl_and_changes_nothing(repaired):
    clean_history(repaired)
    before = checksum(repaired, "customers")
    result = run(repaired, dry_run=True, archive=True)
    assert result.archivable_orphans == 3
    assert list(result.ddl) == [
        "alter table `customers` modify `company_id` bigint(20) unsigned not null, algorithm=inplace, lock=none",
        "alter table `customers` add constraint `fk_customers_company_id` foreign key (`company_id`) "
        "references `companies` (`id`) on delete restrict, algorithm=inplace, lock=none",
    ]
    assert checksum(repaired, "customers") == before


def test_applied_after_archive_orphans_and_seven_clean_days(repaired):
    clean_history(repaired)
    result = run(repaired, archive=True)
    assert (result.archive.archived, result.archive.archived_ids) == (3, (58, 59, 60))
    assert result.not_null is True and result.foreign_key == "fk_customers_company_id"
    assert [a.online for a in result.applied] == [True, False]  # an FK with checks on needs a copy: said so
    assert query(repaired, "select count(*) as n from customers")[0]["n"] == 57
    assert [r["id"] for r in query(repaired, "select id from tenant_archive_customers order by id")] == [58, 59, 60]
    audit = query(repaired, "select row_id, action from tenant_audit_log where run_id = 'c1' order by row_id")
    assert [(a["row_id"], a["action"]) for a in audit] == [(58, "archive"), (59, "archive"), (60, "archive")]
    assert query(repaired, "select count(*) as n from tenant_backup_customers where backup_run_id = 'c1'")[0]["n"] == 3

    with repaired.connect() as db:
        with pytest.raises(MySQLdb.IntegrityError) as null_insert:
            db.execute("insert into customers (company_id, name) values (null, 'Webhook without tenant')")
        assert null_insert.value.args[0] == 1048  # Column 'company_id' cannot be null
        with pytest.raises(MySQLdb.IntegrityError) as delete:
            db.execute("delete from companies where id = 15")
        assert delete.value.args[0] == 1451  # a foreign key constraint fails (ON DELETE RESTRICT)
        db.rollback()
    assert run(repaired, run_id="c2").ddl == ()  # already in place: nothing to do


def run_row(target, run_id: str) -> tuple[str, dict]:
    row = query(target, "select status, summary from tenant_runs where run_id = %(r)s", {"r": run_id})[0]
    return row["status"], json.loads(row["summary"])


def test_a_long_transaction_on_the_table_fails_the_ddl_within_its_lock_wait_and_a_rerun_applies_it(
    repaired, monkeypatch
):
    clean_history(repaired)
    monkeypatch.setattr(ddl, "DDL_LOCK_WAIT_SECONDS", 1)
    holder = repaired.connect()
    try:
        holder.execute("start transaction")
        holder.rows("select count(*) from customers")  # holds the table's metadata lock until it ends
        with pytest.raises(ConstraintsLockTimeout) as timeout:
            run(repaired, archive=True)
        message = str(timeout.value)
        assert "could not lock table customers for 'alter table `customers` modify `company_id`" in message
        assert "within 1 s (lock_wait_timeout): a long transaction holds it" in message
        assert f"thread {holder.scalar('select connection_id()')} since" in message  # the holder, named
        assert timeout.value.retryable
    finally:
        holder.rollback()
        holder.close()
    # the archive (its own chunked transactions) was done; no DDL was; the run's row says why it failed
    status, summary = run_row(repaired, "c1")
    assert (status, summary["archivable_orphans"], "lock_wait_timeout" in summary["error"]) == ("failed", 3, True)
    assert [r["id"] for r in query(repaired, "select id from tenant_archive_customers order by id")] == [58, 59, 60]
    column = query(
        repaired,
        "select is_nullable from information_schema.columns where table_schema = database() "
        "and table_name = 'customers' and column_name = 'company_id'",
    )
    assert column[0]["is_nullable"] == "YES"

    result = run(repaired, archive=True)  # the retry: nothing left to archive, the DDL runs
    assert (result.archivable_orphans, result.archive, result.not_null) == (0, None, True)
    status, summary = run_row(repaired, "c1")
    assert (status, summary["foreign_key"], len(summary["applied"])) == ("succeeded", "fk_customers_company_id", 2)
