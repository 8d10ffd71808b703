"""The tenant_watch DAG's two tasks: watch every spec within its 48 hours, then page once for what is new."""

from __future__ import annotations

import datetime as dt
import logging

from tenant_integrity.core.errors import ParamError
from tenant_integrity.core.spec import load_spec, spec_names
from tenant_integrity.monitoring import mail
from tenant_integrity.monitoring.watch import (
    WATCH_HOURS,
    SpecWatch,
    check_run,
    page,
    skipped_watch,
    watch_hour_of,
    watched_run,
)
from tenant_integrity.store.db import DbTarget

log = logging.getLogger(__name__)


def _names(params: dict) -> list[str]:
    unknown = set(params) - {"spec"}
    if unknown:
        raise ParamError(f"unknown params {sorted(unknown)} (known: spec)")
    return [params["spec"]] if params.get("spec") else spec_names()


def watch_for_airflow(params: dict, watch_run_id: str, hour: dt.datetime) -> list[dict]:
    """The watch task: every spec (or the one in params); alerting must be configured once a spec is watched."""
    hour = watch_hour_of(hour)
    results, todo = [], []
    for name in _names(params):
        spec = load_spec(name)
        target = DbTarget.from_airflow(spec.conn_id)
        run, before, skipped = watched_run(target, spec)
        if skipped:
            results.append(skipped_watch(spec, watch_run_id, hour, skipped))
        else:
            todo.append((target, spec, run, before))
    if todo:
        mail.check_alerting_configured()  # a leak found with nobody to tell fails now, not silently
    for target, spec, run, before in todo:
        results.append(check_run(target, spec, run, before, watch_run_id, hour))
    return [r.to_dict() for r in results]


def page_for_airflow(context, results: list[dict]) -> str:
    """The page task: one mail for what is new, then fail the run while anything is found; clean says so."""
    from airflow.sdk.exceptions import AirflowFailException

    watched = [SpecWatch.from_dict(r) for r in results]
    watched = [w for w in watched if w.watched]
    if not watched:
        log.info("no spec is within %s h of a succeeded tenant_backfill run: nothing watched, no mail", WATCH_HOURS)
        return "nothing watched: no mail"
    task_log_url = getattr(context["ti"], "log_url", None)
    log_url = task_log_url.split("/tasks/")[0] if task_log_url else None

    def send(subject: str, body: str) -> None:
        recipients = mail.check_alerting_configured()
        mail.send_mail(recipients, subject, body)

    targets = [(DbTarget.from_airflow(load_spec(w.spec).conn_id), w) for w in watched]
    result = page(targets, context["run_id"], send, log_url)
    if result.mailed:
        _handled(context, "paged: the watch's one mail for this run")
        raise AirflowFailException(f"{result.subject} (one mail sent)")
    if result.found:
        _handled(context, "known: every finding was mailed by an earlier watch run")
        raise AirflowFailException(
            f"{result.found} finding(s) still present, every one mailed by an earlier watch run: no mail sent"
        )
    log.info("watch clean for %s: no mail sent", ", ".join(w.spec for w in watched))
    return "clean: no mail sent"


def _handled(context, what: str) -> None:
    """A run this task fails on purpose has had its mail (or deliberately none): a DAG-level failure mail that
    honours mail.mark_alerted must not send a second one (or page every hour for a known leak)."""
    mail.mark_alerted(context["ti"], what)
