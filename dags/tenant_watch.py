"""
# tenant_watch

The 48 hours after a repair, watched hourly (seed 001's "Post-Migration Monitoring"). For every spec whose
newest **succeeded, real** `tenant_backfill` run ended less than 48 hours ago (`watch.WATCH_HOURS`):

| check | finds |
| --- | --- |
| `new_null_tenant` | active rows with a NULL tenant that the review queue does not hold (open or skipped): new leaks, with the hour each appeared (`created_at` for a row created since the run, else `updated_at`) |
| `relation_mismatch:<child>` | child rows whose tenant differs from their parent row's, by both ids (mismatches preflight listed before the run are left to the daily validation) |
| `run_audit_matches` | values the run wrote (its audit) that the row no longer holds, with no later audited change (rollback, review decision, later run) to explain it |

Every check of every hour is a row in `tenant_watch_history` (spec, run_no, check, watch hour); every row a
check finds is a row in `tenant_watch_findings`. A watch hour with findings no earlier mail named sends **one**
mail to the Airflow Variable `on_call_email` through connection `smtp_default`, naming spec, check, ids and
the hour each leak appeared; a finding already mailed is recorded, not mailed again (one that went away and
came back is new again). A run with findings fails; a clean hour sends nothing. Specs outside their 48 hours,
or that never had a succeeded run, are skipped with a log line. Alerting must be configured as soon as one
spec is watched.

Schedule: the top of every hour (UTC), no catch-up, one run at a time. Param `spec` watches one spec only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from tenant_integrity.tasks.runtime import project_dag, spec_param


@dag(
    **project_dag(
        "tenant_watch",
        __doc__,
        schedule=CronTriggerTimetable("0 * * * *", timezone="UTC"),
        retries=1,
        retry_delay_seconds=60,
    ),
    params={
        "spec": spec_param("Watch only this spec (every spec inside its 48 hours when empty)", optional=True),
    },
)
def tenant_watch():
    @task
    def watch() -> list[dict]:
        """Find the specs inside their watch, run the checks, record them."""
        from tenant_integrity.tasks.runtime import failing_fast_on_user_errors
        from tenant_integrity.tasks.watch import watch_for_airflow

        context = get_current_context()
        dag_run = context["dag_run"]
        hour = getattr(dag_run, "run_after", None) or context.get("logical_date") or pendulum.now("UTC")
        with failing_fast_on_user_errors():
            return watch_for_airflow(dict(context["params"]), context["run_id"], hour)

    @task
    def page_on_call(results: list[dict]) -> str:
        """One mail naming what no earlier mail named; fail the run while anything is found."""
        from tenant_integrity.tasks.runtime import failing_fast_on_user_errors
        from tenant_integrity.tasks.watch import page_for_airflow

        with failing_fast_on_user_errors():
            return page_for_airflow(get_current_context(), results)

    page_on_call(watch())


tenant_watch()
