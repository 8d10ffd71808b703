"""tenant_rollback: undo one run from its backup, without overwriting what the application did since.

A row is restored (every backed-up column, updated_at and the soft-delete column included) only
if it is exactly as the run left it: the columns the run wrote still hold what it wrote, and every
other column still equals the backup. Any other row is left alone and listed. Each chunk is one
transaction: lock, back up the current rows (under the rollback's own run id), audit every value
about to change (action `rollback`, source = the run rolled back), restore, then compare every
restored row with its backup, column by column — one that differs (an application trigger rewrote
it on the restore's UPDATE) rolls the chunk back whole and fails the rollback naming the chunk.
"""

from __future__ import annotations

import dataclasses
import logging

from tenant_integrity.core.errors import ChunkError, ParamError, TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.engine.recipe import ChunkResult, Recipe
from tenant_integrity.engine.session import SAMPLE_IDS
from tenant_integrity.engine.write_step import ScratchStatements, scratch_statements
from tenant_integrity.repair.phases import close_run, register_run
from tenant_integrity.repair.results import RollbackResult
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import DbTarget

log = logging.getLogger(__name__)


def rollback_from_params(target: DbTarget, spec: Spec, ctx: RunContext, params: dict) -> RollbackResult:
    run_id = params.get("backfill_run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        raise ParamError(
            "backfill_run_id is required: the run_id of the tenant_backfill (or review import) run to undo"
        )
    return rollback_run(target, spec, ctx, run_id.strip())


def rollback_run(target: DbTarget, spec: Spec, ctx: RunContext, run_id: str) -> RollbackResult:
    """Restore what run `run_id` changed on the spec's table; returns restored and skipped rows."""
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        names = [c["raw"] for c in bookkeeping.target_columns(spec, columns)]
        if "tenant_audit_log" not in bookkeeping.read_schema(db, ["tenant_audit_log"])[0]:
            raise TenantIntegrityError(f"spec {spec.name!r}: no run has written anything yet (no tenant_audit_log)")
        params = {"run_id": run_id, "table_name": spec.target.table}
        counts = db.rows(sql.render("rollback/count_changed_rows.sql", spec), params)[0]
        db.commit()
    changed, already = int(counts["changed_rows"]), int(counts["already_restored"])
    if changed == 0:
        raise TenantIntegrityError(
            f"spec {spec.name!r}, table {spec.target.table!r}: run {run_id!r} changed no rows (unknown run id, or a dry run)"
        )
    key, written = spec.target.key, spec.written_columns
    render = {
        "other_columns": [sql.quote(n) for n in names if n != key and n not in written],
        "restore_columns": [sql.quote(n) for n in names if n != key],
        "all_columns": [sql.quote(n) for n in names],
    }
    if not ctx.dry_run:
        ctx = dataclasses.replace(ctx, run_no=register_run(target, spec, ctx))
    walk = RollbackWalk(spec, ctx, run_id, render, changed - already)
    try:
        done = runner.run(target, spec, dataclasses.replace(ctx, workers=1), walk)
    except TenantIntegrityError as exc:
        if not ctx.dry_run:  # a retry or a clear re-registers the run as running and resumes it
            close_run(target, ctx.run_no, "failed", {"rolled_back_run": run_id, "error": str(exc)})
        raise
    skipped = done.notes
    if skipped:
        log.warning(
            "spec %s: %s rows changed since run %s were left alone: %s",
            spec.name,
            len(skipped),
            run_id,
            [s["row_id"] for s in skipped[:SAMPLE_IDS]],
        )
    restored = done.rows if ctx.dry_run else _restored_by(target, spec, ctx, run_id)
    log.info("rollback of %s: %s restored, %s left alone", run_id, restored, len(skipped))
    result = RollbackResult(
        rolled_back_run=run_id,
        changed_rows=changed,
        already_restored=already,
        restored=restored,
        skipped_rows=len(skipped),
        skipped=tuple(skipped[:SAMPLE_IDS]),
        chunks_verified=0 if ctx.dry_run else done.chunks,
        chunk_stats=done.chunk_stats,
        resumed_after=done.resumed_after,
        retries=done.retries,
        dry_run=ctx.dry_run,
    )
    if not ctx.dry_run:
        close_run(target, ctx.run_no, "succeeded", result.to_dict())
    return result


def _restored_by(target: DbTarget, spec: Spec, ctx: RunContext, run_id: str) -> int:
    params = {"rollback_run_id": ctx.run_id, "table_name": spec.target.table, "run_id": run_id}
    with target.connect() as db:
        restored = int(db.scalar(sql.render("rollback/restored_by_run.sql", spec), params) or 0)
        db.commit()
    return restored


class RollbackWalk(Recipe):
    """The rows a run changed, walked over its audit rows in the audit's key order (not yet restored ones only)."""

    phase = "rollback"

    def __init__(self, spec: Spec, ctx: RunContext, run_id: str, render: dict, total: int):
        self.spec, self.ctx, self.render, self.total = spec, ctx, render, total
        self.read_only = ctx.dry_run
        self.params = {
            "run_id": run_id,
            "table_name": spec.target.table,
            **{f"written_column_{number}": column for number, column in enumerate(spec.written_columns, start=1)},
            "spec": spec.name,
            "rollback_run_id": ctx.run_id,
        }
        self.next_end_sql = sql.render("rollback/next_chunk_end.sql", spec)

    def prepare(self, db):
        return scratch_statements(db, self.spec)

    def count(self, db) -> int:
        return self.total

    def first_key(self, db, until):
        return self.spec.target_key.lowest

    def next_end(self, db, after, size: int, until):
        row = db.rows(self.next_end_sql, {**self.params, "after": after, "batch_size": size})[0]
        if row["chunk_end"] is None:
            return None
        return self.spec.target_key.parse(row["chunk_end"]), int(row["chunk_rows"])

    def process(self, db, statements, lo, hi, samples_wanted: int) -> ChunkResult:
        chunk = {**self.params, "lo": lo, "hi": hi}
        restored, skipped = _chunk(db, self.spec, self.ctx, statements, self.render, chunk)
        return ChunkResult(rows=restored, notes=skipped)


def _chunk(
    db, spec: Spec, ctx: RunContext, statements: ScratchStatements, render: dict, chunk: dict
) -> tuple[int, list[dict]]:
    if not ctx.dry_run:
        db.execute(sql.render("rollback/lock_chunk.sql", spec), chunk)
    skipped = [
        {
            "row_id": spec.target_key.parse(r["row_id"]),
            "reason": "changed since the run" if r["backed_up"] else "no backup row",
        }
        for r in db.rows(sql.render("rollback/skipped_rows.sql", spec, **render), chunk)
    ]
    if ctx.dry_run:  # read-only: count what would be restored, write nothing (not even the scratch table)
        count = int(db.scalar(sql.render("rollback/count_chunk_rows.sql", spec, **render), chunk))
        return count - len(skipped), skipped
    db.execute(statements.clear)
    db.execute(sql.render("rollback/decide_chunk.sql", spec, **render), chunk)
    decided = int(db.scalar(statements.count))
    if not decided:
        return 0, skipped
    # the rollback's own backup: the rows as they are now, before they are restored
    own = {**chunk, "run_id": ctx.run_id}
    db.execute(statements.backup, own)
    if int(db.scalar(statements.backed_up_rows, own)) != decided:
        raise ChunkError(
            f"spec {spec.name!r}, phase 'rollback', keys ({chunk['lo']}, {chunk['hi']}]: backup count differs"
        )
    for column in spec.written_columns:
        db.execute(
            sql.render("rollback/audit_restore.sql", spec, column=sql.quote(column)), {**chunk, "column_name": column}
        )
    db.execute(sql.render("rollback/restore_chunk.sql", spec, **render), chunk)
    db.execute(sql.render("rollback/reopen_review_rows.sql", spec), chunk)
    differing = [r["row_id"] for r in db.rows(sql.render("rollback/compare_chunk.sql", spec, **render), chunk)]
    if differing:
        raise ChunkError(
            f"spec {spec.name!r}, phase 'rollback', table {spec.target.table!r}, keys ({chunk['lo']}, {chunk['hi']}]: "
            f"{len(differing)} restored row(s) do not match the backup (ids {differing[:SAMPLE_IDS]}); "
            "chunk rolled back"
        )
    return decided, skipped
