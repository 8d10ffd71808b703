"""The demo's data set (incident_graph): the seed's whole plan takes every demo tenant table from
`needs_backfill` to `ok` — repair in run order, one clean validation, NOT NULL + FK with the orphans archived —
with exact numbers per table and per row (what `make demo` shows through Airflow)."""

from __future__ import annotations

import pytest

from tenant_integrity.core.run_order import resolve
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.enforce import constraints
from tenant_integrity.graph.discovery import discover
from tenant_integrity.monitoring import validation
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import Counts
from tests.conftest import _demo_database
from tests.helpers.dbcheck import query


@pytest.fixture
def graph_db(review_dir):
    yield from _demo_database("incident_graph")


def statuses(target) -> dict[str, tuple[str, str]]:
    return {t.table: (str(t.null_rows), t.status) for t in discover(target, "company_id", "companies").tables}


def tenants(target, table: str, ids: list[int]) -> dict[int, int | None]:
    rows = query(target, f"select id, company_id from {table} where id in ({', '.join(map(str, ids))})")
    return {r["id"]: r["company_id"] for r in rows}


def test_the_demo_graph_ends_with_every_table_ok(graph_db):
    assert statuses(graph_db) == {
        "appointments": ("3 (3/0)", "needs_backfill"),
        "calls": ("14 (14/0)", "needs_backfill"),
        "customers": ("31 (31/0)", "needs_backfill"),
        "phone_numbers": ("0 (0/0)", "needs_constraint"),  # NOT NULL already; no spec, no FK: left as it is
    }

    specs = [load_spec(o.spec) for o in resolve(None, ["all"])]
    assert [s.name for s in specs] == ["customers_company", "appointments_company", "calls_company"]
    ctx = RunContext(run_id="demo-1", dry_run=False)
    summaries = [phases.run_all(graph_db, spec, ctx) for spec in specs]
    assert [(s.spec, s.status, s.backed_up, s.audited, s.null_rows_after) for s in summaries] == [
        ("customers_company", "succeeded", 31, {"backfill": 28, "soft_delete": 3}, Counts(0, 3)),
        ("appointments_company", "succeeded", 3, {"backfill": 3}, Counts(0, 0)),
        ("calls_company", "succeeded", 14, {"backfill": 14}, Counts(0, 0)),
    ]
    # parents first: the rows whose customer was NULL until customers_company ran took its repaired tenant
    assert tenants(graph_db, "appointments", [201, 202, 203]) == {201: 1, 202: 1, 203: 15}
    assert tenants(graph_db, "calls", [201, 202, 203, 204]) == {201: 1, 202: 15, 203: 83, 204: 85}
    assert statuses(graph_db) == {
        "appointments": ("0 (0/0)", "needs_constraint"),
        "calls": ("0 (0/0)", "needs_constraint"),
        "customers": ("3 (0/3)", "needs_archive"),  # the seed's soft-deleted orphans 58-60
        "phone_numbers": ("0 (0/0)", "needs_constraint"),
    }

    ctx = RunContext(run_id="demo-constraints", dry_run=False, dag_id="tenant_constraints")
    # one clean validation stands in for the default's 7 clean days (as in `make demo`)
    for spec in specs:
        assert validation.validate(graph_db, spec, "comprehensive", "demo-validation").passed, spec.name
        result = constraints.apply_constraints(graph_db, spec, ctx, clean_days=1, archive=True)
        assert (result.not_null, result.foreign_key) == (True, f"fk_{spec.target.table}_company_id")
        assert (result.archive.archived_ids if result.archive else ()) == (
            (58, 59, 60) if spec.name == "customers_company" else ()
        )
    assert statuses(graph_db) == {
        "appointments": ("0 (0/0)", "ok"),
        "calls": ("0 (0/0)", "ok"),
        "customers": ("0 (0/0)", "ok"),
        "phone_numbers": ("0 (0/0)", "needs_constraint"),
    }
