"""Approval between plan and apply (param `approval`), under real Airflow: the run waits for a person after
preflight with nothing written; Approve writes as planned, Reject writes nothing and ends the run `rejected`."""

from __future__ import annotations

import pytest

from tests.helpers.airflow import respond_to_approval, start_dags_test, task_instances
from tests.helpers.dbcheck import active_distribution, checksum, query

pytestmark = pytest.mark.e2e
TASK = "repair.approve_plan"


def waiting_then(seed_db, review_dir, tmp_path, option: str):
    before = checksum(seed_db, "customers")
    run = start_dags_test(seed_db, review_dir, {"dry_run": False, "approval": True}, log_path=tmp_path / "run.log")
    try:
        # the answer can only come once the task waits; until then nothing is written
        run_id = respond_to_approval("tenant_backfill", TASK, 0, option)
        assert checksum(seed_db, "customers") == before
        assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 0
        assert run.wait(timeout=300) == 0, (tmp_path / "run.log").read_text()[-3000:]
    finally:
        run.kill()
    return run_id, before, (tmp_path / "run.log").read_text()


def test_approve_writes_the_plan(seed_db, review_dir, tmp_path):
    _, _, output = waiting_then(seed_db, review_dir, tmp_path, "Approve")
    assert "plan approved by ops" in output
    assert active_distribution(seed_db) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 31
    assert query(seed_db, "select status from tenant_runs") == [{"status": "succeeded"}]


def test_reject_writes_nothing_and_ends_the_run_rejected(seed_db, review_dir, tmp_path):
    _, before, output = waiting_then(seed_db, review_dir, tmp_path, "Reject")
    assert "plan rejected by ops: nothing is written for this spec" in output
    assert checksum(seed_db, "customers") == before
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 0
    assert query(seed_db, "select status, summary from tenant_runs") == [
        {"status": "rejected", "summary": '{"rejected_by": "ops"}'}
    ]
    tis = task_instances("tenant_backfill")
    assert tis[(TASK, 0)]["state"] == "skipped"
    assert {tis[(f"repair.{t}", 0)]["state"] for t in ("backup", "backfill", "post_validation")} == {"skipped"}
