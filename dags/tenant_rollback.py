"""
# tenant_rollback

Undoes one run (`tenant_backfill` or `tenant_review_import`) from its backup. Give the run's
`run_id` as `backfill_run_id`.

A row is restored — every backed-up column, `updated_at` and the soft-delete column included — only
if it is exactly as the run left it. A row the application changed since (another tenant, a new
name, …) is **left alone and listed**. Every restore is audited (`rollback`), backed up under the
rollback's own run id, and each chunk's restored rows are compared with the backup, column by column,
before it commits.
Rows restored earlier (a re-run, or an interrupted rollback) are counted as already restored.
`dry_run` (default) only reports what would be restored and what would be left alone.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from tenant_integrity.tasks.runtime import operator_params, project_dag


@dag(
    **project_dag("tenant_rollback", __doc__),
    params=operator_params(
        dry_run_description="Only report what would be restored and what would be left alone; restore nothing.",
        backfill_run_id=Param(
            "",
            type="string",
            minLength=1,
            title="Run to undo",
            description="The run_id of the tenant_backfill or tenant_review_import run to roll back.",
        ),
    ),
)
def tenant_rollback():
    @task
    def restore_from_backup() -> dict:
        """Restore the run's rows that nobody changed since, verify them by checksum, list the rest."""
        from tenant_integrity.repair.rollback import rollback_from_params
        from tenant_integrity.tasks.runtime import run_operator_task

        return run_operator_task(get_current_context(), rollback_from_params)

    restore_from_backup()


tenant_rollback()
