"""Real Airflow: `airflow dags test` with only the documented environment, against a fresh MariaDB database."""

from __future__ import annotations

import json

import pytest

from tests.helpers.airflow import dags_test, final_state, xcom_sizes
from tests.helpers.app_triggers import move_children_when_the_run_writes
from tests.helpers.dbcheck import active_distribution, checksum, query, tables

pytestmark = pytest.mark.e2e


def test_trigger_without_conf_is_a_dry_run_that_changes_nothing(edge_db, review_dir):
    before, before_tables = checksum(edge_db, "customers"), tables(edge_db)
    code, output = dags_test(edge_db, review_dir)
    assert code == 0, output[-3000:]
    assert final_state(output) == "success"
    assert checksum(edge_db, "customers") == before
    assert tables(edge_db) == before_tables
    assert "planned changes:               37" in output
    plans = list((review_dir / "customers_company").glob("*/plan.json"))
    assert len(plans) == 1
    assert json.loads(plans[0].read_text())["planned_changes"] == 37


def test_real_run_through_airflow_repairs_the_seed_incident(seed_db, review_dir):
    code, output = dags_test(seed_db, review_dir, {"dry_run": False, "batch_size": 10})
    assert code == 0, output[-3000:]
    assert final_state(output) == "success"
    assert active_distribution(seed_db) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 31
    assert "tenant_backfill summary: spec customers_company" in output
    assert "left for review" in output
    run = query(seed_db, "select status, summary from tenant_runs")[0]
    assert run["status"] == "succeeded"
    assert json.loads(run["summary"])["backed_up"] == 31
    # every task hands on a small value (per-chunk records are files in the run folder, the summary a table row)
    sizes = xcom_sizes("tenant_backfill")
    assert set(sizes) >= {
        "resolve_specs",
        *(f"repair.{t}" for t in ("preflight", "backup", "backfill", "post_validation")),
    }
    assert max(sizes.values()) <= 4096, sizes


def test_a_failed_gate_fails_the_airflow_run_and_names_the_ids(seed_db, review_dir):
    move_children_when_the_run_writes(seed_db, customer_id=30, company=85)  # the app, during the run
    _code, output = dags_test(seed_db, review_dir, {"dry_run": False})
    assert final_state(output) == "failed"
    assert "relation_mismatch:appointments on customers: observed 1 (sample ids: 30)" in output
    assert "secret" not in output


def test_out_of_range_batch_size_is_refused_by_the_trigger_params(seed_db, review_dir):
    before = checksum(seed_db, "customers")
    code, output = dags_test(seed_db, review_dir, {"dry_run": False, "batch_size": 0})
    assert code != 0 or final_state(output) == "failed"
    assert "batch_size" in output
    assert checksum(seed_db, "customers") == before
    assert "tenant_runs" not in tables(seed_db)
