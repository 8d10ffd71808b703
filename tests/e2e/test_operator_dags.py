"""The operator loop under real Airflow: review import, rollback and constraints DAGs with dags test."""

from __future__ import annotations

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import checksum, customers, query

pytestmark = pytest.mark.e2e
SPEC = load_spec("customers_company")


def test_review_import_rollback_and_constraints_through_airflow(edge_db, review_dir):
    before = checksum(edge_db, "customers")
    phases.run_all(edge_db, SPEC, RunContext(run_id="b1", dry_run=False))
    exported = (review_dir / "customers_company" / "b1" / "review.csv").read_bytes().decode("utf-8")
    decided = exported.replace(",+491710000103,2025-09-27 10:01:00,\r\n", ",+491710000103,2025-09-27 10:01:00,83\r\n")
    lines = decided.split("\r\n")
    decided = "\r\n".join(line + "skip" if line.endswith(",") and i > 0 else line for i, line in enumerate(lines))
    (review_dir / "decided.csv").write_text(decided, encoding="utf-8", newline="")

    # a path outside the review folder is refused by the DAG, nothing applied
    _, output = dags_test(
        edge_db, review_dir, {"review_csv": "../../etc/passwd", "dry_run": False}, "tenant_review_import"
    )
    assert final_state(output) == "failed"
    assert "the path is outside the review folder" in output

    _, output = dags_test(edge_db, review_dir, {"review_csv": "decided.csv", "dry_run": False}, "tenant_review_import")
    assert final_state(output) == "success", output[-3000:]
    assert customers(edge_db)[103]["company_id"] == 83
    assert query(edge_db, "select count(*) as n from tenant_audit_log where action = 'review_decision'")[0]["n"] == 1

    # undo the backfill run b1: its 37 rows come back; the review import (another run) is untouched
    _, output = dags_test(edge_db, review_dir, {"backfill_run_id": "b1", "dry_run": False}, "tenant_rollback")
    assert final_state(output) == "success", output[-3000:]
    assert '"restored": 37' in output
    assert query(edge_db, "select count(*) as n from tenant_audit_log where action = 'rollback'")[0]["n"] == 37
    assert customers(edge_db)[103]["company_id"] == 83
    assert checksum(edge_db, "customers") != before

    _, output = dags_test(edge_db, review_dir, {}, "tenant_constraints")
    assert final_state(output) == "failed"
    assert "only 0 finished validation(s) recorded" in output
    assert "row(s) have a NULL company_id" in output
