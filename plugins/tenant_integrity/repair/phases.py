"""The phases of tenant_backfill, in order. Each opens its own connection and is safe to re-run.

preflight -> backup -> one backfill per evidence source -> detect_conflicts -> export_review
-> soft_delete_orphans -> post_validation.

Writes happen in keyset chunks; one chunk is one transaction that locks its NULL-tenant rows,
decides them into a session scratch table, backs them up, audits them and writes them, guarded
by `tenant is null`. A chunk whose counts disagree is rolled back whole.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING

from tenant_integrity.checks import gates
from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.engine.chunk_log import chunk_stats
from tenant_integrity.engine.recipe import ChunkResult, Recipe
from tenant_integrity.engine.write_step import ChunkWrite, ScratchStatements, scratch_statements, write_decided
from tenant_integrity.repair import report
from tenant_integrity.repair.formatting import format_plan, format_summary
from tenant_integrity.repair.results import (
    BackfillResult,
    Backfills,
    BackupResult,
    ConflictsResult,
    Counts,
    OlderMismatch,
    OrphansResult,
    Outcome,
    PhaseResults,
    Plan,
    Profile,
    ReviewExport,
    Summary,
)
from tenant_integrity.repair.review_csv import write_review_csv
from tenant_integrity.store import bookkeeping, privileges, sql, storage
from tenant_integrity.store.db import Database, DbTarget

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)


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


# --- preflight -----------------------------------------------------------------------------


def profile(target: DbTarget, spec: Spec, ctx: RunContext) -> Profile:
    """Count what the evidence says about every NULL-tenant row, chunk by chunk (read-only, paced by the engine)."""
    backfill = {e.name: [0, 0] for e in spec.evidence}
    reasons: dict[str, list[int]] = {}
    disagreeing = 0
    read = runner.run(target, spec, ctx, ProfileWalk(spec))
    for row in read.notes:
        state = 1 if row["soft_deleted"] else 0
        if row["outcome"] == "backfill":
            backfill[spec.evidence[row["source_no"] - 1].name][state] += int(row["row_count"])
            disagreeing += int(row["disagreeing_rows"] or 0)
        else:
            reasons.setdefault(row["outcome"], [0, 0])[state] += int(row["row_count"])
    return Profile(
        backfill={name: Counts(*counts) for name, counts in backfill.items()},
        later_source_disagrees=disagreeing,
        **{reason: Counts(*counts) for reason, counts in reasons.items()},
    )


def _review_preview(db: Database, spec: Spec, batch_size: int):
    statement = sql.render("backfill/review_preview_range.sql", spec)
    for lo, hi in null_row_chunks(db, spec, batch_size):
        with db.transaction(read_only=True):
            chunk = db.rows(statement, {"lo": lo, "hi": hi})
        yield from chunk


def preflight(target: DbTarget, spec: Spec, ctx: RunContext) -> Plan:
    """Validate the spec against the database, run the preflight gate, write the plan.

    A dry run writes nothing to the database: the plan and a review preview go to files.
    A real run registers itself in tenant_runs (the numbers later gates compare against).

    What a dry run cannot predict: what the application's UPDATE triggers on the target do to the rows the
    run writes. It runs no UPDATE, so they never fire, and their bodies are arbitrary SQL. A BEFORE UPDATE
    trigger that rewrites another column (a phone) of each row whose tenant changes leaves the dry run's plan
    and its preflight gate as they are; only the real run's post_validation shows it
    (written_rows_unchanged_beyond_tenant: each written row against its backup, named by id).
    """
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        privileges.require(db, spec, write=not ctx.dry_run, columns=columns)  # a real run fails here, before any write
        gates.start_loading_gx()  # overlaps the profile's queries
        counts = profile(target, spec, ctx)
        with db.transaction(read_only=True):
            null_rows = db.rows(sql.render("preflight/null_rows.sql", spec))[0]
        distribution_before = report.tenant_distribution(db, spec)
        preflight_checks = gates.run_gate(target, spec, "preflight")
        plan = Plan(
            spec=spec.name,
            table=spec.target.table,
            run_id=ctx.run_id,
            dry_run=ctx.dry_run,
            batch_size=ctx.batch_size,
            total_rows=int(null_rows["total_rows"]),
            null_rows=Counts(int(null_rows["active"] or 0), int(null_rows["soft_deleted"] or 0)),
            outcomes=counts,
            planned_changes=counts.planned_changes(spec.orphans.action),
            review_rows=counts.review_rows(spec.orphans.action),
            distribution_before=tuple(tuple(d) for d in distribution_before),
            relation_mismatches_before_run=older_mismatches(preflight_checks),
            unknown_tenant_before_run=older_unknown_tenants(preflight_checks),
        )
        if ctx.dry_run:
            folder = storage.run_path(spec.name, ctx.run_id)
            preview, plan_file = storage.child(folder, "review_preview.csv"), storage.child(folder, "plan.json")
            written = write_review_csv(
                preview, spec.review_columns, _review_preview(db, spec, ctx.batch_size), spec.mask_in_review
            )
            plan = dataclasses.replace(
                plan,
                review_csv=storage.display(preview),
                review_rows_exported=written,
                plan_file=storage.display(plan_file),
            )
            storage.write_text(plan_file, json.dumps(plan.to_dict(), indent=2, sort_keys=True))
            log.info("dry run: nothing written to the database; plan in %s", storage.display(folder))
        else:
            plan = dataclasses.replace(plan, run_no=register_run(target, spec, ctx))
            record_range_checksums(db, spec, plan.run_no, columns)
        log.info("plan for %s:\n%s", spec.name, format_plan(plan, spec))
        return plan


def older_mismatches(results: list) -> dict[str, OlderMismatch]:
    """relation table -> its parent/child mismatches on rows a run did not write (warning checks)."""
    prefix = "relation_mismatch_before_run:"
    return {
        r.check[len(prefix) :]: OlderMismatch(rows=int(r.observed or 0), sample_ids=tuple(r.sample))
        for r in results
        if r.check.startswith(prefix)
    }


def older_unknown_tenants(results: list) -> OlderMismatch:
    """Rows whose tenant names no tenant before the run (a warning check): the run writes none of them."""
    found = next((r for r in results if r.check == "unknown_tenant_before_run"), None)
    if found is None:
        return OlderMismatch(rows=0)
    return OlderMismatch(rows=int(found.observed or 0), sample_ids=tuple(found.sample))


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


CHECKSUM_RANGE = 10_000  # keys per checksummed range


def checksum_context(spec: Spec, columns: dict) -> dict:
    """Render values for the range checksums: the columns a run may not change (all but spec.written_columns)."""
    changing = set(spec.written_columns)
    fixed = [c["name"] for c in bookkeeping.target_columns(spec, columns) if c["raw"] not in changing]
    return {"fixed_columns": fixed, "range_size": CHECKSUM_RANGE}


def post_validation_gate(target: DbTarget, spec: Spec, run_no: int) -> list:
    """The post_validation suite for a run (backfill or review import); raises GateFailed."""
    with target.connect() as db:
        fixed = checksum_context(spec, bookkeeping.validate_against_database(db, spec))
    return gates.run_gate(target, spec, "post_validation", run_no=run_no, **fixed)


def record_range_checksums(db: Database, spec: Spec, run_no: int, columns: dict) -> int:
    """Per key range, checksum the columns this run may not change (read without locks, then stored)."""
    with db.transaction(read_only=True):
        ranges = db.rows(sql.render("checksums/read_range_checksums.sql", spec, **checksum_context(spec, columns)))
    with db.transaction():
        for r in ranges:
            db.execute(sql.render("checksums/save_range_checksum.sql"), {"run_no": run_no, **r})
    return len(ranges)


# --- what the write phases walk --------------------------------------------------------------


class NullRowWalk(Recipe):
    """The target's NULL-tenant rows in key order, up to the run's scope end: what every backfill phase walks."""

    splittable = True

    def __init__(self, spec: Spec, phase: str):
        self.spec, self.phase = spec, phase
        self.next_end_sql = sql.render("backfill/next_chunk_end.sql", spec)

    def count(self, db: Database) -> int:
        return int(db.scalar(sql.render("preflight/count_null_rows.sql", self.spec)) or 0)

    def scope_end(self, db: Database, ctx: RunContext):
        return _scope_end(db, self.spec, ctx)

    def first_key(self, db: Database, until):
        key = self.spec.target_key
        first = db.rows(sql.render("backfill/first_null_key.sql", self.spec), {"last_key": until})[0]["first_key"]
        first = key.parse(first)
        if first is None:
            return None
        if first == key.before(first):
            raise runner.error(
                self.spec, self.phase, f"row keyed {first!r}: an empty text key cannot start a keyset walk"
            )
        return key.before(first)

    def next_end(self, db: Database, after, size: int, until):
        row = db.rows(self.next_end_sql, {"after": after, "batch_size": size, "last_key": until})[0]
        if row["chunk_end"] is None:
            return None
        return self.spec.target_key.parse(row["chunk_end"]), int(row["chunk_rows"])

    def share_bound(self, db: Database, after, until, offset: int):
        statement = sql.render("backfill/share_bound.sql", self.spec)
        row = db.rows(statement, {"after": after, "last_key": until, "offset": offset})
        return self.spec.target_key.parse(row[0]["bound"]) if row else None


def null_row_chunks(db: Database, spec: Spec, size: int):
    """(lo, hi] key ranges of up to `size` NULL-tenant rows, each read just before its chunk is used."""
    walk = NullRowWalk(spec, "read")
    after = walk.first_key(db, None)
    db.commit()
    while after is not None:
        end = walk.next_end(db, after, size, None)
        db.commit()
        if end is None:
            return
        yield after, end[0]
        after = end[0]


class ProfileWalk(NullRowWalk):
    """Preflight's read: what the evidence says about each chunk of NULL-tenant rows (no lock, no write).

    Split into shares like the writes (`workers`): each worker reads its own key range on its own connection.
    """

    read_only = True

    def __init__(self, spec: Spec):
        super().__init__(spec, "preflight profile")
        self.profile_sql = sql.render("backfill/profile_range.sql", spec)

    def scope_end(self, db: Database, ctx: RunContext):
        return None  # a plan counts every NULL row there is

    def process(self, db: Database, prepared, lo, hi, samples_wanted: int) -> ChunkResult:
        return ChunkResult(rows=0, notes=db.rows(self.profile_sql, {"lo": lo, "hi": hi}))


@dataclasses.dataclass(frozen=True)
class DecisionStatements:
    """A decision walk's statements, rendered once per connection: lock a chunk's keys, decide its rows into the
    scratch table, then write (or queue) them."""

    scratch: ScratchStatements
    lock: str
    decide: str
    chunk_write: ChunkWrite


class DecisionWalk(NullRowWalk):
    """A write phase: decide a chunk's NULL rows into the scratch table, then queue them, or back up, audit, write.

    `selection` picks the rows the phase acts on (a fixed branch of decide_chunk.sql); a backfill pass for
    source i decides with sources 1..i only (`sources`): later sources cannot change its rows.
    """

    SELECTIONS = ("backfill", "soft_delete", "conflict", "review")

    def __init__(
        self,
        spec: Spec,
        ctx: RunContext,
        phase: str,
        selection: str,
        params: dict | None = None,
        audit: str | None = None,
        write: str | None = None,
        queue: bool = False,
        lock: bool = True,
        sources: int | None = None,
        audit_values_per_row: int = 1,  # an orphan soft-delete audits every column it sets
    ):
        # the selection picks a fixed WHERE branch of decide_chunk.sql; anything else would select every row
        if selection not in self.SELECTIONS:
            raise ValueError(f"unknown chunk selection {selection!r}")
        super().__init__(spec, phase)
        self.selection, self.audit, self.write, self.queue, self.lock = selection, audit, write, queue, lock
        self.sources, self.audit_values_per_row = sources, audit_values_per_row
        self.params = {
            "run_id": ctx.run_id,
            "spec": spec.name,
            "table_name": spec.target.table,
            "run_no": ctx.run_no,
            "source_no": None,
            "source": None,
            "action": None,
            "touched_column": spec.touched_column,
            **(params or {}),
        }

    def prepare(self, db: Database) -> DecisionStatements:
        _read_committed_unless_statement_logging(db)
        spec = self.spec
        scratch = scratch_statements(db, spec)
        return DecisionStatements(
            scratch=scratch,
            lock=sql.render("backfill/lock_chunk.sql", spec),
            decide=sql.render(
                "backfill/decide_chunk.sql",
                spec,
                selection=sql.Ident(self.selection),
                evidence=sql.spec_context(spec)["evidence"][: self.sources],
                run_no=self.params["run_no"],
            ),
            chunk_write=ChunkWrite(
                audit=sql.render(self.audit, spec) if self.audit else None,
                write=bookkeeping.write_statement(self.write, spec, scratch.auto_updated_columns)
                if self.write
                else None,
                queue=sql.render("review/queue_chunk.sql", spec) if self.queue else None,
                audit_values_per_row=self.audit_values_per_row,
            ),
        )

    def process(self, db: Database, st: DecisionStatements, lo, hi, samples_wanted: int) -> ChunkResult:
        if self.lock:
            db.execute(st.lock, {"lo": lo, "hi": hi})
        db.execute(st.scratch.clear)
        decided = db.execute(st.decide, {**self.params, "lo": lo, "hi": hi})  # rows put in the scratch table
        sample = []
        if decided and samples_wanted > 0:  # the phase names its first rows; later chunks skip the query
            sample = [r["row_id"] for r in db.rows(st.scratch.sample_ids)][:samples_wanted]
        if decided:
            write_decided(db, self.spec, self.phase, st.scratch, st.chunk_write, self.params, decided, lo, hi)
        return ChunkResult(rows=decided, sample_ids=sample)


def _scope_end(db: Database, spec: Spec, ctx: RunContext):
    """A real run acts on the rows that existed at preflight; later inserts are reported, not written.

    (Keys up to the largest key at preflight: for a text key that is not ordered by time, a UUIDv4, a
    row inserted during the run can sort below it; the spec's created_at marker tells it apart, see
    _application_writes.sql.)
    """
    if ctx.run_no is None:
        return None
    value = db.scalar(sql.render("bookkeeping/run_max_key.sql", spec), {"run_no": ctx.run_no})
    # the table was empty at preflight: a bound below every key, so the run acts on nothing
    return spec.target_key.lowest if value is None else spec.target_key.parse(value)


def _read_committed_unless_statement_logging(db: Database) -> None:
    """Chunk sessions run in READ COMMITTED: no gap or next-key locks, no shared locks on what a decision reads.

    Under REPEATABLE READ the decide statement (INSERT ... SELECT) share-locks every target and evidence row
    it reads, plus the next index entry past its range: with a tenant index (Laravel's `company_id` index)
    that entry belongs to the other worker's share, and two workers deadlocked at their share boundary
    (Akaunting's contacts, most runs). The chunk's own rows stay locked FOR UPDATE and every write is guarded
    (`tenant is null`). Statement-based binary logging cannot log such writes under READ COMMITTED
    (error 1665), so there the session keeps the server's isolation level.
    """
    logging_mode = db.rows(sql.render("backfill/binlog_format.sql"))[0]
    if read_committed_is_safe(logging_mode["log_bin"], logging_mode["binlog_format"]):
        db.execute(sql.render("backfill/read_committed.sql"))
    db.commit()


def read_committed_is_safe(log_bin, binlog_format) -> bool:
    """READ COMMITTED writes can be logged unless the binary log is on and statement-based."""
    return not (int(log_bin or 0) and str(binlog_format or "").upper() == "STATEMENT")


# --- the phases ----------------------------------------------------------------------------


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
