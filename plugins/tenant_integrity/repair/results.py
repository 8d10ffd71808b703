"""What a backfill's phases hand on: the plan, each phase's result and the run's summary, as frozen types.

A phase builds its result once and never changes it (nor one it was given); a later phase that needs
more makes a new value. `to_dict()` is what crosses an XCom, a JSON file or the tenant_runs.summary
column; `from_dict()` reads it back, nested types included, so a task works on the same types as a
test calling the phases in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenant_integrity.checks.gates import CheckResult
from tenant_integrity.core.records import Record

REVIEW_REASONS = ("conflict", "no_tenant_evidence", "unknown_tenant")


@dataclass(frozen=True)
class Counts(Record):
    """Rows split by soft-delete state."""

    active: int = 0
    soft_deleted: int = 0

    @property
    def total(self) -> int:
        return self.active + self.soft_deleted


@dataclass(frozen=True)
class Profile(Record):
    """What the evidence says about every NULL-tenant row (preflight's read-only pass)."""

    backfill: dict[str, Counts]  # evidence source -> rows it decides
    conflict: Counts = Counts()
    unknown_tenant: Counts = Counts()
    no_tenant_evidence: Counts = Counts()
    orphan: Counts = Counts()
    later_source_disagrees: int = 0

    def reason(self, name: str) -> Counts:
        return getattr(self, name)

    def planned_changes(self, orphan_action: str) -> int:
        """Rows the real run will write: every backfill, and the active orphans when they are soft-deleted."""
        backfills = sum(c.total for c in self.backfill.values())
        return backfills + (self.orphan.active if orphan_action == "soft_delete" else 0)

    def review_rows(self, orphan_action: str) -> int:
        """Rows a person decides: conflicts, no or unknown evidence, and active orphans when orphans.action is review."""
        rows = sum(self.reason(r).total for r in REVIEW_REASONS)
        return rows + (self.orphan.active if orphan_action == "review" else 0)


@dataclass(frozen=True)
class OlderMismatch(Record):
    """Child rows of one relation that carried another tenant than their parent before the run."""

    rows: int
    sample_ids: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Plan(Record):
    """Preflight's prediction of the run; a dry run ends with it, a real run is gated against it."""

    spec: str
    table: str
    run_id: str
    dry_run: bool
    batch_size: int
    total_rows: int
    null_rows: Counts
    outcomes: Profile
    planned_changes: int
    review_rows: int
    distribution_before: tuple[tuple[str, int], ...]  # the largest tenants (NULL included), for the report
    # isolation holes older than the run: the run writes none of these rows, its gate does not block on them
    relation_mismatches_before_run: dict[str, OlderMismatch] = field(default_factory=dict)
    # rows whose tenant names no tenant, older than the run: the same (warning, listed, not written by the run)
    unknown_tenant_before_run: OlderMismatch = OlderMismatch(rows=0)
    run_no: int | None = None  # a real run's registration in tenant_runs
    review_csv: str | None = None  # a dry run's review preview
    review_rows_exported: int | None = None
    plan_file: str | None = None


@dataclass(frozen=True)
class BackupResult(Record):
    backup_table: str
    columns: int
    planned_at_preflight: int
    chunk_stats: dict


@dataclass(frozen=True)
class BackfillResult(Record):
    source: str
    backfilled: int
    sample_ids: tuple[Any, ...] = ()
    chunk_stats: dict = field(default_factory=dict)
    retries: int = 0
    resumed_after: Any = None
    workers: int = 0


@dataclass(frozen=True)
class Backfills(Record):
    """The backfill task's value: each evidence source's result, in priority order."""

    sources: tuple[BackfillResult, ...]


@dataclass(frozen=True)
class ConflictsResult(Record):
    conflicts: int
    sample_ids: tuple[Any, ...] = ()
    chunk_stats: dict = field(default_factory=dict)
    workers: int = 0


@dataclass(frozen=True)
class ReviewExport(Record):
    review_rows: int
    by_reason: dict[str, int]
    review_csv: str
    chunk_stats: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OrphansResult(Record):
    soft_deleted: int
    sample_ids: tuple[Any, ...] = ()
    deleted_at: str | None = None
    chunk_stats: dict = field(default_factory=dict)
    workers: int = 0
    skipped: str | None = None  # orphans.action is review: they went to review with the other rows


@dataclass(frozen=True)
class PhaseResults(Record):
    """The write phases' results, in DAG order."""

    backup: BackupResult
    backfills: tuple[BackfillResult, ...]
    conflicts: ConflictsResult
    review: ReviewExport
    orphans: OrphansResult

    def backfill(self, source: str) -> BackfillResult:
        return next(b for b in self.backfills if b.source == source)

    def named(self) -> dict[str, Record]:
        """Phase name (as the DAG's task names them) -> result, for tables in reports."""
        return {
            "backup": self.backup,
            **{f"backfill_{b.source}": b for b in self.backfills},
            "detect_conflicts": self.conflicts,
            "export_review": self.review,
            "soft_delete_orphans": self.orphans,
        }


@dataclass(frozen=True)
class Summary(Record):
    """A finished real run: what it planned, did, audited and left, and its gate's verdict."""

    spec: str
    table: str
    run_id: str
    run_no: int
    planned: Plan
    phases: PhaseResults
    audited: dict[str, int]  # audit action -> audited values
    backed_up: int
    null_rows_after: Counts
    application_writes: dict  # report.application_writes: what the application did meanwhile
    status: str = "running"
    post_validation: tuple[CheckResult, ...] = ()
    post_validation_error: str | None = None
    relation_mismatches_before_run: dict[str, OlderMismatch] = field(default_factory=dict)
    unknown_tenant_before_run: OlderMismatch = OlderMismatch(rows=0)
    report: str | None = None

    @property
    def failed_checks(self) -> list[str]:
        return [r.check for r in self.post_validation if not r.success]


@dataclass(frozen=True)
class Outcome(Record):
    """What post_validation hands on (its task's value): counts and where to read the rest, a few hundred bytes."""

    spec: str
    run_id: str
    run_no: int
    status: str
    audited: dict[str, int]
    backed_up: int
    review_rows: int
    null_rows_after: Counts
    failed_checks: tuple[str, ...]
    report: str | None

    @classmethod
    def of(cls, summary: Summary) -> Outcome:
        return cls(
            spec=summary.spec,
            run_id=summary.run_id,
            run_no=summary.run_no,
            status=summary.status,
            audited=summary.audited,
            backed_up=summary.backed_up,
            review_rows=summary.phases.review.review_rows,
            null_rows_after=summary.null_rows_after,
            failed_checks=tuple(summary.failed_checks),
            report=summary.report,
        )


@dataclass(frozen=True)
class ReviewImportResult(Record):
    """tenant_review_import's value: the file's decisions, what the run applied (from the queue), its gate."""

    spec: str
    file: str
    decisions: int
    by_kind: dict[str, int]  # tenant / orphan / skip
    dry_run: bool
    applied: int = 0
    skipped: int = 0
    settled: tuple[Any, ...] = ()  # rows settled meanwhile and left alone: the first SAMPLE_IDS
    settled_rows: int = 0
    resumed_after: Any = None
    retries: int = 0
    post_validation: tuple[CheckResult, ...] = ()


@dataclass(frozen=True)
class RollbackResult(Record):
    """tenant_rollback's value: what run `rolled_back_run` changed, what this rollback restored and left alone."""

    rolled_back_run: str
    changed_rows: int
    already_restored: int  # before this attempt: by another rollback of the run, or an interrupted attempt
    restored: int  # by this rollback run, all its attempts (the audit's count; a dry run: what it would restore)
    skipped_rows: int
    skipped: tuple[dict, ...]  # the first SAMPLE_IDS rows left alone, with why
    chunks_verified: int
    chunk_stats: dict
    resumed_after: Any
    retries: int
    dry_run: bool


@dataclass(frozen=True)
class ArchiveResult(Record):
    """archive_orphans' value: the soft-deleted NULL-tenant rows it moved into the archive table."""

    archived: int
    archived_ids: tuple[Any, ...]  # the first SAMPLE_IDS
    archive_table: str


@dataclass(frozen=True)
class AppliedStatement(Record):
    """One DDL statement tenant_constraints ran, and whether the server ran it online."""

    statement: str
    online: bool
    why_not_online: str | None = None


@dataclass(frozen=True)
class ConstraintsResult(Record):
    """tenant_constraints' value: the DDL it planned, the orphans it archived, what it applied and the result."""

    spec: str
    dry_run: bool
    archivable_orphans: int
    ddl: tuple[str, ...]  # the statements, online form; empty when NOT NULL and the FK are in place
    archive: ArchiveResult | None = None
    applied: tuple[AppliedStatement, ...] = ()
    not_null: bool | None = None  # after the run (a real run)
    foreign_key: str | None = None
