"""
# tenant_constraints

The last step of the seed's plan — `NOT NULL` on the tenant column and a foreign key to the tenant
table (`ON DELETE RESTRICT`) — applied only when **all** of these hold; otherwise the run fails
listing every reason and changes nothing:

- the newest `clean_days` validations of the spec passed, on `clean_days` different days;
- no row has a NULL tenant, **soft-deleted rows included** (the seed forgot its 3 soft-deleted
  orphans: its ALTER would have failed — or, in a non-strict sql_mode, written 0);
- every tenant value exists in the tenant table;
- the session's sql_mode is strict;
- the tenant column's type equals the tenant key's.

`archive_orphans` (off by default) is the explicit way out for soft-deleted NULL rows that no related
row points to: they move to `tenant_archive_<table>` with backup + audit. A dry run (default) prints
the exact DDL. A real run uses `ALGORITHM=INPLACE, LOCK=NONE` where the server supports it and says
in the log when it cannot (e.g. adding a foreign key with foreign_key_checks on needs a table copy).
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from tenant_integrity.tasks.runtime import operator_params, project_dag


@dag(
    **project_dag("tenant_constraints", __doc__),
    params=operator_params(
        dry_run_description="Check every precondition and print the exact DDL; change nothing.",
        batch_description="Rows per archive transaction.",
        clean_days=Param(
            7,
            type="integer",
            minimum=1,
            maximum=365,
            title="Clean days",
            description="Clean daily validations required.",
        ),
        archive_orphans=Param(
            False,
            type="boolean",
            title="Archive orphans",
            description="Move soft-deleted rows with a NULL tenant and no related rows to tenant_archive_<table> first.",
        ),
    ),
)
def tenant_constraints():
    @task
    def add_not_null_and_foreign_key() -> dict:
        """Check every precondition, archive orphans if asked, then run the DDL (online where possible)."""
        from tenant_integrity.enforce.constraints import constraints_from_params
        from tenant_integrity.tasks.runtime import run_operator_task

        return run_operator_task(get_current_context(), constraints_from_params)

    add_not_null_and_foreign_key()


tenant_constraints()
