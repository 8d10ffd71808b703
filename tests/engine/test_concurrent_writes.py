"""Issue 6.2 with a real race: an application process writes the whole time a real backfill runs.

A generated data set (the bench generator, 4000 customers) and small chunks, so the run spans many
transactions; tests/helpers/app_writer.py writes from its own process and connection until the last
write phase has finished. Then, for every write the application committed:
nothing is lost or overwritten; the run's own writes are audited and backed up exactly once;
the gates pass; and the NULL-tenant rows the run did not handle are exactly the ones its summary
says arrived during the run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.conftest import PROJECT, url_of
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")


def run_while_the_application_writes(target, tmp_path) -> tuple[dict, list]:
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, str(PROJECT / "tests/helpers/app_writer.py"), url_of(target), "7", str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ctx = RunContext(run_id="race-1", dry_run=False, batch_size=25, chunk_seconds=0.01)
        plan = phases.preflight(target, SPEC, ctx)
        results = phases.run_writes(target, SPEC, ctx, plan)
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    # the writer stops before post_validation, so the summary's lists can be checked against the final state
    return phases.post_validation(target, SPEC, ctx, plan, results), json.loads(out)


def last_writes(log: list) -> dict:
    """(id, column) -> (value, started_at) of the application's last committed write."""
    latest = {}
    for kind, row_id, value, started in log:
        latest[(row_id, kind)] = (value, dt.datetime.fromisoformat(started))
    return latest


def test_no_application_write_is_lost_and_arrivals_are_reported(generated_db, tmp_path):
    summary, log = run_while_the_application_writes(generated_db, tmp_path)
    after = customers(generated_db)
    audit = query(
        generated_db,
        "select row_id, column_name, new_value, action, created_at from tenant_audit_log where run_id = 'race-1'",
    )
    audited = {(a["row_id"], a["column_name"]): a for a in audit}

    # the writer ran while the run wrote: it started before the run's first audited change and kept going
    kinds = {kind for kind, *_ in log}
    assert kinds == {"company_id", "name", "insert", "deleted_at"}, kinds
    started = sorted(dt.datetime.fromisoformat(w[3]) for w in log)
    first, last = min(a["created_at"] for a in audit), max(a["created_at"] for a in audit)
    assert started[0] < first
    assert sum(first < s < last for s in started) >= 20
    assert summary.status == "succeeded", summary.post_validation_error

    # the run's writes: exactly one audit row per changed value and one backup row per changed row
    assert len(audited) == len(audit)
    backups = query(
        generated_db,
        "select id, count(*) as n from tenant_backup_customers where backup_run_id = 'race-1' group by id",
    )
    assert all(b["n"] == 1 for b in backups)
    assert {a["row_id"] for a in audit} <= {b["id"] for b in backups}

    # nothing the application committed was lost or overwritten
    max_key_before = query(generated_db, "select max_key_before from tenant_runs where run_id = 'race-1'")[0]
    inserted = sorted(
        row_id for kind, row_id, *_ in log if kind == "insert" and row_id > max_key_before["max_key_before"]
    )
    assert inserted
    for (row_id, column), (value, when) in last_writes(log).items():
        row = after[row_id]
        if column == "insert" and row_id in inserted:  # after preflight: out of the run's scope
            assert (row_id, "company_id") not in audited and (row_id, "deleted_at") not in audited
        elif column == "name":
            assert row["name"] == value, row_id
        elif column == "deleted_at":
            assert row["deleted_at"] == dt.datetime.fromisoformat(value), row_id
        elif value is not None:
            assert row["company_id"] == value, row_id  # a tenant the application set is never overwritten
        elif row["company_id"] is not None:
            # the application NULLed it and the run, reaching it later, repaired it (audited after that write)
            repair = audited[(row_id, "company_id")]
            assert repair["created_at"] > when and int(repair["new_value"]) == row["company_id"], row_id

    # every NULL-tenant active row is under review or listed as having arrived during the run
    still_null = {
        r["id"]
        for r in query(
            generated_db,
            "select c.id from customers as c left join tenant_review_queue as q on q.row_id = c.id "
            "and q.status in ('open', 'skipped') "
            "where c.company_id is null and c.deleted_at is null and q.row_id is null",
        )
    }
    writes = summary.application_writes
    assert writes["null_tenant_arrived"]["rows"] == len(still_null)
    assert set(writes["null_tenant_arrived"]["ids"]) <= still_null
    assert set(inserted) - {i for (i, c), (v, _) in last_writes(log).items() if c == "deleted_at"} <= still_null
    assert writes["inserted"]["rows"] == len(inserted)
    assert writes["inserted"]["ids"] == inserted[:20]
