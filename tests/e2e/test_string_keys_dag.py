"""Real Airflow on a UUID key: a real backfill, then its rollback, each task in a fresh process.

tests/repair/test_string_keys.py calls the phases in one process, where an earlier phase can leave
state a later one relies on. `airflow dags test` runs every task in a process of its own: each must find
the key's kind (char(36) here) itself, or its checkpoint, audit, review and run rows go to the integer
columns (MariaDB errors 1264/1265 on tenant_checkpoints.last_key: a UUID is no bigint). The numbers are data sets 1+2's, as in the
in-process test: the key's kind changes none of them.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import drop
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import customers, query
from tests.helpers.operator_runs import backup_rows
from tests.helpers.string_key_runs import REVIEW_IDS, audit_counts, exported_ids, text_key_target

pytestmark = pytest.mark.e2e


@pytest.fixture
def uuid_db(review_dir):
    target, keys = text_key_target("uuid")
    yield target, keys
    drop(target)


def airflow_run(target, dag_id: str) -> dict:
    rows = query(target, "select run_id, status, summary from tenant_runs where dag_id = %(d)s", {"d": dag_id})
    assert len(rows) == 1, rows
    return {**rows[0], "summary": json.loads(rows[0]["summary"])}


def test_a_real_backfill_and_its_rollback_through_airflow_on_a_uuid_key(uuid_db, review_dir):
    target, keys = uuid_db
    before = customers(target)
    null_before = {k for k, row in before.items() if row["company_id"] is None}
    assert len(null_before) == 45  # data sets 1+2: 34 backfilled and 3 soft-deleted below, 7 for review, 1 deleted

    # two workers: the NULL rows are split into two shares of UUIDs, each checkpointed by its own key
    code, output = dags_test(target, review_dir, {"dry_run": False, "batch_size": 5, "workers": 2})
    assert code == 0, output[-5000:]
    assert final_state(output) == "success", output[-5000:]
    run = airflow_run(target, "tenant_backfill")
    backfill_id, summary = run["run_id"], run["summary"]
    assert run["status"] == "succeeded"
    assert summary["audited"] == {"backfill": 34, "soft_delete": 3}
    assert summary["backed_up"] == 37
    phases = summary["phases"]
    assert [(b["source"], b["backfilled"], b["workers"]) for b in phases["backfills"]] == [
        ("appointments", 31, 2),
        ("phone", 3, 2),
    ]
    assert phases["conflicts"]["conflicts"] == 3
    assert phases["review"]["review_rows"] == 7
    assert phases["review"]["by_reason"] == {"conflict": 3, "no_tenant_evidence": 2, "unknown_tenant": 2}
    assert phases["orphans"]["soft_deleted"] == 3
    assert summary["application_writes"]["inserted"] == {"rows": 0, "ids": []}
    assert summary["null_rows_after"] == {"active": 7, "soft_deleted": 4}
    assert all(check["success"] for check in summary["post_validation"]), summary["post_validation"]
    assert audit_counts(target, backfill_id) == [
        ("backfill", "company_id", 34, 34),
        ("soft_delete", "deleted_at", 3, 3),
    ]
    assert backup_rows(target, backfill_id) == 37
    # each share's checkpoint sits in the text columns, at a key of the table
    checkpoints = query(
        target,
        "select phase, last_key, until_key, last_key_text, until_key_text from tenant_checkpoints"
        " where phase like 'backfill_appointments%%' order by phase",
    )
    assert [c["phase"] for c in checkpoints] == ["backfill_appointments:1/2", "backfill_appointments:2/2"]
    assert all(c["last_key"] == 0 and c["until_key"] is None for c in checkpoints)
    assert all(c["last_key_text"] in before for c in checkpoints)
    assert checkpoints[0]["until_key_text"] in before and checkpoints[1]["until_key_text"] in before
    # the run's scope end: the largest key at preflight, in the text column (utf8mb4_bin order)
    assert query(target, "select max_key_before, max_key_before_text from tenant_runs") == [
        {"max_key_before": None, "max_key_before_text": max(before)}
    ]
    review_csv = review_dir / "customers_company" / backfill_id / "review.csv"
    assert sorted(exported_ids(review_csv)) == sorted(keys[i] for i in REVIEW_IDS)
    queued = query(target, "select row_id, row_key, status from tenant_review_queue")
    assert sorted((r["row_id"], r["row_key"], r["status"]) for r in queued) == sorted(
        (0, keys[i], "open") for i in REVIEW_IDS
    )
    written = {r["row_key"] for r in query(target, "select row_key from tenant_audit_log where action = 'backfill'")}
    deleted = {r["row_key"] for r in query(target, "select row_key from tenant_audit_log where action = 'soft_delete'")}
    after_backfill = customers(target)
    assert (len(written), len(deleted)) == (34, 3) and written | deleted < null_before
    assert all(after_backfill[k]["company_id"] is not None for k in written)
    assert all(after_backfill[k]["deleted_at"] is not None for k in deleted)

    code, output = dags_test(
        target, review_dir, {"dry_run": False, "backfill_run_id": backfill_id}, dag_id="tenant_rollback"
    )
    assert code == 0, output[-5000:]
    assert final_state(output) == "success", output[-5000:]
    undone = airflow_run(target, "tenant_rollback")
    assert undone["status"] == "succeeded"
    result = undone["summary"]
    assert (result["changed_rows"], result["restored"], result["skipped_rows"]) == (37, 37, 0)
    assert audit_counts(target, undone["run_id"]) == [
        ("rollback", "company_id", 34, 34),
        ("rollback", "deleted_at", 3, 3),
    ]
    assert backup_rows(target, undone["run_id"]) == 37
    after = customers(target)
    # the tenant is NULL again on exactly the rows the backfill wrote, and every row is as it was
    assert {k for k, row in after.items() if row["company_id"] is None} == null_before
    assert {k for k in after if after[k]["company_id"] != after_backfill[k]["company_id"]} == written
    assert {k for k in after if after[k]["deleted_at"] != after_backfill[k]["deleted_at"]} == deleted
    assert after == before
    # the review rows of the rolled-back run stay open, keyed by their UUID
    reopened = query(target, "select row_key from tenant_review_queue where status = 'open'")
    assert sorted(r["row_key"] for r in reopened) == sorted(keys[i] for i in REVIEW_IDS)
