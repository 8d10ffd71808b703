"""The plan is the outcome: a row is never written with a tenant its relation rows contradict.

Data set 1 + 2, plus three rows of the Laravel shape (child tables carry their own company_id):
  201 appointment at 1 (source 1), a call whose own company_id is 15 to company 15's number (source 2):
      the first source says 1, but a relation row (calls) says 15 -> conflict, never written as 1
  202 appointment at 999 (no such company), a call to company 85's number with no company_id:
      the phone source says 85, but a relation row (appointments) says 999 -> unknown_tenant
  customer 5 (company 1, never NULL) gets an appointment at 15 before the run: an older isolation hole
  that the run never writes; the plan names it, post_validation only warns, the daily validation fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import validation
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import OlderMismatch
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")

LARAVEL_ROWS = [
    "insert into customers (id, company_id, name, email, created_at, updated_at) values"
    " (201, null, 'Child Says Other', 'child.other@example.org', '2025-09-29 08:00:00', '2025-09-29 08:00:00'),"
    " (202, null, 'Ghost Child', 'ghost.child@example.org', '2025-09-29 08:01:00', '2025-09-29 08:01:00')",
    "insert into appointments (id, company_id, customer_id, starts_at, created_at, updated_at) values"
    " (2001, 1, 201, '2025-10-01 09:00:00', '2025-09-29 09:00:00', '2025-09-29 09:00:00'),"
    " (2002, 999, 202, '2025-10-01 09:00:00', '2025-09-29 09:00:00', '2025-09-29 09:00:00'),"
    " (2003, 15, 5, '2025-10-01 09:00:00', '2025-09-29 09:00:00', '2025-09-29 09:00:00')",
    "insert into calls (id, company_id, customer_id, from_number, to_number, created_at, updated_at) values"
    " (2001, 15, 201, '+491710000201', '+493000000015', '2025-09-29 09:00:00', '2025-09-29 09:00:00'),"
    " (2002, null, 202, '+491710000202', '+493000000085', '2025-09-29 09:00:00', '2025-09-29 09:00:00')",
]


@pytest.fixture
def laravel_db(edge_db):
    with edge_db.connect() as db, db.transaction():
        for statement in LARAVEL_ROWS:
            db.execute(statement)
    return edge_db


def outcome_counts(outcomes: dict) -> dict:
    """The plan's outcome counts, flattened to what the run's own numbers can be compared with."""
    return {
        "backfill": {name: v["active"] + v["soft_deleted"] for name, v in outcomes["backfill"].items()},
        "review": {
            reason: outcomes[reason]["active"] + outcomes[reason]["soft_deleted"]
            for reason in ("conflict", "no_tenant_evidence", "unknown_tenant")
        },
        "orphans": outcomes["orphan"]["active"],
    }


def test_the_dry_run_predicts_the_real_run_and_its_gate_passes(laravel_db):
    plan = phases.run_all(laravel_db, SPEC, RunContext(run_id="dry", dry_run=True))
    predicted = outcome_counts(plan.outcomes.to_dict())
    # data set 1+2 alone: conflict 3, unknown 2 (test_edge_cases); 201 adds a conflict, 202 an unknown tenant
    assert predicted == {
        "backfill": {"appointments": 31, "phone": 3},
        "review": {"conflict": 4, "no_tenant_evidence": 2, "unknown_tenant": 3},
        "orphans": 3,
    }
    assert plan.relation_mismatches_before_run == {
        "appointments": OlderMismatch(rows=1, sample_ids=(5,)),
        "calls": OlderMismatch(rows=0, sample_ids=()),
    }
    saved = json.loads(Path(plan.plan_file).read_text(encoding="utf-8"))
    assert saved["relation_mismatches_before_run"]["appointments"] == {"rows": 1, "sample_ids": [5]}

    summary = phases.run_all(laravel_db, SPEC, RunContext(run_id="real", dry_run=False))
    phase = summary.phases
    assert phase.backfill("appointments").backfilled == 31
    assert phase.backfill("phone").backfilled == 3
    assert phase.review.by_reason == {"conflict": 4, "no_tenant_evidence": 2, "unknown_tenant": 3}
    assert phase.orphans.soft_deleted == 3
    assert summary.audited == {"backfill": 34, "soft_delete": 3}
    assert summary.backed_up == 37
    assert summary.status == "succeeded"
    # the older hole is listed as a warning (as preflight found it), not a failure
    gate = {r.check: r for r in summary.post_validation}
    assert gate["relation_mismatch:appointments"].success is True
    assert summary.relation_mismatches_before_run["appointments"] == OlderMismatch(rows=1, sample_ids=(5,))

    rows = customers(laravel_db)
    assert (rows[201]["company_id"], rows[202]["company_id"]) == (None, None)
    queue = {
        r["row_id"]: (r["reason"], r["candidates"])
        for r in query(laravel_db, "select row_id, reason, candidates from tenant_review_queue where row_id > 200")
    }
    assert queue == {
        201: ("conflict", "source1=1:1 source2=15:1 relations=1;15"),
        202: ("unknown_tenant", "source1=999:1 source2=85:1 relations=999"),
    }
    assert query(laravel_db, "select count(*) as n from tenant_audit_log where row_id in (201, 202)")[0]["n"] == 0


def test_the_daily_validation_keeps_failing_on_the_older_hole(laravel_db):
    phases.run_all(laravel_db, SPEC, RunContext(run_id="real", dry_run=False))
    report = validation.validate(laravel_db, SPEC, "standard", "daily-1")
    failed = {c.check: c for c in report.failed}
    assert failed["relation_mismatch:appointments"].sample == [5]
    assert failed["relation_mismatch:appointments"].observed == 1
