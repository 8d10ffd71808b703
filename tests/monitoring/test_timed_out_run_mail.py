"""The one failure mail of a run Airflow ended at its run timeout (reason "timed_out") says so."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from tenant_integrity.monitoring import mail

LINK = "https://airflow.example.org/dags/tenant_validation_daily/runs/manual__1"


def test_a_timed_out_run_names_its_run_timeout_and_the_task_it_waited_for():
    subject, body = mail.failure_mail(
        "tenant_validation_daily",
        "manual__1",
        {"spec": "customers_company"},
        [],
        [],
        LINK,
        "timed_out",
        45.0,
        "validate",
    )
    assert subject == "[tenant_integrity] tenant_validation_daily FAILED - customers_company: run timed out after 45 s"
    assert (
        "<p>The run <b>timed out</b>: it ran longer than its run timeout of 45 s (dagrun_timeout, TENANT_DAG_TIMEOUTS)"
        " and Airflow ended it while <b>validate</b> had not finished; its unfinished tasks are marked skipped." in body
    )
    assert "No task failed" not in body


def test_a_task_that_failed_before_the_timeout_is_listed_with_it():
    failed = mail.TaskFailure("validate", error="OperationalError: (1205, 'Lock wait timeout exceeded')")
    subject, body = mail.failure_mail("tenant_guard", "r", {}, [failed], [], LINK, "timed_out", 3600.0, None)
    assert subject == "[tenant_integrity] tenant_guard FAILED - -: validate"
    assert "run timeout of 3600 s (dagrun_timeout, TENANT_DAG_TIMEOUTS) and Airflow ended it;" in body
    assert "<li><b>validate</b><pre>OperationalError: (1205, &#x27;Lock wait timeout exceeded&#x27;)</pre></li>" in body


def test_any_other_failed_run_without_a_failed_task_says_its_reason_as_before():
    subject, body = mail.failure_mail("tenant_guard", "r", {}, [], [], LINK, "task_failure")
    assert subject == "[tenant_integrity] tenant_guard FAILED - -: task_failure"
    assert "<p>No task failed: the run ended as failed (task_failure).</p>" in body
    assert "timed out" not in body


def test_the_callback_reads_the_timeout_from_the_dag_and_the_task_from_the_context(monkeypatch):
    sent = []
    monkeypatch.setattr(mail, "run_failures", lambda dag, run_id: ([], []))
    monkeypatch.setattr(mail, "check_alerting_configured", lambda: ["oncall@example.org"])
    monkeypatch.setattr(mail, "run_url", lambda dag_id, run_id: LINK)
    monkeypatch.setattr(mail, "send_mail", lambda to, subject, html: sent.append((to, subject, html)))
    dag = SimpleNamespace(dag_id="tenant_validation_daily", dagrun_timeout=datetime.timedelta(seconds=30))
    started = SimpleNamespace(task_id="validate", map_index=-1)  # the context's ti: no start_date in Airflow 3
    context = {"dag": dag, "run_id": "manual__1", "reason": "timed_out", "ti": started, "params": {"spec": None}}
    assert mail.RunFailureAlert().alert(context) == "sent"
    [(to, subject, html)] = sent
    assert (to, subject) == (
        ["oncall@example.org"],
        "[tenant_integrity] tenant_validation_daily FAILED - every spec: run timed out after 30 s",
    )
    assert (
        "run timeout of 30 s (dagrun_timeout, TENANT_DAG_TIMEOUTS) and Airflow ended it while <b>validate</b>" in html
    )
