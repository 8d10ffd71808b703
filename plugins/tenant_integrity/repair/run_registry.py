"""The run registry: every writing run (a backfill, a rollback, a review import, a constraints step) registers in
tenant_runs before its first write and closes there with its status and result; a retry finds its registration and
resumes under the same run_no."""

from __future__ import annotations

import json

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.repair.results import Plan
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database, DbTarget


def registered_run(db: Database, spec: Spec, ctx: RunContext) -> dict | None:
    """This run's row in tenant_runs, or None before it registered."""
    rows = db.rows(
        sql.render("bookkeeping/get_run.sql"), {"run_id": ctx.run_id, "spec": spec.name, "dag_id": ctx.dag_id}
    )
    db.commit()
    return rows[0] if rows else None


def _run_row(db: Database, spec: Spec, ctx: RunContext) -> dict:
    row = registered_run(db, spec, ctx)
    if row is None:
        raise runner.error(spec, "run", f"run {ctx.run_id!r} is not registered; preflight must run first")
    return row


def register_run(target: DbTarget, spec: Spec, ctx: RunContext) -> int:
    """Create the bookkeeping tables if needed and record this real run; return its run_no."""
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        bookkeeping.ensure_tables(db, spec, columns)
        with db.transaction():
            db.execute(
                sql.render("bookkeeping/insert_run.sql", spec),
                {"run_id": ctx.run_id, "spec": spec.name, "dag_id": ctx.dag_id, "table_name": spec.target.table},
            )
        return int(_run_row(db, spec, ctx)["run_no"])


def reject_run(target: DbTarget, spec: Spec, plan: Plan, rejected_by: str) -> None:
    """A person rejected the plan: the run registered at preflight ends `rejected`, having written nothing."""
    close_run(target, plan.run_no, "rejected", {"rejected_by": rejected_by})


def close_run(target: DbTarget, run_no: int, status: str, summary: dict) -> None:
    """End a registered run (backfill, review import, rollback) with its status and JSON summary."""
    with target.connect() as db, db.transaction():
        db.execute(
            sql.render("bookkeeping/finish_run.sql"),
            {"status": status, "summary": json.dumps(summary, default=str), "run_no": run_no},
        )
