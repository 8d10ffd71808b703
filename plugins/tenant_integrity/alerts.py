"""On-call mail for the daily validation: one mail per failed run, through the smtp provider.

The configuration is checked at the start of a run, so a missing `smtp_default` connection or
`on_call_email` Variable fails the run loudly instead of silently dropping the alert.
"""

from __future__ import annotations

import re

from tenant_integrity.errors import TenantIntegrityError

SMTP_CONN_ID = "smtp_default"
RECIPIENT_VARIABLE = "on_call_email"
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


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


def send_mail(context, recipients: list[str], subject: str, html: str) -> None:
    """Send through SmtpNotifier on smtp_default (its from_email extra, else on-call's own address)."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier
    from airflow.sdk import BaseHook

    sender = BaseHook.get_connection(SMTP_CONN_ID).extra_dejson.get("from_email") or "tenant-integrity@localhost"
    # notify() sends as given; only the notifier's __call__ would render subject and body as templates
    notifier = SmtpNotifier(
        to=recipients, from_email=sender, subject=subject, html_content=html, smtp_conn_id=SMTP_CONN_ID
    )
    notifier.notify(context)
