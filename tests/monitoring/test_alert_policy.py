"""The on-call policy on a real history: a new or grown failure pages, a known one does not, a resolved
one is told; and every DAG's failure callback sends one mail per failed run (real Airflow, real SMTP)."""

from __future__ import annotations

import time

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import paging, validation
from tenant_integrity.repair import phases
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import query
from tests.helpers.mail import mail_env

SPEC = load_spec("customers_company")
LINK = "https://airflow.example.org/dags/tenant_validation_daily/runs/scheduled__x"


def execute(target, *statements):
    with target.connect() as db, db.transaction():
        for statement in statements:
            db.execute(statement)


def leak(target, *ids):
    """Customers created without a tenant now, a second after the previous validation began (created_at
    has whole seconds): new leaks of the webhook bug."""
    time.sleep(1)
    for i in ids:
        execute(
            target,
            "insert into customers (id, company_id, name, created_at, updated_at) "
            f"values ({int(i)}, null, 'Leak {int(i)}', utc_timestamp(), utc_timestamp())",
        )


def daily_run(target, run_id):
    """What alert_on_call does for one spec: validate, decide against the history, mail, record."""
    report = validation.validate(target, SPEC, "comprehensive", run_id)
    alerts = paging.assess(target, report)
    mail = paging.alert_mail([report], alerts, LINK)
    paging.record_alerts(target, report, alerts, mailed=mail is not None)
    return report, {a.check: a for a in alerts}, mail


def daily(target, run_id):
    """The alert decisions by check, and the mail (subject, HTML) or None."""
    return daily_run(target, run_id)[1:]


def paged_at(target, run_id, check="active_null_tenant"):
    rows = query(
        target,
        "select paged_at from tenant_validation_alerts where run_id = %(r)s and check_name = %(c)s",
        {"r": run_id, "c": check},
    )
    return rows[0]["paged_at"]


@pytest.fixture
def clean(seed_db, tmp_path, monkeypatch):
    """The seed incident after a successful backfill and a first (baseline) validation: all clean."""
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    phases.run_all(seed_db, SPEC, RunContext(run_id="backfill-1", dry_run=False))
    assert daily(seed_db, "day-0") == ({}, None)
    return seed_db


def test_new_then_known_then_grown_then_known_then_resolved(clean):
    leak(clean, 61)
    found, mail = daily(clean, "day-1")
    assert {c: a.status for c, a in found.items()} == {
        "active_null_tenant": "new",
        "new_null_since_last_validation": "new",
    }
    subject, body = mail
    assert subject == (
        "[tenant_integrity] validation FAILED - customers_company: active_null_tenant, new_null_since_last_validation"
    )
    assert "<b>active_null_tenant</b>: 1 row(s)" in body and "ids (up to 20): 61" in body
    assert "file://" not in body and f'<a href="{LINK}">' in body
    first_page = paged_at(clean, "day-1")
    assert first_page is not None

    # the next day: nothing changed. Known: recorded, not paged; the new-leak check is an event, no "resolved"
    found, mail = daily(clean, "day-2")
    assert mail is None
    assert {c: a.status for c, a in found.items()} == {"active_null_tenant": "known"}
    assert found["active_null_tenant"].paged_at == first_page
    assert paging.known_summary(list(found.values())) == (
        f"customers_company: active_null_tenant (paged on {first_page:%Y-%m-%d %H:%M} UTC)"
    )
    assert query(
        clean,
        "select status, paged, paged_at from tenant_validation_alerts where run_id = 'day-2'",
    ) == [{"status": "known", "paged": 0, "paged_at": first_page}]

    # another leak: the count grew and id 62 is new -> paged again, naming the growth
    leak(clean, 62)
    found, mail = daily(clean, "day-3")
    assert (found["active_null_tenant"].status, found["active_null_tenant"].new_ids) == ("grown", [62])
    subject, body = mail
    assert subject == (
        "[tenant_integrity] validation FAILED - customers_company: active_null_tenant (grown 1->2), "
        "new_null_since_last_validation"
    )
    assert "<b>active_null_tenant</b>: 2 row(s) (previous validation, " in body
    assert "1 row(s); new ids: 62)" in body
    second_page = paged_at(clean, "day-3")
    assert second_page > first_page

    # 61 fixed: a smaller count, no id the previous sample lacked -> known, "paged on" the grown page
    execute(clean, "update customers set company_id = 1 where id = 61")
    found, mail = daily(clean, "day-4")
    assert mail is None
    assert (found["active_null_tenant"].status, found["active_null_tenant"].paged_at) == ("known", second_page)

    # 62 fixed too: resolved, one mail naming spec and check
    execute(clean, "update customers set company_id = 1 where id = 62")
    found, mail = daily(clean, "day-5")
    assert {c: a.status for c, a in found.items()} == {"active_null_tenant": "resolved"}
    subject, body = mail
    assert subject == "[tenant_integrity] validation RESOLVED - customers_company: active_null_tenant"
    assert "<h2>tenant_validation_daily: resolved</h2>" in body
    assert "<b>active_null_tenant</b> passes again (was 1 row(s) on " in body
    assert f"paged on {second_page:%Y-%m-%d %H:%M} UTC" in body

    # and then quiet
    assert daily(clean, "day-6") == ({}, None)


def test_same_count_with_another_id_pages(clean):
    execute(clean, "update customers set company_id = null where id = 9")
    assert daily(clean, "day-1")[0]["active_null_tenant"].status == "new"
    execute(
        clean, "update customers set company_id = 1 where id = 9", "update customers set company_id = null where id = 8"
    )
    found, mail = daily(clean, "day-2")
    assert (found["active_null_tenant"].status, found["active_null_tenant"].new_ids) == ("grown", [8])
    assert mail[0] == (  # customer 9's (8's) appointments reach a row without tenant: the isolation proof too
        "[tenant_integrity] validation FAILED - customers_company: active_null_tenant (new ids), tenant_isolation (new ids)"
    )


def test_a_failure_nobody_was_paged_about_pages(clean):
    """The CLI (or a run whose mail could not be sent: nothing recorded) saw it first: still a page."""
    execute(clean, "update customers set company_id = null where id = 9")
    validation.validate(clean, SPEC, "comprehensive", "cli")  # history only, no alert decision recorded
    found, mail = daily(clean, "day-1")
    assert found["active_null_tenant"].status == "new"
    assert "on-call was not paged about it" in mail[1]
    assert daily(clean, "day-2")[0]["active_null_tenant"].status == "known"


def test_a_failure_that_passed_in_between_is_new_again(clean):
    execute(clean, "update customers set company_id = null where id = 9")
    daily(clean, "day-1")
    execute(clean, "update customers set company_id = 1 where id = 9")
    assert daily(clean, "day-2")[0]["active_null_tenant"].status == "resolved"
    execute(clean, "update customers set company_id = null where id = 9")
    found, mail = daily(clean, "day-3")
    assert found["active_null_tenant"].status == "new" and mail is not None


def test_a_page_lists_known_failures_and_names_open_review_rows_apart_from_new_leaks(edge_db, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    phases.run_all(edge_db, SPEC, RunContext(run_id="backfill-1", dry_run=False))
    found, mail = daily(edge_db, "day-1")  # the rows a person has to decide, and the isolation proof
    assert {c: a.status for c, a in found.items()} == {"active_null_tenant": "new", "tenant_isolation": "new"}
    review = query(edge_db, "select row_id from tenant_review_queue where status = 'open' order by row_id")
    waiting = [r["row_id"] for r in review]
    body = mail[1]
    assert (
        "<b>Open review rows</b> (warning open_review_rows: rows waiting for a person's decision in "
        "tenant_review_import — known rows, not new leaks): 7 row(s); ids (up to 20): "
        + ", ".join(str(i) for i in waiting)
    ) in body

    leak(edge_db, 201)
    report, found, mail = daily_run(edge_db, "day-2")
    assert {c: a.status for c, a in found.items()} == {
        "active_null_tenant": "grown",
        "new_null_since_last_validation": "new",
        "tenant_isolation": "known",
    }
    subject, body = mail
    assert subject == (
        "[tenant_integrity] validation FAILED - customers_company: active_null_tenant (grown "
        f"{found['active_null_tenant'].previous['observed_value']}->{found['active_null_tenant'].observed}), "
        "new_null_since_last_validation"
    )
    active = next(c for c in report.checks if c.check == "active_null_tenant")
    under = ", ".join(str(i) for i in active.sample if i in waiting)
    assert under  # the backfill left NULL rows in review: they are named as such, 201 apart
    assert f"of these ids, waiting in open review rows: {under}; not under review: 201" in body
    assert "<b>tenant_isolation</b>: 3 row(s) — known failure, paged on " in body


def test_the_graph_audit_follows_the_same_policy(edge_db):
    with edge_db.connect() as db, db.transaction():
        db.execute(
            "update appointments set company_id = 15 where id = (select min(id) from appointments where company_id = 1)"
        )

    def graph_day(run_id):
        report = validation.validate_graph(edge_db, run_id)
        alerts = paging.assess(edge_db, report)
        mail = paging.alert_mail([report], alerts, LINK)
        paging.record_alerts(edge_db, report, alerts, mailed=mail is not None)
        return [(a.check, a.status) for a in alerts], mail

    edge = "edge_tenant_match:appointments.customer_id->customers.id"
    found, mail = graph_day("g-1")
    assert found == [(edge, "new")] and mail[0] == f"[tenant_integrity] validation FAILED - tenant_graph: {edge}"
    assert graph_day("g-2") == ([(edge, "known")], None)


# --- every DAG: one mail per failed run, through the DAG-level on_failure_callback ---------------


@pytest.mark.e2e
def test_a_failed_run_of_any_dag_sends_one_mail_naming_dag_spec_task_and_error(edge_db, review_dir, inbox):
    handler, port = inbox
    env = mail_env(port, AIRFLOW__API__BASE_URL="https://airflow.example.org")
    _, output = dags_test(
        edge_db, review_dir, {"review_csv": "../../etc/passwd", "dry_run": False}, "tenant_review_import", env
    )
    assert final_state(output) == "failed"
    assert len(handler.messages) == 1, output[-3000:]
    mail = handler.messages[0]
    assert mail["To"] == "oncall@example.org"
    assert mail["Subject"] == "[tenant_integrity] tenant_review_import FAILED - customers_company: import_decisions"
    # text first, then HTML; the text readable in the raw message as it was sent (quoted-printable, not base64)
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert "DAG: tenant_review_import\nSpec: customers_company\n" in mail.get_body(("plain",)).get_content()
    assert b"DAG: tenant_review_import\nSpec: customers_company\n" in mail.as_bytes().replace(b"\r\n", b"\n")
    body = mail.get_body(("html",)).get_content()
    assert "DAG: <b>tenant_review_import</b><br>Spec: <b>customers_company</b>" in body
    assert "Dry run: no" in body
    assert "<li><b>import_decisions</b><pre>AirflowFailException: " in body
    assert "the path is outside the review folder" in body
    assert '<a href="https://airflow.example.org/dags/tenant_review_import/runs/manual__' in body
    assert "file://" not in body


@pytest.mark.e2e
def test_a_failed_dry_run_pages_nobody(edge_db, review_dir, inbox):
    handler, port = inbox
    # the same bad path as above, in the default dry run: the run fails and says why, and no mail goes out
    env = mail_env(port)
    _, output = dags_test(edge_db, review_dir, {"review_csv": "../../etc/passwd"}, "tenant_review_import", env)
    assert final_state(output) == "failed"
    assert "the path is outside the review folder" in output
    assert "a dry run failed; a dry run reports, it never pages: no mail" in output
    assert handler.messages == []


@pytest.mark.e2e
def test_without_mail_configured_the_failure_callback_only_logs(edge_db, review_dir):
    _, output = dags_test(
        edge_db, review_dir, {"review_csv": "../../etc/passwd", "dry_run": False}, "tenant_review_import"
    )
    assert final_state(output) == "failed"
    assert "no failure mail sent (on-call alerting is not configured" in output
    assert (
        "It would have said: [tenant_integrity] tenant_review_import FAILED - customers_company: import_decisions"
        in output
    )
    assert "Callback failed" not in output and "the alert itself failed" not in output
