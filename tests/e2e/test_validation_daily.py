"""tenant_validation_daily under real Airflow, with a real SMTP server (aiosmtpd) receiving the on-call mail."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from tenant_integrity import phases
from tenant_integrity.spec import load_spec
from tests.helpers.airflow import dags_test, final_state

pytestmark = pytest.mark.e2e
SPEC = load_spec("customers_company")


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message):
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def mail_env(port: int, docs) -> dict:
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&from_email=airflow%40example.org",
        "AIRFLOW_VAR_ON_CALL_EMAIL": "oncall@example.org",
        "TENANT_DATA_DOCS_DIR": str(docs),
    }


def leak_customer_77(target) -> None:
    """The webhook bug again: a customer without a tenant, created at a known time."""
    with target.connect() as db, db.transaction():
        db.execute(
            "insert into customers (id, company_id, name, created_at, updated_at) "
            "values (77, null, 'Webhook Leak', '2026-01-02 03:04:05', '2026-01-02 03:04:05')"
        )


def run_daily(target, review_dir, port: int, docs) -> str:
    """tenant_validation_daily under `airflow dags test`, mailing to the test's SMTP server; its output."""
    _, output = dags_test(
        target, review_dir, {"spec": "customers_company"}, "tenant_validation_daily", mail_env(port, docs)
    )
    return output


@pytest.fixture
def repaired(seed_db):
    phases.run_all(seed_db, SPEC, phases.RunContext(run_id="backfill", dry_run=False))
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
    assert "Data Docs: file://" + str(tmp_path) in body
    assert "/dags/tenant_validation_daily/runs/" in body


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
