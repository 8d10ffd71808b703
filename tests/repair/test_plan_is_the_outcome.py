"""The plan is the outcome, on generated data: for each seed, a dry run's counts equal the real run's, the real
run's post_validation passes, and no row is written with a tenant that one of its relation rows contradicts.

Every seed makes 40 customers on the demo schema (no change marker written: the data predates the run),
with appointments and calls whose company_id is drawn from existing companies, a missing one (999) and
NULL, and calls to numbers of existing companies, of the missing one, and to unknown numbers: every
outcome and every disagreement between sources and relation rows turns up across the seeds.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")
COMPANIES = (1, 2, 3, 4)
TENANT_CHOICES = (1, 2, 3, 4, 999, None)  # 999 does not exist
NUMBERS = {1: "+4930001", 2: "+4930002", 3: "+4930003", 4: "+4930004", 999: "+4930999"}
CREATED = "2025-01-01 00:00:00"


def generate(target, seed: int) -> None:
    rng = random.Random(seed)
    rows = {"customers": [], "appointments": [], "calls": []}
    for customer in range(1, 41):
        tenant = None if rng.random() < 0.6 else rng.choice(COMPANIES)
        deleted = CREATED if rng.random() < 0.1 else None
        rows["customers"].append((customer, tenant, f"c{customer}", deleted))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            rows["appointments"].append((len(rows["appointments"]) + 1, rng.choice(TENANT_CHOICES), customer))
        for _ in range(rng.choice((0, 0, 1, 2))):
            number = rng.choice([*NUMBERS.values(), "+4939999"])  # the last one belongs to nobody
            rows["calls"].append((len(rows["calls"]) + 1, rng.choice(TENANT_CHOICES), customer, number))
    with target.connect() as db, db.transaction():
        db.execute("insert into companies (id, name) values (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
        for number, (company, phone) in enumerate(NUMBERS.items(), start=1):
            db.execute(
                "insert into phone_numbers (id, company_id, number) values (%(i)s, %(c)s, %(n)s)",
                {"i": number, "c": company, "n": phone},
            )
        db.execute_many(
            "insert into customers (id, company_id, name, created_at, updated_at, deleted_at)"
            f" values (%(0)s, %(1)s, %(2)s, '{CREATED}', '{CREATED}', %(3)s)",
            [dict(zip("0123", row, strict=True)) for row in rows["customers"]],
        )
        db.execute_many(
            "insert into appointments (id, company_id, customer_id, starts_at, created_at, updated_at)"
            f" values (%(0)s, %(1)s, %(2)s, '{CREATED}', '{CREATED}', '{CREATED}')",
            [dict(zip("012", row, strict=True)) for row in rows["appointments"]],
        )
        db.execute_many(
            "insert into calls (id, company_id, customer_id, from_number, to_number, created_at, updated_at)"
            f" values (%(0)s, %(1)s, %(2)s, '+49170', %(3)s, '{CREATED}', '{CREATED}')",
            [dict(zip("0123", row, strict=True)) for row in rows["calls"]],
        )


@pytest.mark.parametrize("seed", range(8))
def test_a_dry_run_predicts_the_real_run_on_generated_data(seed, review_dir):
    target = new_target()
    try:
        demo.recreate_database(target, "schema_only")
        generate(target, seed)
        plan = phases.run_all(target, SPEC, RunContext(run_id="dry", dry_run=True, batch_size=7))
        # batch 7 and two workers: several chunks per share, and shares that meet inside the data
        summary = phases.run_all(target, SPEC, RunContext(run_id="real", dry_run=False, batch_size=7))

        outcomes = plan.outcomes.to_dict()
        assert summary.status == "succeeded"
        for source in SPEC.evidence:
            predicted = outcomes["backfill"][source.name]
            assert summary.phases.backfill(source.name).backfilled == sum(predicted.values()), source.name
        predicted_review = {
            reason: outcomes[reason]["active"] + outcomes[reason]["soft_deleted"]
            for reason in ("conflict", "no_tenant_evidence", "unknown_tenant")
        }
        assert summary.phases.review.by_reason == {k: v for k, v in predicted_review.items() if v}
        assert summary.phases.orphans.soft_deleted == outcomes["orphan"]["active"]
        assert sum(summary.audited.values()) == plan.planned_changes

        # no written tenant is contradicted by a relation row (appointments, calls)
        contradicted = query(
            target,
            "select a.row_id, a.new_value, c.company_id from tenant_audit_log as a"
            " join (select customer_id, company_id from appointments union all"
            "       select customer_id, company_id from calls) as c on c.customer_id = a.row_id"
            " where a.action = 'backfill' and c.company_id is not null and c.company_id <> a.new_value",
        )
        assert contradicted == []
        # every review reason and outcome shows up somewhere across the seeds; per seed, at least two kinds
        kinds = Counter({k: v for k, v in predicted_review.items() if v})
        kinds["backfill"] = sum(sum(v.values()) for v in outcomes["backfill"].values())
        assert len(+kinds) >= 2
    finally:
        drop(target)
