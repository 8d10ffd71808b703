"""The daily validation's graph audit: every foreign key between tenant tables, child tenant = parent tenant."""

from __future__ import annotations

from tenant_integrity.monitoring import paging, validation
from tests.helpers.dbcheck import query

EDGES = {
    "edge_tenant_match:appointments.customer_id->customers.id",
    "edge_tenant_match:calls.customer_id->customers.id",
}


def test_the_demo_graph_is_consistent_and_the_audit_says_which_edges_it_read(edge_db):
    report = validation.validate_graph(edge_db, "daily-1")
    assert report.spec == "tenant_graph" and report.passed
    assert {c.check: (c.success, c.observed, c.sample) for c in report.checks} == {
        name: (True, 0, []) for name in EDGES
    }


def test_a_child_moved_to_another_tenant_fails_its_edge_naming_the_ids(edge_db):
    with edge_db.connect() as db, db.transaction():  # two appointments of company-1 customers now say company 15
        moved = [
            r["id"]
            for r in db.rows(
                "select a.id from appointments as a join customers as c on c.id = a.customer_id"
                " where c.company_id = 1 and a.company_id = 1 order by a.id limit 2"
            )
        ]
        db.execute("update appointments set company_id = 15 where id in %(ids)s", {"ids": moved})
    report = validation.validate_graph(edge_db, "daily-2")
    assert not report.passed
    failed = {c.check: (c.observed, c.sample) for c in report.failed}
    assert failed == {"edge_tenant_match:appointments.customer_id->customers.id": (2, moved)}
    history = query(
        edge_db,
        "select check_name, passed, observed_value from tenant_validation_history where spec = 'tenant_graph' "
        "and run_id = 'daily-2' order by check_name",
    )
    assert [(h["check_name"], h["passed"], h["observed_value"]) for h in history] == [
        ("edge_tenant_match:appointments.customer_id->customers.id", 0, "2"),
        ("edge_tenant_match:calls.customer_id->customers.id", 1, "0"),
    ]
    assert "appointments.customer_id->customers.id" in paging.validation_mail_subject([report])
