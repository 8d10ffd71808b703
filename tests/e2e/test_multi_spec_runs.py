"""One tenant_backfill run over several specs (real Airflow, `airflow dags test`): parents first, each spec with
its own gates, audit and summary; a failed spec ends the specs that read it as a parent, not its siblings."""

from __future__ import annotations

import json

import pytest

from tests.helpers.airflow import dags_test, final_state, task_instances
from tests.helpers.app_triggers import move_children_when_the_run_writes
from tests.helpers.dbcheck import checksum, query

pytestmark = pytest.mark.e2e
ALL = {"specs": ["all"], "dry_run": False}
POSITION = {"customers_company": 0, "appointments_company": 1, "calls_company": 2}


def runs(target) -> dict[str, dict]:
    rows = query(target, "select spec, status, summary from tenant_runs")
    return {r["spec"]: {"status": r["status"], **json.loads(r["summary"] or "{}")} for r in rows}


def test_all_specs_repair_the_graph_parents_first(edge_db, review_dir):
    code, output = dags_test(edge_db, review_dir, ALL)
    assert code == 0, output[-3000:]
    assert final_state(output) == "success"
    by_spec = runs(edge_db)
    assert {s: (r["status"], r["audited"], r["backed_up"]) for s, r in by_spec.items()} == {
        "customers_company": ("succeeded", {"backfill": 34, "soft_delete": 3}, 37),
        "appointments_company": ("succeeded", {"backfill": 1}, 1),
        # 15 calls from their customers (some repaired by the customers spec minutes earlier), 3 by number
        "calls_company": ("succeeded", {"backfill": 18}, 18),
    }
    # each child started after its parent's post_validation passed
    tis = task_instances("tenant_backfill")
    parent_done = tis[("repair.post_validation", 0)]["end"]
    for child in ("appointments_company", "calls_company"):
        assert tis[("repair.preflight", POSITION[child])]["start"] >= parent_done, child
        assert tis[("repair.wait_for_parents", POSITION[child])]["state"] == "success"
    assert "[1] appointments_company (table appointments): after customers_company" in output
    assert query(edge_db, "select company_id from appointments where id = 1006")[0]["company_id"] == 85


def test_a_dry_run_of_all_specs_plans_each_and_writes_nothing(edge_db, review_dir):
    before = {t: checksum(edge_db, t) for t in ("customers", "appointments", "calls")}
    code, output = dags_test(edge_db, review_dir, {"specs": ["all"]})
    assert code == 0, output[-3000:]
    assert final_state(output) == "success"
    assert {t: checksum(edge_db, t) for t in before} == before
    assert query(edge_db, "show tables like 'tenant_runs'") == []
    plans = {p.parent.parent.name: json.loads(p.read_text()) for p in review_dir.glob("*/*/plan.json")}
    # each spec plans on the data as it is: calls before customers were repaired (customer 10, number 8)
    assert {s: p["planned_changes"] for s, p in plans.items()} == {
        "customers_company": 37,
        "appointments_company": 0,
        "calls_company": 18,
    }
    tis = task_instances("tenant_backfill")
    assert {t for (t, _m), ti in tis.items() if ti["state"] == "skipped"} == {
        f"repair.{t}"
        for t in (
            "stop_if_dry_run",
            "approve_plan",
            "backup",
            "backfill",
            "detect_conflicts",
            "export_review",
            "soft_delete_orphans",
        )
    } | {"repair.post_validation", "fail_if_a_spec_failed"}  # no spec failed: the run's watcher leaf skips


def test_a_failed_child_stops_itself_not_its_siblings(edge_db, review_dir):
    with edge_db.connect() as db:  # the appointments spec's review column is gone: its preflight refuses the spec
        db.execute("alter table appointments drop column starts_at")
    before = checksum(edge_db, "appointments")
    _code, output = dags_test(edge_db, review_dir, ALL)
    assert final_state(output) == "failed"
    assert "review_columns" in output and "starts_at" in output
    assert checksum(edge_db, "appointments") == before
    assert {s: r["status"] for s, r in runs(edge_db).items()} == {
        "customers_company": "succeeded",
        "calls_company": "succeeded",
    }
    tis = task_instances("tenant_backfill")
    assert tis[("repair.preflight", 1)]["state"] == "failed"
    assert tis[("repair.post_validation", 2)]["state"] == "success"
    # the UI names each map index by its spec, and so does the failure mail (logged: no SMTP in this test)
    assert {m: tis[("repair.preflight", m)]["name"] for m in POSITION.values()} == {i: s for s, i in POSITION.items()}
    assert "tenant_backfill FAILED - all: repair.preflight[appointments_company]" in output


def test_a_failed_parent_ends_the_specs_that_read_it(edge_db, review_dir):
    before = checksum(edge_db, "calls")
    move_children_when_the_run_writes(edge_db, customer_id=30, company=85)  # customers' gate will fail
    _code, output = dags_test(edge_db, review_dir, ALL)
    assert final_state(output) == "failed"
    assert "relation_mismatch:appointments on customers: observed 1 (sample ids: 30)" in output
    assert (
        "spec calls_company: parent spec customers_company did not pass in this run "
        "(repair.post_validation failed)" in output
    )
    assert {s: r["status"] for s, r in runs(edge_db).items()} == {"customers_company": "failed_post_validation"}
    # calls wrote nothing (appointments were moved by the application's trigger, not by a run)
    assert checksum(edge_db, "calls") == before
    tis = task_instances("tenant_backfill")
    assert {tis[("repair.wait_for_parents", i)]["state"] for i in (1, 2)} == {"failed"}
    assert {tis[("repair.preflight", i)]["state"] for i in (1, 2)} == {"upstream_failed"}
