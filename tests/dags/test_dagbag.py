"""DagBag: no import errors, no network (so no DB) at parse time, parse time logged; DAG policy and structure."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
EXPECTED_DAGS = {
    "tenant_backfill",
    "tenant_validation_daily",
    "tenant_review_import",
    "tenant_rollback",
    "tenant_constraints",
    "tenant_guard",
    "tenant_watch",
}
# DAGs still without the DAG-level failure mail (runtime.dag_failure_alert()); this set may only shrink
# a retry of this task would send on-call a second mail for the same run
NOT_RETRIED = {("tenant_validation_daily", "alert_on_call")}


@pytest.fixture(scope="module")
def parsed():
    env = {**os.environ, "AIRFLOW_CONN_TENANT_DB": "mysql://nobody:secret@127.0.0.1:1/nowhere"}
    out = subprocess.run(
        [sys.executable, str(HERE / "parse_guard.py")], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_import_errors_and_no_network_at_parse_time(parsed, record_property):
    assert parsed["import_errors"] == {}
    assert parsed["connections"] == []
    assert set(parsed["dag_ids"]) >= EXPECTED_DAGS
    record_property("parse_seconds", parsed["parse_seconds"])
    log.info("DAG folder parsed in %.3f s: %s", parsed["parse_seconds"], parsed["stats"])
    print(f"DAG folder parse time: {parsed['parse_seconds']} s; per file: {parsed['stats']}")


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def test_policy_every_dag_is_documented_owned_retried_and_tagged(bag):
    from tenant_integrity.core import settings
    from tenant_integrity.monitoring.mail import RunFailureAlert

    for dag_id, dag in bag.dags.items():
        assert dag.doc_md and dag.doc_md.strip().startswith("#"), dag_id
        # one mail per failed run: @dag(on_failure_callback=dag_failure_alert()) from tenant_integrity.tasks.runtime
        assert isinstance(dag.on_failure_callback, RunFailureAlert), dag_id
        # a new file in include/specs must not make a new version of every DAG: no param lists the spec files
        for name in dag.params:
            assert "customers_company" not in dag.params.get_param(name).schema.get("enum", []), (dag_id, name)
        assert "tenant_integrity" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        # a hung run ends: every run and every task has its deadline (settings.DAG_TIMEOUTS_S)
        task_timeout_s, run_timeout_s = settings.DAG_TIMEOUTS_S[dag_id]
        assert dag.dagrun_timeout.total_seconds() == run_timeout_s, dag_id
        for task in dag.tasks:
            if task.task_id.endswith("approve_plan"):  # waits for a person, within the run's timeout
                assert task.execution_timeout is None and task.response_timeout is None  # else it fails when parked
            else:
                assert task.execution_timeout.total_seconds() == task_timeout_s, (dag_id, task.task_id)
            assert task.owner == "data-engineering", (dag_id, task.task_id)
            assert task.retries >= 1 or (dag_id, task.task_id) in NOT_RETRIED, (dag_id, task.task_id)
            assert task.on_failure_callback, (dag_id, task.task_id)


def test_backfill_tasks_run_in_the_documented_order(bag):
    dag = bag.get_dag("tenant_backfill")
    order = [
        "resolve_specs",  # the run's specs, parents first; one map index of the group below per spec
        "repair.wait_for_parents",
        "repair.preflight",
        "repair.stop_if_dry_run",
        "repair.approve_plan",  # asks a person only with param approval
        "repair.backup",
        "repair.backfill",  # every source of the spec, in its priority order: the shape does not follow spec files
        "repair.detect_conflicts",
        "repair.export_review",
        "repair.soft_delete_orphans",
        "repair.post_validation",
        "announce_repaired_tables",  # after every spec: the assets of the repaired tables (tenant_validation_daily)
    ]
    # announce_repaired_tables runs whatever the specs did; the other leaf fails the run when one did not pass
    assert dag.get_task("fail_if_a_spec_failed").trigger_rule == "one_failed"
    assert {t.task_id for t in dag.leaves} == {"announce_repaired_tables", "fail_if_a_spec_failed"}
    assert sorted(dag.task_ids) == sorted([*order, "fail_if_a_spec_failed"])
    for earlier, later in itertools.pairwise(order):
        assert later in dag.get_task(earlier).get_direct_relative_ids(upstream=False) or later in {
            t.task_id for t in dag.get_task(earlier).get_flat_relatives(upstream=False)
        }, (earlier, later)
    assert dag.schedule is None  # triggered by a person, never on a timetable
    # only the tasks that write to the target take a slot of its connection's writer pool
    writers = {t.task_id for t in dag.tasks if t.pool == "tenant_writers_tenant_db"}
    assert writers == {
        f"repair.{t}" for t in ("backup", "backfill", "detect_conflicts", "export_review", "soft_delete_orphans")
    }
    wait = dag.get_task("repair.wait_for_parents")
    assert wait.mode == "reschedule"  # a waiting spec gives its worker slot back


def test_backfill_trigger_form_params(bag):
    params = bag.get_dag("tenant_backfill").params
    spec, dry_run, batch_size = (params.get_param(n) for n in ("spec", "dry_run", "batch_size"))
    assert spec.value == "customers_company"
    assert spec.schema["pattern"] == "^[a-z][a-z0-9_]{0,63}$"  # the name is checked against the files at run time
    assert dry_run.value is True
    assert dry_run.schema["type"] == "boolean"
    assert (batch_size.value, batch_size.schema["minimum"], batch_size.schema["maximum"]) == (1000, 1, 50000)
    workers = params.get_param("workers")
    assert (workers.value, workers.schema["minimum"], workers.schema["maximum"]) == (2, 1, 8)
    assert params.get_param("approval").value is False
    specs = params.get_param("specs")
    assert (specs.value, specs.schema["type"]) == ([], "array")
    for p in (spec, specs, dry_run, batch_size, workers):
        assert p.schema["title"] and p.description


def test_validation_runs_daily_at_four_in_berlin_without_catchup(bag):
    dag = bag.get_dag("tenant_validation_daily")
    # at 04:00 or when a real repair updates a table's asset (the alias tenant_backfill's post_validation adds to)
    cron = dag.timetable.timetable
    assert cron.expression == "0 4 * * *"
    assert str(cron.timezone) in {"Europe/Berlin", "Timezone('Europe/Berlin')"}
    assert [dag.timetable.asset_condition.name] == ["tenant_integrity_repaired_tables"]
    announce = bag.get_dag("tenant_backfill").get_task("announce_repaired_tables")
    assert [getattr(o, "name", None) for o in announce.outlets] == ["tenant_integrity_repaired_tables"]
    assert announce.trigger_rule == "all_done"  # after every spec, whether it passed or not
    assert dag.catchup is False
    assert sorted(dag.task_ids) == ["alert_on_call", "check_alerting", "validate"]
    assert dag.get_task("alert_on_call").trigger_rule == "all_done"
    assert dag.get_task("alert_on_call").retries == 0
    params = dag.params
    assert params.get_param("mode").value == "comprehensive"
    assert params.get_param("spec").value is None
    assert params.get_param("spec").schema["type"] == ["null", "string"]


@pytest.mark.parametrize(
    ("dag_id", "extra"),
    [
        ("tenant_review_import", {"review_csv"}),
        ("tenant_rollback", {"backfill_run_id"}),
        ("tenant_constraints", {"clean_days", "archive_orphans"}),
    ],
)
def test_operator_dags_default_to_dry_run(bag, dag_id, extra):
    params = bag.get_dag(dag_id).params
    assert params.get_param("dry_run").value is True
    assert {"spec", "dry_run", "batch_size"} | extra == set(params)
    for name in params:
        assert params.get_param(name).schema["title"] and params.get_param(name).description


def test_guard_dag_defaults_to_a_dry_run_status(bag):
    params = bag.get_dag("tenant_guard").params
    assert set(params) == {"spec", "mode", "action", "dry_run"}
    assert (params.get_param("action").value, params.get_param("dry_run").value) == ("status", True)
    assert params.get_param("mode").schema["enum"] == ["fill", "log", "reject"]
    assert params.get_param("action").schema["enum"] == ["install", "uninstall", "status"]
    for name in params:
        assert params.get_param(name).schema["title"] and params.get_param(name).description
