"""
# tenant_guard

Keeps new NULL tenants out of a repaired table: BEFORE/AFTER INSERT and UPDATE triggers on the spec's
target table, installed next to the application's own triggers (never replacing them).

- **fill**: a NULL tenant is taken from the spec's first `parent` evidence (e.g. an appointment's
  customer's company); still NULL when the parent names none (fill only fills).
- **log**: the row goes in; the NULL tenant is recorded in `tenant_guard_log` (table, key, time, user).
- **reject**: the statement fails with SQLSTATE 45000 (error 1644) naming the table, column and key.

An UPDATE is guarded when it *sets* the tenant to NULL; rows that were NULL before are the backfill's.
`action`: `install` (idempotent; another mode replaces only our triggers), `uninstall` (only ours),
`status` (installed mode, triggers, what log recorded). A dry run (default) prints the exact DDL and
changes nothing. The DDL waits at most 5 s for the table's metadata lock and then fails naming the
table and the open transactions. Installing needs TRIGGER on the table; with binary logging on and no
SUPER, the server must set `log_bin_trust_function_creators = 1`. tenant_rollback restores NULLs:
uninstall the guard first.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from tenant_integrity.tasks.runtime import project_dag, spec_param


@dag(
    **project_dag("tenant_guard", __doc__),
    params={
        "spec": spec_param("The spec whose target table gets the guard"),
        "mode": Param(
            "log",
            type="string",
            enum=["fill", "log", "reject"],
            title="Mode",
            description="fill: take a NULL tenant from the first parent evidence; log: let it in and record it "
            "in tenant_guard_log; reject: refuse the statement (SQLSTATE 45000). Used by install only.",
        ),
        "action": Param(
            "status",
            type="string",
            enum=["install", "uninstall", "status"],
            title="Action",
            description="install (or switch mode), uninstall (only tenant_guard's triggers), or status.",
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Print the exact trigger DDL; change nothing.",
        ),
    },
)
def tenant_guard():
    @task
    def guard() -> dict:
        """Install, uninstall or show the guard triggers of the spec's target table."""
        from tenant_integrity.enforce.guards import guard_from_params
        from tenant_integrity.tasks.runtime import run_operator_task

        return run_operator_task(get_current_context(), guard_from_params)

    guard()


tenant_guard()
