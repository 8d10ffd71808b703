"""Every writer goes through the chunk engine: rollback and review import resume after a SIGKILL, and retry
lock trouble and lost connections, exactly as the backfill does (tests/engine/test_faults.py).

Data sets 1+2 ("all"): a real backfill changes 37 rows (34 tenants, 3 soft-deletes) and leaves 7 review rows.
"""

from __future__ import annotations

import threading

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases, review_import, rollback
from tests.conftest import url_of
from tests.helpers.dbcheck import checksum, customers, query
from tests.helpers.kills import kill_first_connection_running, sigkill_when
from tests.helpers.operator_runs import import_decisions, undo
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS, filled

SPEC = load_spec("customers_company")
WORKER = """
import sys
from tenant_integrity.core.settings import RunContext
from tenant_integrity.repair import phases, review_import, rollback
from tenant_integrity.store.db import DbTarget
from tenant_integrity.core.spec import load_spec
target, spec, job = DbTarget.from_url(sys.argv[1]), load_spec("customers_company"), sys.argv[2]
tiny = {"batch_size": 1, "chunk_seconds": 0.01}  # one row per chunk: many commits to land a kill between
if job == "rollback":
    rollback.rollback_run(target, spec, RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback", **tiny), "b1")
else:
    ctx = RunContext(run_id="import-1", dry_run=False, dag_id="tenant_review_import", **tiny)
    review_import.import_review(target, spec, ctx, sys.argv[3])
"""


@pytest.fixture
def backfilled(edge_db, review_dir):
    before = checksum(edge_db, "customers")
    phases.run_all(edge_db, SPEC, RunContext(run_id="b1", dry_run=False))
    return edge_db, before, review_dir / "customers_company" / "b1" / "review.csv"


def kill_when(target, job: list[str], done_sql: str, at_least: int) -> int:
    """Run the worker on `job`, SIGKILL it once `done_sql` counts `at_least`; return the count it left."""
    sigkill_when(target, WORKER, [url_of(target), *job], done_sql, at_least)
    return query(target, done_sql.replace("count(*)", "count(*) as n"))[0]["n"]


def audit_per_value(target, run_id: str) -> dict:
    rows = query(
        target,
        "select action, column_name, count(*) as n, count(distinct row_id) as distinct_rows from tenant_audit_log"
        " where run_id = %(r)s group by 1, 2 order by 1, 2",
        {"r": run_id},
    )
    return {(r["action"], r["column_name"]): (r["n"], r["distinct_rows"]) for r in rows}


def backups_per_row(target, run_id: str) -> set:
    rows = query(
        target,
        "select id, count(*) as n from tenant_backup_customers where backup_run_id = %(r)s group by id",
        {"r": run_id},
    )
    return {(len(rows), r["n"]) for r in rows}


def test_a_rollback_killed_mid_run_resumes_and_ends_as_an_uninterrupted_one(backfilled):
    target, before, _ = backfilled
    restored_sql = "select count(*) from tenant_audit_log where run_id = 'rb' and column_name = 'company_id'"
    at_kill = kill_when(target, ["rollback"], restored_sql, 5)
    assert 5 <= at_kill < 34, "the rollback was not interrupted mid-run"
    checkpoint = query(target, "select last_key from tenant_checkpoints where phase = 'rollback'")

    ctx = RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback", batch_size=4)
    resumed = rollback.rollback_run(target, SPEC, ctx, "b1")
    assert resumed.resumed_after == checkpoint[0]["last_key"]  # after the killed attempt's last chunk
    # restored counts the whole rollback run, the killed attempt's rows included; they were not redone
    assert (resumed.changed_rows, resumed.restored) == (37, 37)
    assert at_kill <= resumed.already_restored < 37
    assert checksum(target, "customers") == before
    # one audit row per restored value and one backup row per restored row, as in an uninterrupted rollback
    assert audit_per_value(target, "rb") == {("rollback", "company_id"): (34, 34), ("rollback", "deleted_at"): (3, 3)}
    assert backups_per_row(target, "rb") == {(37, 1)}


def test_a_review_import_killed_mid_run_resumes_and_ends_as_an_uninterrupted_one(backfilled):
    target, _, review_csv = backfilled
    decided = filled(review_csv, DECISIONS)
    applied_sql = "select count(*) from tenant_audit_log where run_id = 'import-1'"
    at_kill = kill_when(target, ["import", str(decided)], applied_sql, 1)
    assert 1 <= at_kill < 4, "the import was not interrupted mid-run"
    statuses_at_kill = query(target, "select status, count(*) as n from tenant_review_queue group by status")
    assert {r["status"]: r["n"] for r in statuses_at_kill}["open"] >= 3  # some decisions still to apply

    ctx = RunContext(run_id="import-1", dry_run=False, dag_id="tenant_review_import", batch_size=3)
    summary = review_import.import_review(target, SPEC, ctx, str(decided))
    assert summary.resumed_after is not None
    # the counts are the whole run's, the killed attempt's rows included
    assert (summary.applied, summary.skipped, summary.settled) == (4, 3, ())
    assert all(check.success for check in summary.post_validation)
    after = customers(target)
    assert {k: after[k]["company_id"] for k in TENANTS_AFTER_DECISIONS} == TENANTS_AFTER_DECISIONS
    queue = query(target, "select row_id, status from tenant_review_queue order by row_id")
    assert {r["row_id"]: r["status"] for r in queue} == {
        k: "skipped" if v == "skip" else "applied" for k, v in DECISIONS.items()
    }
    assert audit_per_value(target, "import-1") == {
        ("review_decision", "company_id"): (3, 3),
        ("review_decision", "deleted_at"): (1, 1),
    }
    assert backups_per_row(target, "import-1") == {(4, 1)}


def hold_row_lock(target, key: int, seconds: float):
    """The application holds one row for longer than a lock wait (5 s): the chunk times out once, then retries."""
    holder = target.connect()
    holder.execute("start transaction")
    holder.execute("select * from customers where id = %(k)s for update", {"k": key})
    release = threading.Timer(seconds, holder.rollback)
    release.start()
    return holder, release


def test_rollback_and_review_import_retry_a_lock_wait_timeout(backfilled):
    target, before, review_csv = backfilled
    holder, release = hold_row_lock(target, 103, 7.0)  # an open review row
    try:
        ctx = RunContext(run_id="import-1", dry_run=False, dag_id="tenant_review_import", batch_size=10)
        summary = review_import.import_review(target, SPEC, ctx, str(filled(review_csv, DECISIONS)))
    finally:
        release.cancel()
        holder.close()
    assert summary.retries >= 1 and (summary.applied, summary.skipped) == (4, 3)

    holder, release = hold_row_lock(target, 40, 7.0)  # a row the backfill wrote
    try:
        ctx = RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback", batch_size=100)
        undone = rollback.rollback_run(target, SPEC, ctx, "b1")
    finally:
        release.cancel()
        holder.close()
    assert undone.retries >= 1 and (undone.restored, undone.skipped_rows) == (37, 0)
    assert checksum(target, "customers") != before  # the import's 4 decisions are not b1's: they stay
    assert {k: customers(target)[k]["company_id"] for k in TENANTS_AFTER_DECISIONS} == TENANTS_AFTER_DECISIONS


def kill_the_chunk_waiting_for(target, key: int, killed: list):
    """Hold row `key`; kill the connection whose chunk waits to lock it; let the row go when the test is done.

    The chunk's lock statement waits for the held row, so the KILL always finds it running (a KILL
    aimed at a fast statement can miss it, or land after it). The engine must reconnect and redo the chunk.
    """
    holder = target.connect()
    holder.execute("start transaction")
    holder.execute("select * from customers where id = %(k)s for update", {"k": key})
    killer = kill_first_connection_running(target, "locked_rows", killed, poll_s=0.01)
    killer.join()
    holder.rollback()
    holder.close()


def test_rollback_and_review_import_reconnect_after_a_killed_connection(backfilled):
    target, _, review_csv = backfilled
    killed: list = []
    killing = threading.Thread(target=kill_the_chunk_waiting_for, args=(target, 104, killed))  # an open review row
    killing.start()
    summary = import_decisions(target, filled(review_csv, DECISIONS), batch_size=2)
    killing.join()
    assert killed and summary.retries >= 1
    assert (summary.applied, summary.skipped, summary.settled) == (4, 3, ())
    assert audit_per_value(target, "import-1") == {
        ("review_decision", "company_id"): (3, 3),
        ("review_decision", "deleted_at"): (1, 1),
    }

    killed.clear()
    killing = threading.Thread(target=kill_the_chunk_waiting_for, args=(target, 110, killed))  # a row it changed
    killing.start()
    undone = undo(target, "import-1", "rb-import", batch_size=2)
    killing.join()
    assert killed and undone.retries >= 1
    assert (undone.changed_rows, undone.restored, undone.skipped) == (4, 4, ())
    assert audit_per_value(target, "rb-import") == {
        ("rollback", "company_id"): (3, 3),
        ("rollback", "deleted_at"): (1, 1),
    }
