"""Preflight: the plan of a backfill run, read before anything is written — what the evidence says about every
NULL-tenant row (a profile walked by the chunk engine), the review preview, the mismatches that existed before
the run, and (a real run) its registration and the per-range checksums of every column the run may not change."""

from __future__ import annotations

import dataclasses
import json
import logging

from tenant_integrity.checks import gates
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.repair import report
from tenant_integrity.repair.formatting import format_plan
from tenant_integrity.repair.results import Counts, OlderMismatch, Plan, Profile
from tenant_integrity.repair.review_csv import write_review_csv
from tenant_integrity.repair.run_registry import register_run
from tenant_integrity.repair.walks import ProfileWalk, null_row_chunks
from tenant_integrity.store import bookkeeping, privileges, sql, storage
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)


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


CHECKSUM_RANGE = 10_000  # keys per checksummed range


def checksum_context(spec: Spec, columns: dict) -> dict:
    """Render values for the range checksums: the columns a run may not change (all but spec.written_columns)."""
    changing = set(spec.written_columns)
    fixed = [c["name"] for c in bookkeeping.target_columns(spec, columns) if c["raw"] not in changing]
    return {"fixed_columns": fixed, "range_size": CHECKSUM_RANGE}


def record_range_checksums(db: Database, spec: Spec, run_no: int, columns: dict) -> int:
    """Per key range, checksum the columns this run may not change (read without locks, then stored)."""
    with db.transaction(read_only=True):
        ranges = db.rows(sql.render("checksums/read_range_checksums.sql", spec, **checksum_context(spec, columns)))
    with db.transaction():
        for r in ranges:
            db.execute(sql.render("checksums/save_range_checksum.sql"), {"run_no": run_no, **r})
    return len(ranges)
