"""Glue between Airflow task context and the package: params in, spec + database + run out.

Airflow is imported lazily so the rest of the package stays testable without a scheduler.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable

from tenant_integrity.core import settings
from tenant_integrity.core.errors import ParamError, TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec, load_spec, spec_names
from tenant_integrity.store.db import DbTarget

log = logging.getLogger(__name__)
DEFAULT_SPEC = "customers_company"
# the asset alias a real run's post_validation updates with one asset per repaired table; tenant_validation_daily
# is scheduled on it (as well as at 04:00), so every repair is validated right after it
REPAIRED_TABLES = "tenant_integrity_repaired_tables"
GRAPH_CONN_ID = settings.TENANT_CONN_ID  # the database whose tenant graph the daily validation audits


def default_args(retries: int = 1, retry_delay_seconds: int = 30, task_timeout_s: float | None = None) -> dict:
    """The default_args every DAG of the project shares (task level: log_task_failure on each failed task, and
    the DAG's task timeout)."""
    import pendulum

    args = {
        "owner": "data-engineering",
        "retries": retries,
        "retry_delay": pendulum.duration(seconds=retry_delay_seconds),
        "on_failure_callback": log_task_failure,
    }
    if task_timeout_s is not None:
        args["execution_timeout"] = pendulum.duration(seconds=task_timeout_s)
    return args


def dag_failure_alert():
    """The DAG-level on_failure_callback every DAG sets (`@dag(on_failure_callback=dag_failure_alert())`):
    one mail per failed run naming the DAG, the spec, the failed tasks and their errors (mail.RunFailureAlert)."""
    from tenant_integrity.monitoring.mail import RunFailureAlert

    return RunFailureAlert()


def project_dag(
    dag_id: str,
    doc_md: str,
    schedule=None,
    timezone: str = "UTC",
    retries: int = 1,
    retry_delay_seconds: int = 30,
) -> dict:
    """The @dag(...) arguments every DAG of the project shares: `@dag(**project_dag(...), params=...)`.

    Triggered by a person unless a schedule is given; never catches up; one run at a time; documented,
    owned, retried, bounded in time (settings.dag_timeouts: every task, and the run) and one failure mail per
    failed run, a timed-out one included.
    """
    import pendulum

    task_timeout_s, run_timeout_s = settings.dag_timeouts(dag_id)
    return {
        "dag_id": dag_id,
        "schedule": schedule,
        "start_date": pendulum.datetime(2025, 10, 1, tz=timezone),
        "catchup": False,
        "max_active_runs": 1,
        "doc_md": doc_md,
        "default_args": default_args(retries, retry_delay_seconds, task_timeout_s),
        "dagrun_timeout": pendulum.duration(seconds=run_timeout_s),
        "on_failure_callback": dag_failure_alert(),
        "tags": ["tenant_integrity"],
    }


def repaired_table_asset(spec_name: str):
    """The Airflow asset of a spec's target table: mysql://host:port/database/table (no credentials), named
    tenant_integrity/<conn_id>/<table>, so two specs of one table update one asset."""
    from airflow.sdk import Asset

    spec = load_spec(spec_name)
    target = DbTarget.from_airflow(spec.conn_id)
    return Asset(
        name=f"tenant_integrity/{spec.conn_id}/{spec.target.table}",
        uri=f"mysql://{target.host}:{target.port}/{target.database}/{spec.target.table}",
        group="tenant_integrity",
    )


def spec_param(description: str = "The remediation target", optional: bool = False):
    """The `spec` Param. Not an enum of the files in include/specs: a new spec file must not make a new
    version of every DAG. The name is checked at once when the run starts (an unknown one fails naming
    the known specs)."""
    from airflow.sdk import Param

    from tenant_integrity.core.spec import SPEC_NAME

    return Param(
        None if optional else DEFAULT_SPEC,
        type=["null", "string"] if optional else "string",
        pattern=SPEC_NAME.pattern,
        title="Spec",
        description=f"{description}: a file name in include/specs/ without .yaml"
        + (" (empty: every spec)." if optional else ".")
        + " `python -m tenant_integrity discover` lists the tenant tables.",
    )


def operator_params(dry_run_description: str, batch_description: str = "Rows per transaction.", **extra) -> dict:
    """spec, dry_run (true) and batch_size, with their titles and help, plus the DAG's own params."""
    from airflow.sdk import Param

    return {
        "spec": spec_param(),
        "dry_run": Param(True, type="boolean", title="Dry run", description=dry_run_description),
        "batch_size": Param(
            settings.BATCH_SIZE_DEFAULT,
            type="integer",
            minimum=settings.BATCH_SIZE_MIN,
            maximum=settings.BATCH_SIZE_MAX,
            title="Batch size",
            description=batch_description,
        ),
        **extra,
    }


def task_inputs(
    params: dict, run_id: str, dag_id: str, extra: frozenset = frozenset(), spec_name: str | None = None
) -> tuple[Spec, DbTarget, RunContext]:
    """Validate the params of a triggered run and resolve its spec (`spec_name`: one spec of a
    multi-spec run, else the param) and database."""
    known = {"spec", "dry_run", "batch_size", "chunk_seconds", "workers", "max_replica_lag_s"} | set(extra)
    unknown = set(params) - known
    if unknown:
        raise ParamError(f"unknown params {sorted(unknown)} (known: {', '.join(sorted(known))})")
    spec = load_spec(spec_name or params.get("spec", DEFAULT_SPEC))
    ctx = RunContext(
        run_id=run_id,
        dry_run=params.get("dry_run", True),
        batch_size=params.get("batch_size", settings.BATCH_SIZE_DEFAULT),
        chunk_seconds=params.get("chunk_seconds", settings.CHUNK_SECONDS_DEFAULT),
        workers=params.get("workers", settings.WORKERS_DEFAULT),
        max_replica_lag_s=params.get("max_replica_lag_s", settings.MAX_REPLICA_LAG_S_DEFAULT),
        dag_id=dag_id,
    )
    return spec, DbTarget.from_airflow(spec.conn_id), ctx


@contextlib.contextmanager
def failing_fast_on_user_errors():
    """Turn errors a retry cannot fix (bad spec, bad params, failed gate) into AirflowFailException.

    Connection losses, lock waits and ChunkError stay ordinary exceptions: Airflow retries those.
    """
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except TenantIntegrityError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc


def run_operator_task(context, operation: Callable[[DbTarget, Spec, RunContext, dict], object]) -> dict:
    """The one task of an operator DAG: params in (the DAG's own Params are the known ones), the package
    function called with spec, database, run settings and params, user errors failing fast."""
    params = dict(context["params"])
    with failing_fast_on_user_errors():
        spec, target, ctx = task_inputs(
            params, context["run_id"], context["dag"].dag_id, frozenset(context["dag"].params)
        )
        result = operation(target, spec, ctx, params)
    if hasattr(result, "to_dict"):  # a typed result: XCom keeps its JSON shape
        result = result.to_dict()
    print(json.dumps(result, indent=2, default=str))  # the task output a person reads in the UI
    return result


def validate_specs(params: dict, run_id: str) -> list[dict]:
    """The daily validation of every spec (or the one in params); reports as plain dicts for XCom."""
    from tenant_integrity.monitoring import validation

    unknown = set(params) - {"spec", "mode"}
    if unknown:
        raise ParamError(f"unknown params {sorted(unknown)} (known: spec, mode)")
    names = [params["spec"]] if params.get("spec") else spec_names()
    reports = []
    for name in names:
        spec = load_spec(name)
        report = validation.validate(
            DbTarget.from_airflow(spec.conn_id), spec, params.get("mode", "comprehensive"), run_id
        )
        log.info("%s", validation.format_table(report))
        print(validation.format_table(report))  # the task output a person reads in the UI
        reports.append(report.as_dict())
    if not params.get("spec"):  # every spec: and every foreign key between the tenant tables
        graph = validation.validate_graph(
            DbTarget.from_airflow(GRAPH_CONN_ID), run_id, params.get("mode", "comprehensive")
        )
        if graph is not None:
            print(validation.format_table(graph))  # the task output a person reads in the UI
            reports.append(graph.as_dict())
    return reports


def alert_for_run(context, recipients: list[str] | None, reports: list[dict] | None) -> str:
    """The daily validation's one mail per run, then the run's verdict.

    A new or grown failure pages; a known one (same check, same or smaller count, no new ids, paged
    before) is recorded and not paged again; a check on-call was paged about that passes again gets a
    "resolved" mail. Any failed critical check still fails the run: the data is still wrong, and the
    run's red square says so. This task tells the DAG's failure callback that the run is handled, so
    on-call never gets a second mail for it.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from tenant_integrity.monitoring import mail, paging, validation

    if not recipients:  # check_alerting failed: its error already says what is missing
        raise AirflowFailException("no alert sent: on-call alerting is not configured (see task check_alerting)")
    ti = context["ti"]
    link = mail.run_url(ti.dag_id, context["run_id"])
    if reports is None:
        subject = "[tenant_integrity] validation could not run"
        body = paging.validation_mail_body([], link, error="the validate task failed; see its log")
        mail.send_mail(recipients, subject, body)
        mail.mark_alerted(ti, "paged: the validation could not run")
        raise AirflowFailException(f"validate failed; one mail sent to {', '.join(recipients)}")
    objects = [validation.ValidationReport.from_dict(r) for r in reports]
    decided = []
    for report in objects:
        target = None
        try:
            conn_id = GRAPH_CONN_ID if report.spec == validation.GRAPH else load_spec(report.spec).conn_id
            target = DbTarget.from_airflow(conn_id)
            decided.append((report, target, paging.assess(target, report)))
        except Exception as exc:  # no history, no comparison: page rather than stay silent
            log.exception("could not read the validation history of %s: paging every failure", report.spec)
            why = f"the validation history could not be read ({type(exc).__name__}): paged without comparing"
            decided.append((report, target, paging.page_everything(report, why)))
    every = [a for _, _, found in decided for a in found]
    message = paging.alert_mail(objects, every, link)
    if message:
        mail.send_mail(recipients, *message)
        log.info("one mail sent to %s: %s", ", ".join(recipients), message[0])
    for report, target, found in decided:
        if target is not None:
            try:
                paging.record_alerts(target, report, found, mailed=message is not None)
            except Exception:  # the mail is out; a missing record only means the next run pages again
                log.exception("could not record the alert decisions of %s", report.spec)
    if all(r.passed for r in objects):
        if message:
            return f"clean: {message[0]} (one mail sent to {', '.join(recipients)})"
        log.info("validation clean for %s: no mail sent", ", ".join(r.spec for r in objects))
        return "clean: no mail sent"
    known = paging.known_summary(every)
    if any(a.pages for a in every):
        mail.mark_alerted(ti, "paged")
        also = f"; known, not paged again: {known}" if known else ""
        raise AirflowFailException(f"{message[0]} (one mail sent to {', '.join(recipients)}){also}")
    mail.mark_alerted(ti, "known failures: not paged again")
    sent = f"; {message[0]} (one mail sent)" if message else "; no mail sent"
    raise AirflowFailException(
        f"known failure(s), not paged again: {known}{sent}. The data is still wrong, so the run fails."
    )


def log_task_failure(context) -> None:
    """Task-level on_failure_callback: one line naming the DAG, task, run and the error; the error is also
    kept beside the task (XCom) for the run's one failure mail (mail.RunFailureAlert)."""
    from tenant_integrity.monitoring import mail

    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "tenant_integrity task failed: dag %s, task %s, run %s: %s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        context.get("run_id"),
        context.get("exception"),
    )
    if ti is not None:
        try:
            mail.remember_failure(ti, context.get("exception"))
        except Exception:  # the log line above is the record that matters; never fail the callback
            log.exception("could not keep the error of %s for the failure mail", getattr(ti, "task_id", "?"))
