"""The phases of tenant_backfill, in order. Each opens its own connection and is safe to re-run.

preflight (preflight.py) -> backup -> one backfill per evidence source -> detect_conflicts -> export_review
-> soft_delete_orphans -> post_validation.

Writes happen in keyset chunks; one chunk is one transaction that locks its NULL-tenant rows,
decides them into a session scratch table, backs them up, audits them and writes them, guarded
by `tenant is null`. A chunk whose counts disagree is rolled back whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING

from tenant_integrity.checks import gates
from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.engine.chunk_log import chunk_stats
from tenant_integrity.repair import report
from tenant_integrity.repair.formatting import format_summary
from tenant_integrity.repair.preflight import CHECKSUM_RANGE, checksum_context, preflight
from tenant_integrity.repair.results import (
    BackfillResult,
    Backfills,
    BackupResult,
    ConflictsResult,
    Counts,
    OrphansResult,
    Outcome,
    PhaseResults,
    Plan,
    ReviewExport,
    Summary,
)
from tenant_integrity.repair.review_csv import write_review_csv
from tenant_integrity.repair.run_registry import close_run
from tenant_integrity.repair.walks import DecisionWalk
from tenant_integrity.store import bookkeeping, sql, storage
from tenant_integrity.store.db import DbTarget

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)


def post_validation_gate(target: DbTarget, spec: Spec, run_no: int) -> list:
    """The post_validation suite for a run (backfill or review import); raises GateFailed."""
    with target.connect() as db:
        fixed = checksum_context(spec, bookkeeping.validate_against_database(db, spec))
    return gates.run_gate(target, spec, "post_validation", run_no=run_no, **fixed)


def _writing(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan, phase: str) -> RunContext:
    """The context of a phase that writes: this run's number; refused outright for a dry run's plan
    (a dry run writes nothing, whatever the DAG around it skips or not).

    It also reads the key's kind into the spec (bookkeeping.resolve_target_key): in Airflow each phase is a
    task in a process of its own, which did not run preflight, and every statement about the run's keys
    (checkpoints, audit, review queue, the run's scope end, the summary) names the columns of that kind.
    """
    if ctx.dry_run or plan.dry_run or plan.run_no is None:
        raise runner.error(spec, phase, "refusing to write: this is a dry run (its plan registered no run)")
    with target.connect() as db:
        bookkeeping.resolve_target_key(db, spec)
    return dataclasses.replace(ctx, run_no=plan.run_no)


def backup(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> BackupResult:
    """Make the backup table ready to hold every column of the target, as it is now.

    The rows themselves are copied by the write chunks: each row's pre-image goes into the backup
    in the transaction that changes the row, under the same lock, just before the change (the write
    joins it). A copy taken earlier, in a pass of its own, would cost a second classification of
    every row and could be stale by the time the row is written.
    """
    ctx = _writing(target, spec, ctx, plan, "backup")
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        bookkeeping.ensure_tables(db, spec, columns)  # a column added to the target since preflight is added here
        missing = bookkeeping.backup_table_gaps(db, spec)
        with db.transaction():
            db.execute(
                sql.render("bookkeeping/set_run_planned.sql"),
                {"planned": plan.planned_changes, "run_no": ctx.run_no},
            )
    if missing:
        raise runner.error(spec, "backup", f"backup table {spec.backup_table!r} cannot hold target columns {missing}")
    return BackupResult(
        backup_table=spec.backup_table,
        columns=len(columns[spec.target.table]),
        planned_at_preflight=plan.planned_changes,
        chunk_stats=chunk_stats([]),
    )


def detect_conflicts(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> ConflictsResult:
    """Rows whose deciding source names several tenants, or whose relation rows disagree: queued for review.

    It runs after the backfills: they never write such a row (their decision excludes it), and by then
    only the undecided rows are left to read, a fraction of the NULL rows instead of all of them.
    """
    ctx = _writing(target, spec, ctx, plan, "detect_conflicts")
    result = runner.run(
        target, spec, ctx, DecisionWalk(spec, ctx, "detect_conflicts", "conflict", queue=True, lock=False)
    )
    if result.rows:
        log.warning(
            "spec %s: %s conflicting rows excluded from writes (ids %s)",
            spec.name,
            result.rows,
            result.sample_ids,
        )
    return ConflictsResult(
        conflicts=result.rows,
        sample_ids=tuple(result.sample_ids),
        chunk_stats=result.chunk_stats,
        workers=result.workers,
    )


def backfill_source(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan, source_name: str) -> BackfillResult:
    """Write the tenant of every row this source decides with exactly one tenant."""
    ctx = _writing(target, spec, ctx, plan, f"backfill_{source_name}")
    source_no = spec.source_number(source_name)
    walk = DecisionWalk(
        spec,
        ctx,
        f"backfill_{source_name}",
        "backfill",
        {"source_no": source_no, "source": source_name, "action": "backfill", "column_name": spec.target.tenant_column},
        audit="backfill/audit_tenant.sql",
        write="backfill/write_tenant.sql",
        sources=source_no,
        audit_values_per_row=len(spec.tenant_write_columns),
    )
    result = runner.run(target, spec, ctx, walk)
    with target.connect() as db:  # the audit is exact; a chunk whose commit acknowledgement was lost is counted too
        written = int(
            db.scalar(
                sql.render("report/audited_rows_for_source.sql", spec),
                {"run_id": ctx.run_id, "table_name": spec.target.table, "action": "backfill", "source": source_name},
            )
        )
        db.commit()
    return BackfillResult(
        source=source_name,
        backfilled=written,
        sample_ids=tuple(result.sample_ids),
        chunk_stats=result.chunk_stats,
        retries=result.retries,
        resumed_after=result.resumed_after,
        workers=result.workers,
    )


def backfill_in_priority_order(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> Backfills:
    """Every evidence source's backfill, in the spec's priority order (the DAG's one backfill task)."""
    return Backfills(tuple(backfill_source(target, spec, ctx, plan, source.name) for source in spec.evidence))


def export_review(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> ReviewExport:
    """Queue the rows with evidence but no usable tenant, and export every open review row of this run."""
    ctx = _writing(target, spec, ctx, plan, "export_review")
    queued = runner.run(target, spec, ctx, DecisionWalk(spec, ctx, "export_review", "review", queue=True, lock=False))
    path = storage.child(storage.run_path(spec.name, ctx.run_id), "review.csv")
    params = {"spec": spec.name, "table_name": spec.target.table, "run_no": ctx.run_no}
    with target.connect() as db:
        with db.transaction(read_only=True):  # streamed: the review rows grow with the table, memory must not
            rows = db.stream(sql.render("review/export_run.sql", spec), params)
            written = write_review_csv(path, spec.review_columns, rows, spec.mask_in_review)
        with db.transaction(read_only=True):
            by_reason = {r["reason"]: int(r["row_count"]) for r in db.rows(sql.render("review/count_run.sql"), params)}
    shown = storage.display(path)
    log.info("spec %s: %s rows for review in %s", spec.name, written, shown)
    return ReviewExport(review_rows=written, by_reason=by_reason, review_csv=shown, chunk_stats=queued.chunk_stats)


def soft_delete_orphans(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> OrphansResult:
    """Soft-delete active rows with no row in any evidence or relation table (orphans.action soft_delete)."""
    ctx = _writing(target, spec, ctx, plan, "soft_delete_orphans")
    deleted_at = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    if spec.orphans.action != "soft_delete":  # orphans went to review with the other rows a person decides
        return OrphansResult(soft_deleted=0, skipped=f"spec {spec.name}: orphans.action is review")
    walk = DecisionWalk(
        spec,
        ctx,
        "soft_delete_orphans",
        "soft_delete",
        {"source": "no_evidence", "action": "soft_delete", **sql.orphan_params(spec, deleted_at.isoformat(sep=" "))},
        audit="backfill/audit_soft_delete.sql",
        write="backfill/write_soft_delete.sql",
        audit_values_per_row=len(spec.orphan_write_columns),
    )
    result = runner.run(target, spec, ctx, walk)
    return OrphansResult(
        soft_deleted=result.rows,
        sample_ids=tuple(result.sample_ids),
        deleted_at=deleted_at.isoformat(sep=" "),
        chunk_stats=result.chunk_stats,
        workers=result.workers,
    )


def post_validation(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan, phases: PhaseResults) -> Summary:
    """Gate the finished run, then record and return its summary."""
    ctx = _writing(target, spec, ctx, plan, "post_validation")
    gates.start_loading_gx()  # overlaps the summary's queries
    folder = storage.run_path(spec.name, ctx.run_id)  # the report and its charts
    # drawn in a thread beside the summary's and the gate's queries
    charts = report.start_drawing_charts(target, spec, ctx.run_id, list(plan.distribution_before), folder)
    # older mismatches as preflight found them: the run wrote none of those rows, so its gate checks only its own
    summary = build_summary(target, spec, ctx, plan, phases)
    try:
        summary = dataclasses.replace(
            summary, post_validation=tuple(post_validation_gate(target, spec, ctx.run_no)), status="succeeded"
        )
    except TenantIntegrityError as exc:
        summary = dataclasses.replace(summary, status="failed_post_validation", post_validation_error=str(exc))
        raise
    finally:
        summary = _record(target, ctx, summary, folder, charts)
    log.info("summary:\n%s", format_summary(summary))
    return summary


def _record(target: DbTarget, ctx: RunContext, summary: Summary, folder: ObjectStoragePath, charts: Future) -> Summary:
    """Write the run report (once its charts are drawn) and store the summary, with the report's path, in tenant_runs."""
    with target.connect() as db:
        times = db.rows(sql.render("report/run_times.sql"), {"run_no": ctx.run_no})
    path = report.write_report(folder, summary, charts, times[0] if times else None)
    summary = dataclasses.replace(summary, report=storage.display(path))
    close_run(target, ctx.run_no, summary.status, summary.to_dict())
    log.info("run report: %s", summary.report)
    return summary


def build_summary(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan, phases: PhaseResults) -> Summary:
    params = {"run_id": ctx.run_id, "table_name": spec.target.table}
    with target.connect() as db, db.transaction(read_only=True):
        audited = {r["action"]: int(r["row_count"]) for r in db.rows(sql.render("report/audit_counts.sql"), params)}
        after = db.rows(sql.render("preflight/null_rows.sql", spec))[0]
        backed_up = db.scalar(sql.render("report/backup_count.sql", spec), {"run_id": ctx.run_id})
        during_run = report.application_writes(db, spec, ctx.run_no, CHECKSUM_RANGE)
    return Summary(
        spec=spec.name,
        table=spec.target.table,
        run_id=ctx.run_id,
        run_no=ctx.run_no,
        planned=plan,
        phases=phases,
        audited=audited,
        backed_up=int(backed_up or 0),
        null_rows_after=Counts(int(after["active"] or 0), int(after["soft_deleted"] or 0)),
        application_writes=during_run,
        relation_mismatches_before_run=plan.relation_mismatches_before_run,
        unknown_tenant_before_run=plan.unknown_tenant_before_run,
    )


def outcome(summary: Summary) -> Outcome:
    """What a finished run hands on (its task's return value): the counts and where to read the rest.

    The whole summary is in tenant_runs.summary and the run report; this stays a few hundred bytes
    whatever the table's size.
    """
    return Outcome.of(summary)


def run_all(target: DbTarget, spec: Spec, ctx: RunContext) -> Plan | Summary:
    """Every phase in DAG order, in this process: the CLI's and the tests' way to run a backfill.

    A dry run returns its plan; a real run its summary.
    """
    plan = preflight(target, spec, ctx)
    if ctx.dry_run:
        return plan
    return post_validation(target, spec, ctx, plan, run_writes(target, spec, ctx, plan))


def run_writes(target: DbTarget, spec: Spec, ctx: RunContext, plan: Plan) -> PhaseResults:
    """The phases between preflight and post_validation, in DAG order; returns their results."""
    return PhaseResults(
        backup=backup(target, spec, ctx, plan),
        backfills=backfill_in_priority_order(target, spec, ctx, plan).sources,
        conflicts=detect_conflicts(target, spec, ctx, plan),
        review=export_review(target, spec, ctx, plan),
        orphans=soft_delete_orphans(target, spec, ctx, plan),
    )
