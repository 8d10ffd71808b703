"""On-call mail: the daily validation's page, and one mail per failed run of every DAG.

Both go through the smtp provider's SmtpHook on connection `smtp_default` to the Airflow Variable
`on_call_email`, as multipart/alternative: a text/plain part first (what a terminal, `less` on an .eml file or an
SMS gateway shows), then the same as HTML. The daily validation checks that configuration at the start of its
run, so a missing connection or Variable fails it loudly; the per-run failure mail of the other DAGs only logs
then.

Links in a mail point at the Airflow UI (`[api] base_url`), never at `file://` paths.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote

from tenant_integrity.core.errors import TenantIntegrityError

log = logging.getLogger(__name__)
SMTP_CONN_ID = "smtp_default"
RECIPIENT_VARIABLE = "on_call_email"
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+$")  # `oncall@localhost` is an address too (make airflow)
FAILURE_XCOM = "tenant_failure"  # log_task_failure: the error a failed task ended with
LABEL_XCOM = "tenant_failure_label"  # and its map index's name (map_index_template: the spec), if it has one
ALERTED_XCOM = "tenant_alerted"  # alert_for_run: this run's on-call mail is sent (or deliberately not)
ERROR_IN_MAIL = 2000  # characters of a task's error in the failure mail
# on the wire: a subject on one line, as pagers and mail filters match it (the body is encoded at 76 columns)
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)


class AlertingNotConfigured(TenantIntegrityError):
    """The run cannot alert anyone: fail it now, not at 04:00 when it matters."""


def recipients_from(value: str | None) -> list[str]:
    """`on_call_email` may list several addresses separated by commas or semicolons."""
    found = [a.strip() for a in re.split(r"[,;]", value or "") if a.strip()]
    bad = [a for a in found if not _EMAIL.match(a)]
    if not found or bad:
        raise AlertingNotConfigured(
            f"Airflow Variable {RECIPIENT_VARIABLE!r} must hold one or more email addresses; got {value!r}"
        )
    return found


def check_alerting_configured() -> list[str]:
    """Return the on-call recipients, or raise naming what is missing (connection and/or Variable)."""
    from airflow.sdk import BaseHook, Variable

    problems = []
    try:
        BaseHook.get_connection(SMTP_CONN_ID)
    except Exception as exc:  # the SDK raises different types for "not found" across versions
        problems.append(
            f"Airflow connection {SMTP_CONN_ID!r} is missing ({type(exc).__name__}); set AIRFLOW_CONN_SMTP_DEFAULT"
        )
    recipients: list[str] = []
    try:
        recipients = recipients_from(Variable.get(RECIPIENT_VARIABLE, default=None))
    except AlertingNotConfigured as exc:
        problems.append(f"{exc}; set AIRFLOW_VAR_ON_CALL_EMAIL")
    if problems:
        raise AlertingNotConfigured("on-call alerting is not configured: " + " and ".join(problems))
    return recipients


def send_mail(recipients: list[str], subject: str, html: str) -> None:
    """Send on smtp_default (its from_email extra, else tenant-integrity@localhost): text/plain, then HTML.

    Subject and body go out as given, never rendered as templates (an error message with "{{" in it must reach
    the mail as it is)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook
    from airflow.sdk import BaseHook

    sender = BaseHook.get_connection(SMTP_CONN_ID).extra_dejson.get("from_email") or "tenant-integrity@localhost"
    message = mail_message(sender, recipients, subject, html)
    # the hook connects as the connection says (TLS or not, login, timeout, retries to connect); its own
    # send_email_smtp builds an HTML-only message, so the client it connected sends ours
    with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
        for attempt in range(hook.smtp_retry_limit + 1):
            try:
                hook._smtp_client.sendmail(sender, recipients, message.as_bytes(policy=WIRE_POLICY))
                return
            except Exception:
                if attempt == hook.smtp_retry_limit:
                    raise


def mail_message(sender: str, recipients: list[str], subject: str, html: str) -> EmailMessage:
    """multipart/alternative: the text of `html` first, then `html`."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message.set_content(plain_text(html), cte="quoted-printable")  # readable as it is in the raw message
    message.add_alternative(html, subtype="html")
    return message


class _PlainText(HTMLParser):
    """The text of our mails' HTML: paragraphs and headings apart, list items as "- ", <pre> kept as it is,
    a link's address beside its text."""

    BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "ul", "ol", "table", "tr", "pre"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.in_pre = False
        self.link: tuple[str, int] | None = None  # (href, where its text starts)

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append("  ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.in_pre = True
        elif tag == "a":
            self.link = (dict(attrs).get("href") or "", len(self.parts))

    def handle_endtag(self, tag):
        if tag == "pre":
            self.in_pre = False
        if tag == "a" and self.link:
            href, start = self.link
            if href and "".join(self.parts[start:]).strip() != href:
                self.parts.append(f" <{href}>")
            self.link = None
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.in_pre:
            data = re.sub(r"\s+", " ", data)
            if not self.parts or self.parts[-1].endswith("\n"):
                data = data.lstrip()  # no line starts with the HTML source's indentation
        self.parts.append(data)


def plain_text(html: str) -> str:
    """The text/plain part of a mail whose HTML is `html`."""
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    text = "\n".join(line.rstrip() for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def run_url(dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow UI, under `[api] base_url` (what Airflow's own task log links use)."""
    from airflow.sdk.configuration import conf

    base = conf.get("api", "base_url", fallback=None) or "http://localhost:8080"
    return f"{base.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id)}"


def mark_alerted(ti, what: str) -> None:
    """Tell the run's failure callback that this run's mail is handled (it sends no second one)."""
    ti.xcom_push(ALERTED_XCOM, what)


def remember_failure(ti, exception) -> None:
    """A failed task's error, kept beside the task for the run's failure mail (XCom of the failed try)."""
    text = f"{type(exception).__name__}: {exception}" if exception is not None else "no exception recorded"
    ti.xcom_push(FAILURE_XCOM, text[:ERROR_IN_MAIL])
    if getattr(ti, "rendered_map_index", None):
        ti.xcom_push(LABEL_XCOM, str(ti.rendered_map_index))


# --- one mail per failed DAG run --------------------------------------------------------------------


@dataclass
class TaskFailure:
    task_id: str
    map_index: int = -1
    error: str | None = None
    alerted: str | None = None  # set when the task itself already told on-call about this run
    label: str | None = None  # the map index's name (a spec), where the DAG names its map indexes

    @property
    def name(self) -> str:
        if self.map_index < 0:
            return self.task_id
        return f"{self.task_id}[{self.label or self.map_index}]"


def _task_key(key: str, task_ids: set[str]) -> tuple[str, int]:
    """The task states API names a mapped task instance `<task_id>_<map_index>`."""
    if key not in task_ids:
        base, _, index = key.rpartition("_")
        if base in task_ids and index.isdigit():
            return base, int(index)
    return key, -1


def _failures_through_the_api(dag, run_id: str) -> tuple[list[TaskFailure], list[str]]:
    """In the dag-processor (where Airflow 3 runs DAG callbacks) and in workers: the Execution API."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom

    states = RuntimeTaskInstance.get_task_states(dag_id=dag.dag_id, run_ids=[run_id]).get(run_id, {})
    failures, upstream = [], []
    for key, state in sorted(states.items()):
        task_id, map_index = _task_key(key, set(dag.task_ids))
        if state == "upstream_failed":
            upstream.append(key)
        if state != "failed":
            continue
        found = {
            name: XCom.get_one(key=name, dag_id=dag.dag_id, task_id=task_id, run_id=run_id, map_index=map_index)
            for name in (FAILURE_XCOM, ALERTED_XCOM, LABEL_XCOM)
        }
        failures.append(TaskFailure(task_id, map_index, found[FAILURE_XCOM], found[ALERTED_XCOM], found[LABEL_XCOM]))
    return failures, upstream


def _failures_from_the_metadata_database(dag, run_id: str) -> tuple[list[TaskFailure], list[str]]:
    """`airflow dags test` runs DAG callbacks in its own process, without the Execution API: read the
    metadata database it runs on."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.execute(
            select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state)
            .where(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run_id)
            .order_by(TaskInstance.task_id, TaskInstance.map_index)
        ).all()
        values = {
            (row.task_id, row.map_index, row.key): XComModel.deserialize_value(row)
            for row in session.execute(
                select(XComModel.task_id, XComModel.map_index, XComModel.key, XComModel.value).where(
                    XComModel.dag_id == dag.dag_id,
                    XComModel.run_id == run_id,
                    XComModel.key.in_([FAILURE_XCOM, ALERTED_XCOM, LABEL_XCOM]),
                )
            ).all()
        }
    failures = [
        TaskFailure(t, m, *(values.get((t, m, key)) for key in (FAILURE_XCOM, ALERTED_XCOM, LABEL_XCOM)))
        for t, m, state in tis
        if state == "failed"
    ]
    upstream = [t if m < 0 else f"{t}_{m}" for t, m, state in tis if state == "upstream_failed"]
    return failures, upstream


# tasks that only carry the verdict of others (tenant_backfill's watcher leaf): never named as a failure's cause
VERDICT_TASKS = frozenset({"fail_if_a_spec_failed"})


def run_failures(dag, run_id: str) -> tuple[list[TaskFailure], list[str]]:
    """The failed task instances of a run (with their errors) and the ones that never ran (upstream failed)."""
    from airflow.sdk.execution_time import task_runner

    if getattr(task_runner, "SUPERVISOR_COMMS", None) is not None:
        failures, upstream = _failures_through_the_api(dag, run_id)
    else:
        failures, upstream = _failures_from_the_metadata_database(dag, run_id)
    return [f for f in failures if f.task_id not in VERDICT_TASKS], upstream


def _spec_of(params: dict) -> str:
    if params.get("specs"):
        return ", ".join(str(s) for s in params["specs"])
    if "spec" in params:
        return str(params["spec"]) if params["spec"] else "every spec"
    return "-"


def failure_mail(
    dag_id: str,
    run_id: str,
    params: dict,
    failures: list[TaskFailure],
    upstream_failed: list[str],
    link: str,
    reason: str | None = None,
    run_timeout_s: float | None = None,
    running: str | None = None,
) -> tuple[str, str]:
    """Subject (ASCII: pagers and filters) and HTML body of the one mail about a failed run.

    `reason` is Airflow's ("timed_out": the scheduler ended the run at its dagrun_timeout, `run_timeout_s`, and
    marked its unfinished tasks skipped; `running` is the task it was still waiting for)."""
    spec = _spec_of(params)
    timed_out = reason == "timed_out"
    if timed_out:
        reason = "run timed out" + (f" after {run_timeout_s:g} s" if run_timeout_s else "")
    tasks = ", ".join(f.name for f in failures) or (reason or "no failed task")
    subject = f"[tenant_integrity] {dag_id} FAILED - {spec}: {tasks}"
    out = [
        f"<h2>{escape(dag_id)} failed</h2>",
        f"<p>DAG: <b>{escape(dag_id)}</b><br>Spec: <b>{escape(spec)}</b><br>Run: {escape(run_id)}",
    ]
    if "dry_run" in params:
        out[-1] += f"<br>Dry run: {'yes' if params['dry_run'] else 'no'}"
    out[-1] += "</p>"
    if timed_out:
        limit = f" of {run_timeout_s:g} s" if run_timeout_s else ""
        still = f" while <b>{escape(running)}</b> had not finished" if running else ""
        out.append(
            f"<p>The run <b>timed out</b>: it ran longer than its run timeout{limit} (dagrun_timeout, "
            f"TENANT_DAG_TIMEOUTS) and Airflow ended it{still}; its unfinished tasks are marked skipped. "
            "A task waiting on a lock or on a slow query is the usual cause: its log shows where.</p>"
        )
    if failures:
        out.append("<p>Failed task(s):</p><ul>")
        for f in failures:
            error = escape(f.error or "the error is in the task's log")
            out.append(f"<li><b>{escape(f.name)}</b><pre>{error}</pre></li>")
        out.append("</ul>")
    elif not timed_out:
        out.append(f"<p>No task failed: the run ended as failed ({escape(reason or 'unknown reason')}).</p>")
    if upstream_failed:
        out.append(f"<p>Not run (an upstream task failed): {escape(', '.join(upstream_failed))}</p>")
    out.append(f'<p>The run and its task logs: <a href="{escape(link)}">{escape(link)}</a></p>')
    out.append("<p>What to do: README.md, section 'On-call'.</p>")
    return subject, "\n".join(out)


class RunFailureAlert:
    """The DAG-level on_failure_callback of every DAG: one mail per failed run (not per task) naming
    the DAG, the spec from the params, each failed task with its error, and the run's page.

    Airflow 3 calls it once when a run ends failed (in the dag-processor; `airflow dags test` in its
    own process). A run whose own alert task already mailed on-call (tenant_validation_daily) gets no
    second mail; a dry run gets none (a dry run reports, it never pages). Without `smtp_default` or `on_call_email` it logs what it would have sent; it never
    raises (a broken alert must not hide the failure it reports).
    """

    __name__ = "tenant_integrity_run_failure_alert"  # Airflow logs callbacks by name

    def __call__(self, context) -> None:
        dag, run_id = context["dag"], context["run_id"]
        try:
            self.alert(context)
        except Exception:
            log.exception(
                "tenant_integrity: no failure mail for %s run %s: the alert itself failed", dag.dag_id, run_id
            )

    def alert(self, context) -> str:
        dag, run_id = context["dag"], context["run_id"]
        try:
            failures, upstream = run_failures(dag, run_id)
        except Exception:
            log.exception("tenant_integrity: could not read the failed tasks of %s run %s", dag.dag_id, run_id)
            ti = context.get("ti")  # the task whose failure ended the run
            failures, upstream = (
                ([TaskFailure(ti.task_id, ti.map_index if ti.map_index is not None else -1)] if ti else []),
                [],
            )
        alerted = [f for f in failures if f.alerted]
        if alerted:
            log.info(
                "%s run %s: on-call was already told by %s (%s); no second mail",
                dag.dag_id,
                run_id,
                alerted[0].name,
                alerted[0].alerted,
            )
            return "already alerted"
        params = dict(context.get("params") or {})
        if not params and context.get("dag_run") is not None:
            params = dict(getattr(context["dag_run"], "conf", None) or {})
        if params.get("dry_run") is True:
            # a dry run exists to find problems: its failure is on the run's page, and nobody is paged for it
            log.info("%s run %s: a dry run failed; a dry run reports, it never pages: no mail", dag.dag_id, run_id)
            return "dry run"
        timeout = getattr(dag, "dagrun_timeout", None)
        last = context.get("ti")  # a timed-out run: its unfinished task that started last (Airflow's relevant_ti)
        subject, html = failure_mail(
            dag.dag_id,
            run_id,
            params,
            failures,
            upstream,
            run_url(dag.dag_id, run_id),
            context.get("reason"),
            timeout.total_seconds() if timeout is not None else None,
            getattr(last, "task_id", None),
        )
        try:
            recipients = check_alerting_configured()
        except AlertingNotConfigured as exc:
            log.warning("tenant_integrity: no failure mail sent (%s). It would have said: %s", exc, subject)
            return "not configured"
        send_mail(recipients, subject, html)
        log.info("tenant_integrity: failure mail sent to %s: %s", ", ".join(recipients), subject)
        return "sent"


def validation_page_url(validation_no: int) -> str | None:
    """This validation on the operator page, under Airflow's [api] base_url; None when no base URL is set."""
    try:
        from airflow.configuration import conf
    except ImportError:  # the package without Airflow (CLI, unit tests)
        return None
    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}/tenant-integrity/validations/{int(validation_no)}" if base else None
