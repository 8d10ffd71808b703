"""What a person reads: the plan, the run summary and what the application did meanwhile, as text.

Kept apart from the phases so that the run report, the DAGs and the CLI format without importing them.
"""

from __future__ import annotations

from tenant_integrity.core.spec import Spec
from tenant_integrity.repair.results import REVIEW_REASONS, OlderMismatch, Plan, Summary


def format_plan(plan: Plan, spec: Spec) -> str:
    o = plan.outcomes
    mode = "DRY RUN" if plan.dry_run else "real run"
    lines = [
        f"spec {plan.spec} on table {plan.table} ({mode}, run {plan.run_id})",
        f"  rows in table:                 {plan.total_rows}",
        f"  NULL tenant:                   {plan.null_rows.active} active, {plan.null_rows.soft_deleted} soft-deleted",
    ]
    for e in spec.evidence:
        b = o.backfill[e.name]
        lines.append(f"  backfill from {e.name + ':':<17}{b.active} active, {b.soft_deleted} soft-deleted")
    for reason in REVIEW_REASONS:
        counts = o.reason(reason)
        lines.append(f"  review, {reason + ':':<23}{counts.active} active, {counts.soft_deleted} soft-deleted")
    if spec.orphans.action == "review":
        lines.append(f"  review, {'orphan:':<23}{o.orphan.active} active (orphans.action: review)")
    else:
        lines.append(f"  orphans to soft-delete:        {o.orphan.active}")
    lines += [
        f"  orphans already soft-deleted:  {o.orphan.soft_deleted} (left NULL; tenant_constraints archives them)",
        f"  later source disagrees:        {o.later_source_disagrees} (counted, not blocking)",
        f"  planned changes:               {plan.planned_changes}",
    ]
    lines += format_older_mismatches(plan.relation_mismatches_before_run)
    lines += format_older_unknown_tenants(plan.unknown_tenant_before_run)
    if plan.review_csv:
        lines.append(f"  review preview:                {plan.review_csv} ({plan.review_rows_exported} rows)")
    return "\n".join(lines)


def format_older_mismatches(mismatches: dict[str, OlderMismatch]) -> list[str]:
    """Warning lines for parent/child mismatches older than the run (nothing when there are none)."""
    return [
        f"  WARNING older mismatch:        {found.rows} {table} row(s) carry another tenant than their parent "
        f"(ids {list(found.sample_ids)}); not written by this run, not blocking; the daily validation fails on them"
        for table, found in mismatches.items()
        if found.rows
    ]


def format_older_unknown_tenants(found: OlderMismatch) -> list[str]:
    """The warning line for rows whose tenant named no tenant before the run (nothing when there are none)."""
    if not found.rows:
        return []
    return [
        f"  WARNING unknown tenant:        {found.rows} row(s) carry a tenant missing from the tenant table "
        f"(ids {list(found.sample_ids)}); not written by this run, not blocking; the daily validation fails on them"
    ]


def format_summary(summary: Summary) -> str:
    p = summary.phases
    lines = [f"tenant_backfill summary: spec {summary.spec}, table {summary.table}, run {summary.run_id}"]
    lines.append(f"  backed up:              {summary.backed_up} rows")
    lines.append(f"  conflicts:              {p.conflicts.conflicts}")
    for result in p.backfills:
        lines.append(f"  {'backfill_' + result.source + ':':<23} {result.backfilled} rows")  # a long name keeps a space
    lines.append(f"  left for review:        {p.review.review_rows} rows {p.review.by_reason}")
    lines.append(f"  review CSV:             {p.review.review_csv}")
    lines.append(f"  soft-deleted:           {p.orphans.soft_deleted} orphans")
    lines.append(f"  audit rows:             {summary.audited}")
    after = summary.null_rows_after
    arrived = summary.application_writes.get("null_tenant_arrived", {"rows": 0, "ids": []})
    lines.append(
        f"  NULL tenant now:        {after.active} active ({after.active - arrived['rows']} in review, "
        f"{arrived['rows']} arrived during the run), {after.soft_deleted} soft-deleted"
    )
    lines += format_application_writes(summary.application_writes)
    if summary.report:
        lines.append(f"  {'run report:':<24}{summary.report}")
    lines += format_older_mismatches(summary.relation_mismatches_before_run)
    lines += format_older_unknown_tenants(summary.unknown_tenant_before_run)
    for r in summary.post_validation:
        verdict = "ok" if r.success else ("FAILED" if r.severity == "critical" else "warning")
        lines.append(f"  gate {r.check}: {verdict} (observed {r.observed})")
    return "\n".join(lines)


def format_application_writes(writes: dict | None) -> list[str]:
    """The summary lines about what the application did during the run (nothing when it did nothing)."""
    if not writes or not (writes["inserted"]["rows"] or writes["existing_rows_written_by_application"]["rows"]):
        return []
    lines = ["  application writes during the run (left alone by the run, not judged by the gates):"]
    for key, label in (
        ("null_tenant_arrived", "NULL tenant arrived, not handled (next run / daily validation)"),
        ("inserted", "rows inserted after preflight"),
        ("existing_rows_written_by_application", "existing rows written by the application"),
        ("changed_by_the_run_and_the_application", "changed by the run and by the application"),
    ):
        lines.append(f"    {label}: {writes[key]['rows']} {writes[key]['ids']}")
    lines.append(f"    key ranges the checksum could not prove: {writes['ranges_not_checksummed']}")
    return lines
