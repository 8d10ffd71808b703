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
