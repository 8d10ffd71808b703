"""touch_updated_at: the run sets the change marker on every row it writes, audits it, and undoes it.

The gates still tell the run's writes from the application's: a marker at or after the run's start counts
as the application's unless it equals the value this run audited for that row (the chunk's clock).
"""

from __future__ import annotations

import yaml

from tenant_integrity.core.paths import SPECS_DIR
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import parse_spec
from tenant_integrity.repair import phases, rollback
from tests.helpers.dbcheck import customers, query

RAW = yaml.safe_load((SPECS_DIR / "customers_company.yaml").read_text(encoding="utf-8"))
RAW["target"]["touch_updated_at"] = True
SPEC = parse_spec("customers_company", yaml.safe_dump(RAW))


def test_the_marker_is_set_audited_not_mistaken_for_the_application_and_rolled_back(seed_db):
    with seed_db.connect() as db:
        # a NULL-tenant row inside the run's keys that it walks but must leave alone: soft-deleted, no evidence
        db.execute(
            "insert into customers (id, company_id, name, created_at, updated_at, deleted_at)"
            " values (61, null, 'Left alone', '2024-01-01 00:00:00', '2024-01-02 00:00:00', '2024-01-03 00:00:00')"
        )
        db.commit()
    before = customers(seed_db)
    started = query(seed_db, "select now() as now")[0]["now"]
    summary = phases.run_all(seed_db, SPEC, RunContext(run_id="touch", dry_run=False))

    assert summary.status == "succeeded"
    assert summary.audited == {"backfill": 56, "soft_delete": 6}  # 28 tenants + 3 orphans, each with its marker
    assert summary.backed_up == 31
    writes = summary.application_writes
    assert (writes["existing_rows_written_by_application"]["rows"], writes["null_tenant_arrived"]["rows"]) == (0, 0)
    after = customers(seed_db)
    # the marker moves on the rows the run wrote (its audit says which) and on no other: not on row 61, which
    # its chunks walked and locked but did not write
    written = {r["row_id"] for r in query(seed_db, "select distinct row_id from tenant_audit_log")}
    assert [key for key in after if key not in written and after[key]["updated_at"] != before[key]["updated_at"]] == []
    changed = [key for key in after if after[key] != before[key]]
    assert changed == list(range(30, 61))
    assert all(after[key]["updated_at"] >= started.replace(microsecond=0) for key in changed)
    marks = query(
        seed_db,
        "select a.row_id, a.new_value, cast(c.updated_at as char) as now_value from tenant_audit_log as a"
        " join customers as c on c.id = a.row_id where a.column_name = 'updated_at'",
    )
    assert len(marks) == 31 and all(m["new_value"] == m["now_value"] for m in marks)

    undone = rollback.rollback_run(
        seed_db, SPEC, RunContext(run_id="rb", dry_run=False, dag_id="tenant_rollback"), "touch"
    )
    assert (undone.changed_rows, undone.restored, undone.skipped) == (31, 31, ())
    assert customers(seed_db) == before
