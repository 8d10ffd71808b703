"""
# tenant_review_import

Applies the decisions a person wrote into a review CSV exported by `tenant_backfill`
(`<spec>/<run_id>/review.csv` under the storage base: `$TENANT_STORAGE_URL`, default `$TENANT_REVIEW_DIR`): fill the `decision` column with a **tenant id**,
`orphan` (soft-delete the row with the spec's `orphans.set`; refused where the spec does not soft-delete)
or `skip` (leave it open, documented), then trigger with the path.

Everything is checked before anything is written — path inside the review folder, size ≤ 50 MB,
UTF-8 (BOM or not, CRLF or LF), header, every row (an open review row of this spec, no duplicates,
a tenant that exists). One bad row fails the run listing every problem with its line number.

A valid file is applied in chunks with backup + audit (`review_decision`, source `file:line`),
guarded on the tenant still being NULL (rows the application settled meanwhile are listed, not
touched), then the `post_validation` gate runs. `dry_run` (default) only validates.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from tenant_integrity.tasks.runtime import operator_params, project_dag


@dag(
    **project_dag("tenant_review_import", __doc__),
    params=operator_params(
        dry_run_description="Only validate the file; apply nothing.",
        batch_description="Decisions per transaction.",
        review_csv=Param(
            "",
            type="string",
            title="Review CSV",
            description="Path of the filled-in review CSV inside the storage base ($TENANT_STORAGE_URL, default "
            "$TENANT_REVIEW_DIR): a path relative to it, or the file's path or URL under it.",
        ),
    ),
)
def tenant_review_import():
    @task
    def import_decisions() -> dict:
        """Validate every row, then apply with backup + audit and run the post_validation gate."""
        from tenant_integrity.repair.review_import import import_from_params
        from tenant_integrity.tasks.runtime import run_operator_task

        return run_operator_task(get_current_context(), import_from_params)

    import_decisions()


tenant_review_import()
