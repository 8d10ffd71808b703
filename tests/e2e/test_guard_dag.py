"""tenant_guard under real Airflow (`airflow dags test`) on a fresh demo database."""

from __future__ import annotations

import MySQLdb
import pytest

from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e


def guard_triggers(target) -> dict[str, str]:
    rows = query(
        target,
        "select trigger_name as name, action_statement as body from information_schema.triggers"
        " where trigger_schema = database() order by trigger_name",
    )
    return {r["name"]: r["body"] for r in rows}


def test_the_dag_installs_a_reject_guard_and_refuses_fill_without_a_parent_evidence(edge_db, review_dir):
    conf = {"spec": "appointments_company", "mode": "reject", "action": "install", "dry_run": False}
    _, output = dags_test(edge_db, review_dir, conf, "tenant_guard")
    assert final_state(output) == "success", output[-3000:]
    installed = guard_triggers(edge_db)
    assert set(installed) == {"tenant_guard_appointments_bi", "tenant_guard_appointments_bu"}
    assert all(body.startswith("tenant_guard_mode_reject: begin") for body in installed.values())
    assert "mode reject" in output

    conn = MySQLdb.connect(
        host=edge_db.host, port=edge_db.port, user=edge_db.user, passwd=edge_db.password, db=edge_db.database
    )
    try:
        with pytest.raises(MySQLdb.OperationalError) as refused, conn.cursor() as cur:
            cur.execute("insert into appointments (customer_id, starts_at) values (30, '2025-11-03 09:00:00')")
        assert refused.value.args[0] == 1644 and "appointments" in refused.value.args[1]
    finally:
        conn.close()

    conf = {"spec": "customers_company", "mode": "fill", "action": "install", "dry_run": True}
    _, output = dags_test(edge_db, review_dir, conf, "tenant_guard")
    assert final_state(output) == "failed"
    assert "spec 'customers_company': mode fill needs a parent evidence" in output
    assert guard_triggers(edge_db) == installed
