"""The operator DAGs' functions as the tests call them: a review import, a rollback, and what they left."""

from __future__ import annotations

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import review_import, rollback
from tenant_integrity.repair.results import ReviewImportResult, RollbackResult
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")


def import_decisions(target, path, run_id: str = "import-1", **pacing) -> ReviewImportResult:
    ctx = RunContext(run_id=run_id, dry_run=False, dag_id="tenant_review_import", **{"batch_size": 3, **pacing})
    return review_import.import_review(target, SPEC, ctx, str(path))


def undo(target, run_id: str, rollback_id: str, **pacing) -> RollbackResult:
    ctx = RunContext(run_id=rollback_id, dry_run=False, dag_id="tenant_rollback", **{"batch_size": 4, **pacing})
    return rollback.rollback_run(target, SPEC, ctx, run_id)


def backup_rows(target, run_id: str) -> int:
    statement = "select count(*) as n from tenant_backup_customers where backup_run_id = %(r)s"
    return int(query(target, statement, {"r": run_id})[0]["n"])


def undo_import_reopens_its_decisions(target, customers_after_backfill, checksum_after_backfill) -> RollbackResult:
    """Undo review import `import-1` (4 applied decisions, run `rb-import`): the customers are back as the
    backfill left them and the 4 decisions are open again in the review queue."""
    from tests.helpers.dbcheck import checksum, customers

    undone = undo(target, "import-1", "rb-import")
    assert (undone.changed_rows, undone.restored, undone.skipped) == (4, 4, ())
    assert customers(target) == customers_after_backfill
    assert checksum(target, "customers") == checksum_after_backfill
    reopened = query(target, "select count(*) as n from tenant_review_queue where status = 'open'")
    assert reopened[0]["n"] == 4
    return undone


def undo_backfill_in_verified_chunks(target) -> RollbackResult:
    """Undo backfill `b1` (37 rows, run `rb-backfill`): every chunk the engine walked (its size adapts from 4) was
    checksum-verified, and together they hold the 37 rows."""
    from tests.helpers.chunk_logs import chunk_rows

    undone = undo(target, "b1", "rb-backfill")
    assert (undone.changed_rows, undone.restored, undone.skipped) == (37, 37, ())
    rows = chunk_rows("rb-backfill", "rollback")
    assert undone.chunks_verified == len(rows) > 1 and sum(rows) == 37
    return undone
