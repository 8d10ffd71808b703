"""Pause, resume and cancel a run between two chunks (the operator's controls), on the real MariaDB."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine import controls
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")
BACKFILLED = list(range(30, 58))  # the seed incident: customers 30-57 get company 1 from their appointments


def audited(target, run_id: str) -> int:
    return query(target, "select count(*) as n from tenant_audit_log where run_id = %(r)s", {"r": run_id})[0]["n"]


def prepared(target, run_id: str, **settings):
    ctx = RunContext(run_id=run_id, dry_run=False, workers=1, **settings)
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    return ctx, plan


@pytest.mark.parametrize("scope", ["customers_company", controls.EVERY_RUN])
def test_a_paused_run_holds_its_writers_while_the_task_runs_and_resume_finishes_it(seed_db, caplog, scope):
    ctx, plan = prepared(seed_db, "paused", batch_size=5)
    controls.request(seed_db, controls.PAUSE, scope, requested_by="ops@example.org")
    done: dict = {}
    worker = threading.Thread(
        target=lambda: done.update(result=phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments"))
    )
    with caplog.at_level(logging.INFO, logger="tenant_integrity.engine.controls"):
        worker.start()
        deadline = time.monotonic() + 30
        while "paused (pause of" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        # held: no chunk commits for 3 s while the task is still running
        counts = []
        for _ in range(4):
            counts.append(audited(seed_db, "paused"))
            time.sleep(1)
        assert worker.is_alive()
        assert counts == [0, 0, 0, 0]
        whom = "every run on this database" if scope == controls.EVERY_RUN else "spec customers_company"
        assert f"paused (pause of {whom} by ops@example.org at " in caplog.text
        controls.release(seed_db, controls.PAUSE, scope)
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert done["result"].backfilled == 28
    assert "resumed after" in caplog.text
    rows = query(seed_db, "select row_id from tenant_audit_log where run_id = 'paused' order by row_id")
    assert [r["row_id"] for r in rows] == BACKFILLED


def test_a_cancel_ends_the_task_after_the_chunk_and_a_cleared_task_resumes_from_its_checkpoint(seed_db):
    ctx, plan = prepared(seed_db, "cancelled", batch_size=5)
    with seed_db.connect() as db:  # the operator presses Cancel the moment the run writes customer 40
        db.execute(
            "create trigger ops_cancels after update on customers for each row"
            " if new.id = 40 and old.company_id is null then"
            " insert into tenant_run_controls (action, scope, run_id, requested_by, requested_at)"
            " values ('cancel', 'customers_company', 'cancelled', 'ops@example.org', utc_timestamp(6));"
            " end if"
        )
        db.commit()
    with pytest.raises(controls.RunCancelled) as cancelled:
        phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert "cancelled (cancel of spec customers_company, run cancelled by ops@example.org" in str(cancelled.value)
    assert "clear the task to resume from its checkpoint" in str(cancelled.value)
    # the chunk that wrote customer 40 committed whole, and nothing after it
    checkpoint = query(seed_db, "select last_key from tenant_checkpoints where run_no = %(n)s", {"n": plan.run_no})[0][
        "last_key"
    ]
    assert checkpoint >= 40
    written = [r["row_id"] for r in query(seed_db, "select row_id from tenant_audit_log order by row_id")]
    assert written == [i for i in BACKFILLED if i <= checkpoint]
    backups = query(seed_db, "select count(*) as n from tenant_backup_customers")[0]["n"]
    assert backups == len(written)
    assert controls.open_requests(seed_db) == []  # honoured once: clearing the task resumes it

    result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")  # the cleared task
    assert result.resumed_after == checkpoint
    assert result.backfilled == 28  # what the source did in this run, both attempts
    rows = query(seed_db, "select row_id, count(*) as n from tenant_audit_log group by row_id order by row_id")
    assert [(r["row_id"], r["n"]) for r in rows] == [(i, 1) for i in BACKFILLED]


def test_bad_requests_are_named():
    from tenant_integrity.core.errors import ParamError

    with pytest.raises(ParamError, match="cancel names one run"):
        controls.request(None, controls.CANCEL, controls.EVERY_RUN)
    with pytest.raises(ParamError, match="action must be pause or cancel"):
        controls.request(None, "stop", "customers_company")


def test_the_command_line_pauses_resumes_and_cancels(seed_db, monkeypatch, capsys):
    from tenant_integrity.cli.main import main
    from tests.conftest import url_of

    monkeypatch.setenv("AIRFLOW_CONN_TENANT_DB", url_of(seed_db))
    assert main(["pause", "--all", "--by", "ops"]) == 0
    assert main(["cancel", "--spec", "customers_company", "--run-id", "r-1", "--by", "ops"]) == 0
    assert main(["cancel", "--spec", "customers_company"]) == 2  # a cancel names its run
    assert [(r.action, r.scope, r.run_id, r.requested_by) for r in controls.open_requests(seed_db)] == [
        ("pause", "*", "", "ops"),
        ("cancel", "customers_company", "r-1", "ops"),
    ]
    assert main(["resume", "--all"]) == 0
    assert main(["controls"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("cancel of spec customers_company, run r-1 by ops at ")
