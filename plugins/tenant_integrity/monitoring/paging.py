"""Who on-call is paged for, and what the page says: a new or grown failure pages, a known one is recorded, a
resolved one is told.

Each failing critical check of a daily validation is compared with its previous result for the same spec in
tenant_validation_history, and with what on-call was last told about it (tenant_validation_alerts): `decide` is
that policy as a pure function, `assess` reads its inputs, `record_alerts` remembers what was told, and
`alert_mail` writes the one mail of a run (subject, HTML body with up to SAMPLE_IN_MAIL ids per check)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tenant_integrity.checks.gates import CheckResult
from tenant_integrity.monitoring import mail
from tenant_integrity.monitoring.validation import SAMPLE_IN_MAIL, ValidationReport
from tenant_integrity.store import sql
from tenant_integrity.store.db import DbTarget

FAILING = ("new", "grown", "known")
REVIEW_CHECK = "open_review_rows"  # the warning whose rows wait for a person (checks/daily_open_review_rows.sql)
NULL_CHECKS = ("active_null_tenant", "new_null_since_last_validation")
# its failure is the news of one validation (rows new since the previous one): passing the next day is no "resolved"
EVENT_CHECKS = ("new_null_since_last_validation",)


@dataclass
class CheckAlert:
    """What on-call is told about one critical check of one validation."""

    spec: str
    check: str
    status: str  # new | grown | known | resolved
    observed: object = None
    previous: dict | None = None  # the check's previous result: observed_value, passed, checked_at, …
    new_ids: list = field(default_factory=list)
    paged_at: object = None  # known / resolved: when on-call was paged about this failure
    note: str = ""

    @property
    def pages(self) -> bool:
        return self.status in ("new", "grown")


def _is_skipped(check: CheckResult) -> bool:
    return str(check.observed).startswith("skipped")


def _count(value) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if hasattr(value, "strftime") else str(value)


def decide(report: ValidationReport, previous: dict[str, dict], told: dict[str, dict]) -> list[CheckAlert]:
    """The alert decision for each critical check of `report`.

    previous: check name -> its newest earlier result (history row); told: check name -> the newest
    earlier alert row. A failing check is *new* if it passed (or did not exist) before, *grown* if its
    count grew or ids appear that the previous sample did not have, *known* if neither and on-call was
    paged about it (and not told it is resolved since), else *new* again (nobody was paged: e.g. only the
    CLI saw it). A passing check on-call still believes failing is *resolved* (not an EVENT_CHECKS one).
    """
    out = []
    for c in report.checks:
        if c.severity != "critical" or _is_skipped(c):
            continue
        prev, last = previous.get(c.check), told.get(c.check)
        believed_failing = last is not None and last["status"] in FAILING
        if c.success:
            if believed_failing and c.check not in EVENT_CHECKS:
                out.append(CheckAlert(report.spec, c.check, "resolved", c.observed, prev, paged_at=last["paged_at"]))
            continue
        if prev is None or prev["passed"]:
            out.append(CheckAlert(report.spec, c.check, "new", c.observed, prev))
            continue
        before = {str(i) for i in json.loads(prev["sample_ids"] or "[]")}
        new_ids = [i for i in c.sample[:SAMPLE_IN_MAIL] if str(i) not in before]
        now, then = _count(c.observed), _count(prev["observed_value"])
        grown = now > then if now is not None and then is not None else str(c.observed) != prev["observed_value"]
        if grown or new_ids:
            out.append(CheckAlert(report.spec, c.check, "grown", c.observed, prev, new_ids))
        elif believed_failing and last["paged_at"] is not None:
            out.append(CheckAlert(report.spec, c.check, "known", c.observed, prev, paged_at=last["paged_at"]))
        else:
            note = "it failed in the previous validation too, but on-call was not paged about it"
            out.append(CheckAlert(report.spec, c.check, "new", c.observed, prev, note=note))
    return out


def assess(target: DbTarget, report: ValidationReport) -> list[CheckAlert]:
    """Read the history of report's spec and decide what to tell on-call (see decide())."""
    values = {"spec": report.spec, "validation_no": report.validation_no}
    with target.connect() as db:
        db.execute(sql.render("bookkeeping/create_validation_alerts.sql"))
        with db.transaction(read_only=True):
            previous = db.rows(sql.render("bookkeeping/previous_validation_checks.sql"), values)
            told = db.rows(sql.render("bookkeeping/last_validation_alerts.sql"), values)
    return decide(report, {r["check_name"]: r for r in previous}, {r["check_name"]: r for r in told})


def page_everything(report: ValidationReport, why: str) -> list[CheckAlert]:
    """When the history cannot be read: every failing check pages (a duplicate page beats a lost one)."""
    return [CheckAlert(report.spec, c.check, "new", c.observed, note=why) for c in report.failed]


def record_alerts(target: DbTarget, report: ValidationReport, alerts: list[CheckAlert], mailed: bool) -> None:
    """Keep what on-call was told (after the mail went out: a mail that failed is not recorded as paged)."""
    rows = [
        {
            "validation_no": report.validation_no,
            "spec": report.spec,
            "run_id": report.run_id,
            "check_name": a.check,
            "status": a.status,
            "observed_value": str(a.observed)[:255],
            "paged": int(mailed and a.status != "known"),
            "paged_at": a.paged_at,
        }
        for a in alerts
    ]
    if not rows:
        return
    with target.connect() as db:
        db.execute(sql.render("bookkeeping/create_validation_alerts.sql"))
        with db.transaction():
            for row in rows:
                db.execute(sql.render("bookkeeping/insert_validation_alert.sql"), row)


def _as_new(reports: list[ValidationReport]) -> list[CheckAlert]:
    return [CheckAlert(r.spec, c.check, "new", c.observed) for r in reports for c in r.failed]


def _growth(a: CheckAlert | None) -> str:
    if a is None or a.status != "grown":
        return ""
    then = a.previous["observed_value"] if a.previous else "?"
    if _count(a.observed) is not None and _count(then) is not None and _count(a.observed) > _count(then):
        return f" (grown {then}->{a.observed})"
    return " (new ids)"


def validation_mail_subject(reports: list[ValidationReport], alerts: list[CheckAlert] | None = None) -> str:
    """`FAILED - <spec>: <checks that page>` (every failed check without `alerts`); `RESOLVED - …` when
    nothing pages but checks pass again. ASCII: pagers and filters."""
    alerts = _as_new(reports) if alerts is None else alerts
    by_key = {(a.spec, a.check): a for a in alerts}
    parts = []
    for r in reports:
        paging = [(c, by_key.get((r.spec, c.check))) for c in r.failed]
        names = [c.check + _growth(a) for c, a in paging if a is not None and a.pages]
        if names:
            parts.append(f"{r.spec}: {', '.join(names)}")
    if parts:
        return "[tenant_integrity] validation FAILED - " + " | ".join(parts)
    resolved = {}
    for a in alerts:
        if a.status == "resolved":
            resolved.setdefault(a.spec, []).append(a.check)
    return "[tenant_integrity] validation RESOLVED - " + " | ".join(f"{s}: {', '.join(c)}" for s, c in resolved.items())


def _ids(values) -> str:
    from html import escape

    return ", ".join(escape(str(s)) for s in values) or "-"


def _review_split(report: ValidationReport, check: CheckResult) -> str:
    """For the NULL-tenant checks: which of the ids shown wait in open review rows (known, a person
    decides them) and which do not (leaks nobody is looking at yet)."""
    review = next((c for c in report.checks if c.check == REVIEW_CHECK and not c.success), None)
    if check.check not in NULL_CHECKS or review is None:
        return ""
    waiting = {str(s) for s in review.sample}
    shown = check.sample[:SAMPLE_IN_MAIL]
    under = [s for s in shown if str(s) in waiting]
    if not under:
        return ""
    outside = [s for s in shown if str(s) not in waiting]
    return f"<br>of these ids, waiting in open review rows: {_ids(under)}; not under review: {_ids(outside)}"


def _failure_item(report: ValidationReport, c: CheckResult, a: CheckAlert | None) -> str:
    from html import escape

    first = f"; first bad created_at: {escape(str(c.first_bad_created_at))}" if c.first_bad_created_at else ""
    change = ""
    if a is not None and a.status == "grown" and a.previous:
        change = (
            f" (previous validation, {escape(_when(a.previous['checked_at']))}: "
            f"{escape(str(a.previous['observed_value']))} row(s); new ids: {_ids(a.new_ids)})"
        )
    note = f"<br>{escape(a.note)}" if a is not None and a.note else ""
    return (
        f"<li><b>{escape(c.check)}</b>: {escape(str(c.observed))} row(s){change}{first}<br>"
        f"ids (up to {SAMPLE_IN_MAIL}): {_ids(c.sample[:SAMPLE_IN_MAIL])}{_review_split(report, c)}"
        f"<br><i>{escape(c.description)}</i>{note}</li>"
    )


def validation_mail_body(
    reports: list[ValidationReport],
    log_url: str | None,
    error: str | None = None,
    alerts: list[CheckAlert] | None = None,
) -> str:
    """The on-call mail (HTML). Per spec: the failures that page (count, up to 20 ids, first bad
    created_at; for a grown one the previous count and the new ids), the known ones (not paged again,
    with the date they were paged), the resolved ones, and the open review rows as what they are."""
    from html import escape

    alerts = _as_new(reports) if alerts is None else alerts
    by_key = {(a.spec, a.check): a for a in alerts}
    paging = any(a.pages for a in alerts)
    if error or paging:
        title = "tenant_validation_daily failed"
    elif any(a.status == "resolved" for a in alerts):
        title = "tenant_validation_daily: resolved"
    else:
        title = "tenant_validation_daily: known failures only"
    out = [f"<h2>{title}</h2>"]
    if error:
        out.append(f"<p><b>The validation could not run:</b> <pre>{escape(error)}</pre></p>")
    for r in reports:
        mine = {c: by_key[(r.spec, c)] for c in [x.check for x in r.checks] if (r.spec, c) in by_key}
        if not mine:
            continue
        checks = {c.check: c for c in r.checks}
        out.append(f"<h3>spec {escape(r.spec)} — table {escape(r.table)} ({escape(r.mode)})</h3>")
        paged = [n for n, a in mine.items() if a.pages]
        known = [n for n, a in mine.items() if a.status == "known"]
        resolved = [n for n, a in mine.items() if a.status == "resolved"]
        if paged:
            out.append("<p>New or grown failures:</p><ul>")
            out.extend(_failure_item(r, checks[n], mine[n]) for n in paged)
            out.append("</ul>")
        if known:
            out.append("<p>Still failing, not paged again:</p><ul>")
            for n in known:
                c, a = checks[n], mine[n]
                out.append(
                    f"<li><b>{escape(n)}</b>: {escape(str(c.observed))} row(s) — known failure, "
                    f"paged on {escape(_when(a.paged_at))}; ids (up to {SAMPLE_IN_MAIL}): "
                    f"{_ids(c.sample[:SAMPLE_IN_MAIL])}{_review_split(r, c)}</li>"
                )
            out.append("</ul>")
        if resolved:
            out.append("<p>Resolved (passes again):</p><ul>")
            for n in resolved:
                a = mine[n]
                was = (
                    f"{escape(str(a.previous['observed_value']))} row(s) on {escape(_when(a.previous['checked_at']))}"
                    if a.previous and not a.previous["passed"]
                    else "failing"
                )
                paged_on = f"; paged on {escape(_when(a.paged_at))}" if a.paged_at else ""
                out.append(f"<li><b>{escape(n)}</b> passes again (was {was}{paged_on})</li>")
            out.append("</ul>")
        review = checks.get(REVIEW_CHECK)
        if review is not None and not review.success:
            out.append(
                f"<p><b>Open review rows</b> (warning {REVIEW_CHECK}: rows waiting for a person's decision in "
                f"tenant_review_import — known rows, not new leaks): {escape(str(review.observed))} row(s); "
                f"ids (up to {SAMPLE_IN_MAIL}): {_ids(review.sample[:SAMPLE_IN_MAIL])}</p>"
            )
        if paged or known:
            page = mail.validation_page_url(r.validation_no)
            if page:  # the operator page shows the validation and serves its Data Docs
                out.append(f'<p>Validation and Data Docs: <a href="{escape(page)}">{escape(page)}</a></p>')
            else:
                for docs in r.data_docs[:1]:
                    out.append(f"<p>Data Docs (on the Airflow host): {escape(docs.removeprefix('file://'))}</p>")
    if log_url:
        out.append(f'<p>Airflow run and task logs: <a href="{escape(log_url)}">{escape(log_url)}</a></p>')
    out.append("<p>What to do: README.md, section 'On-call'.</p>")
    return "\n".join(out)


def alert_mail(
    reports: list[ValidationReport], alerts: list[CheckAlert], log_url: str | None
) -> tuple[str, str] | None:
    """The run's one mail (subject, HTML), or None when nothing is new, grown or resolved."""
    if not any(a.pages or a.status == "resolved" for a in alerts):
        return None
    return validation_mail_subject(reports, alerts), validation_mail_body(reports, log_url, alerts=alerts)


def known_summary(alerts: list[CheckAlert]) -> str:
    """One line for the task log and the failed task's message: the known failures and their page."""
    return "; ".join(f"{a.spec}: {a.check} (paged on {_when(a.paged_at)})" for a in alerts if a.status == "known")
