"""tenant_watch under real Airflow (`airflow dags test`), with a real SMTP server (aiosmtpd) receiving the page."""

from __future__ import annotations

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import query
from tests.helpers.mail import mail_env

pytestmark = pytest.mark.e2e
SPEC = load_spec("customers_company")


def test_a_leak_after_a_backfill_pages_on_call_exactly_once(seed_db, review_dir, inbox):
    handler, port = inbox
    phases.run_all(seed_db, SPEC, RunContext(run_id="backfill", dry_run=False))
    with seed_db.connect() as db, db.transaction():
        db.execute(
            "insert into customers (id, company_id, name, created_at, updated_at) "
            "values (77, null, 'Webhook Leak', utc_timestamp(), utc_timestamp())"
        )
        leak_hour = db.scalar("select created_at from customers where id = 77").strftime("%Y-%m-%d %H:00")

    _, output = dags_test(seed_db, review_dir, None, "tenant_watch", mail_env(port))

    assert final_state(output) == "failed", output[-3000:]  # a watch hour with a finding fails
    assert "[tenant_integrity] watch: new leak - customers_company: new_null_tenant (1) (one mail sent)" in output
    # the specs that never ran are skipped, and say so
    for name in ("appointments_company", "calls_company"):
        assert f"spec {name}: not watched: no succeeded tenant_backfill run of this spec" in output
    assert len(handler.messages) == 1
    mail = handler.messages[0]
    assert mail["To"] == "oncall@example.org"
    assert mail["Subject"] == "[tenant_integrity] watch: new leak - customers_company: new_null_tenant (1)"
    body = mail.get_body(("html",)).get_content()
    assert f"appeared in hour {leak_hour}: ids 77<br>" in body
    assert "watched run backfill (run_no 1)" in body
    assert "/dags/tenant_watch/runs/" in body
    history = query(seed_db, "select check_name, found_rows, new_rows, watch_run_id from tenant_watch_history")
    assert sorted((r["check_name"], r["found_rows"], r["new_rows"]) for r in history) == [
        ("new_null_tenant", 1, 1),
        ("relation_mismatch:appointments", 0, 0),
        ("relation_mismatch:calls", 0, 0),
        ("run_audit_matches", 0, 0),
    ]
    findings = query(seed_db, "select row_ref, mailed_by from tenant_watch_findings")
    assert [r["row_ref"] for r in findings] == ["77"]
    assert findings[0]["mailed_by"] == history[0]["watch_run_id"]  # the Airflow run that sent the mail
