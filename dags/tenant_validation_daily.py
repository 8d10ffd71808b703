"""
# tenant_validation_daily

The 04:00 check the seed ran from cron (`customer:validate-company-id --fail-on-issues`), done
properly: every spec in `include/specs/`, every check a GX expectation run **in the database**.

| mode | checks |
| --- | --- |
| `standard` | active rows with a NULL tenant; parent/child tenant mismatches; tenants that do not exist |
| `comprehensive` (scheduled) | + new leaks since the previous validation; soft-deleted NULL rows (warning); |
| | open review rows (warning); integrity of the last remediation run; the per-tenant isolation proof |

Results go to `tenant_validation_history` (which `tenant_constraints` reads) and to GX Data Docs in
`$TENANT_DATA_DOCS_DIR` (or `data-docs/` under `$TENANT_STORAGE_URL`). If the Airflow connection `smtp_default` or the Variable `on_call_email` is
missing, `check_alerting` fails the run at its start.

**Paging** (`alert_on_call`, at most **one** mail per run). Each failing critical check is compared
with its previous result for the same spec in the history:

| the check | mail | run |
| --- | --- | --- |
| fails and passed (or did not run) before | paged | failed |
| fails with a grown count, or with ids the previous sample did not have | paged (previous count, new ids) | failed |
| fails as before (same or smaller count, no new ids), on-call paged about it | none: recorded in `tenant_validation_alerts` as known ("paged on …") | **failed** |
| on-call was paged about it and it passes again | a "RESOLVED" mail naming spec and check | success |

A known failure still fails the run — the data is still wrong and the run's page says so — but it
does not page again. A mail that pages also lists the known and the resolved checks, and names the
open review rows (warning `open_review_rows`) as rows waiting for a person's decision, apart from new
leaks. If the validation cannot run, one mail says so. The DAG's failure callback (every DAG has
it) sends no second mail for a run this task already handled.

Schedule: `0 4 * * *` in `$TENANT_VALIDATION_TZ` (default Europe/Berlin), no catch-up (unpausing it runs the
latest 04:00 at once), **and** after every real `tenant_backfill` run in which a spec passed: its last task,
`announce_repaired_tables`, updates the asset of each repaired table (`mysql://host:port/database/table`,
through the alias `tenant_integrity_repaired_tables`), so each repair is validated right after it, once.
Deadlines: every task 1 h, the run 3 h (`TENANT_DAG_TIMEOUTS` overrides). Every read waits at most 60 s for a
table's metadata lock: a `validate` that fails or times out ends in `alert_on_call`'s one mail; a run that
outlives its run timeout is ended by the scheduler and the DAG's failure callback mails once ("run timed out").
"""

from __future__ import annotations

import os

from airflow.sdk import AssetAlias, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from tenant_integrity.tasks.runtime import REPAIRED_TABLES, project_dag, spec_param

TIMEZONE = os.environ.get("TENANT_VALIDATION_TZ", "Europe/Berlin")


@dag(
    **project_dag(
        "tenant_validation_daily",
        __doc__,
        # at 04:00, and right after every real repair (its post_validation updates the repaired table's asset)
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable("0 4 * * *", timezone=TIMEZONE), assets=AssetAlias(REPAIRED_TABLES)
        ),
        timezone=TIMEZONE,
        retries=1,
        retry_delay_seconds=120,
    ),
    params={
        "spec": spec_param("Validate only this spec, and not the tenant graph", optional=True),
        "mode": Param(
            "comprehensive",
            type="string",
            enum=["standard", "comprehensive"],
            title="Mode",
            description="standard: NULL tenants, mismatches, unknown tenants. comprehensive adds new leaks, "
            "soft-deleted NULLs, open reviews, last-run integrity and the isolation proof.",
        ),
    },
)
def tenant_validation_daily():
    @task
    def check_alerting() -> list[str]:
        """Fail now if nobody could be told about a failure."""
        from tenant_integrity.monitoring.mail import check_alerting_configured
        from tenant_integrity.tasks.runtime import failing_fast_on_user_errors

        with failing_fast_on_user_errors():
            return check_alerting_configured()

    @task
    def validate(recipients: list[str]) -> list[dict]:
        from tenant_integrity.tasks.runtime import failing_fast_on_user_errors, validate_specs

        context = get_current_context()
        with failing_fast_on_user_errors():
            return validate_specs(dict(context["params"]), context["run_id"])

    @task(trigger_rule="all_done", retries=0)
    def alert_on_call(recipients: list[str] | None = None, reports: list[dict] | None = None) -> str:
        """At most one mail: new or grown failures page, resolved ones are told; any failure fails the run."""
        from tenant_integrity.tasks.runtime import alert_for_run

        return alert_for_run(get_current_context(), recipients, reports)

    recipients = check_alerting()
    alert_on_call(recipients, validate(recipients))


tenant_validation_daily()
