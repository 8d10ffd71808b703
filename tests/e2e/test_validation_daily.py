"""tenant_validation_daily under real Airflow, with a real SMTP server (aiosmtpd) receiving the on-call mail."""

from __future__ import annotations

import email
import re
import smtplib
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.conftest import PROJECT
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.mail import free_port
from tests.helpers.mail import mail_env as smtp_env

pytestmark = pytest.mark.e2e
SPEC = load_spec("customers_company")
BASE_URL = "https://airflow.example.org"


def mail_env(port: int, docs) -> dict:
    # mail links point at the Airflow UI
    return smtp_env(port, AIRFLOW__API__BASE_URL=BASE_URL, TENANT_DATA_DOCS_DIR=str(docs))


def leak_customer_77(target, customer_id: int = 77) -> None:
    """The webhook bug again: a customer without a tenant, created at a known time."""
    with target.connect() as db, db.transaction():
        db.execute(
            "insert into customers (id, company_id, name, created_at, updated_at) "
            "values (%(id)s, null, 'Webhook Leak', '2026-01-02 03:04:05', '2026-01-02 03:04:05')",
            {"id": customer_id},
        )


def run_daily(target, review_dir, port: int, docs) -> str:
    """tenant_validation_daily under `airflow dags test`, mailing to the test's SMTP server; its output."""
    _, output = dags_test(
        target, review_dir, {"spec": "customers_company"}, "tenant_validation_daily", mail_env(port, docs)
    )
    return output


@pytest.fixture
def repaired(seed_db):
    phases.run_all(seed_db, SPEC, RunContext(run_id="backfill", dry_run=False))
    return seed_db


def test_clean_run_succeeds_and_sends_nothing(repaired, review_dir, inbox, tmp_path):
    handler, port = inbox
    code, output = dags_test(
        repaired, review_dir, {"spec": "customers_company"}, "tenant_validation_daily", mail_env(port, tmp_path)
    )
    assert code == 0, output[-3000:]
    assert final_state(output) == "success"
    assert "clean: no mail sent" in output
    assert handler.messages == []


def test_a_new_null_customer_fails_the_run_with_exactly_one_mail(repaired, review_dir, inbox, tmp_path):
    handler, port = inbox
    leak_customer_77(repaired)
    output = run_daily(repaired, review_dir, port, tmp_path)
    assert final_state(output) == "failed"
    assert len(handler.messages) == 1
    mail = handler.messages[0]
    assert mail["To"] == "oncall@example.org"
    assert mail["Subject"] == "[tenant_integrity] validation FAILED - customers_company: active_null_tenant"
    body = mail.get_body(("html",)).get_content()
    assert "<b>active_null_tenant</b>: 1 row(s); first bad created_at: 2026-01-02 03:04:05" in body
    assert "ids (up to 20): 77" in body
    # the validation and its Data Docs on the operator page, under [api] base_url
    assert re.search(rf'<a href="{BASE_URL}/tenant-integrity/validations/\d+">', body), body
    assert "file://" not in body  # no mail links a file: the run's page under [api] base_url instead
    assert f'<a href="{BASE_URL}/dags/tenant_validation_daily/runs/manual__' in body


def test_missing_smtp_connection_or_recipient_fails_at_the_start(repaired, review_dir, tmp_path):
    _, output = dags_test(
        repaired,
        review_dir,
        {"spec": "customers_company"},
        "tenant_validation_daily",
        {"TENANT_DATA_DOCS_DIR": str(tmp_path)},
    )
    assert final_state(output) == "failed"
    assert "on-call alerting is not configured: Airflow connection 'smtp_default' is missing" in output
    assert "Airflow Variable 'on_call_email' must hold one or more email addresses; got None" in output
    assert "validation of spec" not in output  # nothing was validated


def test_several_failing_checks_send_one_mail_naming_each(repaired, review_dir, inbox, tmp_path):
    handler, port = inbox
    leak_customer_77(repaired)
    with repaired.connect() as db, db.transaction():
        db.execute("update appointments set company_id = 15 where customer_id = 5")  # its parent says 1
    output = run_daily(repaired, review_dir, port, tmp_path)
    assert final_state(output) == "failed"
    assert len(handler.messages) == 1  # one page per run, not one per failed check
    mail = handler.messages[0]
    assert mail["Subject"] == (
        "[tenant_integrity] validation FAILED - customers_company: "
        "active_null_tenant, relation_mismatch:appointments, tenant_isolation"  # the scheduled, comprehensive mode
    )
    body = mail.get_body(("html",)).get_content()
    assert "<b>active_null_tenant</b>: 1 row(s)" in body and "<b>relation_mismatch:appointments</b>: 1 row(s)" in body


def test_a_known_failure_is_not_paged_again_a_grown_one_is_and_resolved_is_told(repaired, review_dir, inbox, tmp_path):
    handler, port = inbox
    leak_customer_77(repaired)
    output = run_daily(repaired, review_dir, port, tmp_path)  # day 1: new -> paged
    assert final_state(output) == "failed"
    assert [m["Subject"] for m in handler.messages] == [
        "[tenant_integrity] validation FAILED - customers_company: active_null_tenant"
    ]

    output = run_daily(repaired, review_dir, port, tmp_path)  # day 2: the same failure
    assert final_state(output) == "failed"  # the data is still wrong: the run says so ...
    assert len(handler.messages) == 1  # ... but on-call is not paged again, not even by the failure callback
    assert "known failure(s), not paged again: customers_company: active_null_tenant (paged on " in output
    assert "on-call was already told by alert_on_call" in output

    leak_customer_77(repaired, 78)
    output = run_daily(repaired, review_dir, port, tmp_path)  # day 3: grown
    assert final_state(output) == "failed"
    assert len(handler.messages) == 2
    mail = handler.messages[1]
    assert (
        mail["Subject"] == "[tenant_integrity] validation FAILED - customers_company: active_null_tenant (grown 1->2)"
    )
    body = mail.get_body(("html",)).get_content()
    assert "<b>active_null_tenant</b>: 2 row(s) (previous validation, " in body and "new ids: 78)" in body

    with repaired.connect() as db, db.transaction():
        db.execute("update customers set company_id = 1 where id in (77, 78)")
    output = run_daily(repaired, review_dir, port, tmp_path)  # day 4: resolved
    assert final_state(output) == "success"
    assert len(handler.messages) == 3
    mail = handler.messages[2]
    assert mail["Subject"] == "[tenant_integrity] validation RESOLVED - customers_company: active_null_tenant"
    body = mail.get_body(("html",)).get_content()
    assert "<b>active_null_tenant</b> passes again (was 2 row(s) on " in body
    assert f'<a href="{BASE_URL}/dags/tenant_validation_daily/runs/manual__' in body


def test_the_make_airflow_mail_catcher_writes_each_message_to_the_folder(tmp_path):
    """scripts/mail_catcher.py (what `make airflow` starts unless AIRFLOW_CONN_SMTP_DEFAULT is set)."""
    folder, port = tmp_path / "mail", free_port()
    catcher = subprocess.Popen(
        [sys.executable, str(PROJECT / "scripts" / "mail_catcher.py"), "--dir", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except ConnectionRefusedError:
                assert catcher.poll() is None and time.monotonic() < deadline, catcher.stdout.read()
                time.sleep(0.1)
        message = EmailMessage()
        message["From"], message["To"] = "tenant-integrity@localhost", "oncall@localhost"
        message["Subject"] = "[tenant_integrity] validation FAILED - customers_company: active_null_tenant"
        message.set_content("ids (up to 20): 77")
        with smtp:
            smtp.send_message(message)
        files = sorted(folder.glob("*.eml"))
        assert len(files) == 1
        received = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
        assert received["To"] == "oncall@localhost"
        assert received["Subject"].strip() == message["Subject"]  # smtplib folds a long subject: as sent
        assert received.get_content().strip() == "ids (up to 20): 77"
    finally:
        catcher.terminate()
        out, _ = catcher.communicate(timeout=10)
    assert catcher.returncode == 0, out  # SIGTERM (like Ctrl-C) ends it cleanly
    assert f"mail_catcher: {files[0]} to oncall@localhost: {message['Subject']}" in out
