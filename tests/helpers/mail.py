"""A real SMTP server for mail tests (aiosmtpd), and the environment that points Airflow's smtp_default at it."""

from __future__ import annotations

import contextlib
import email
import smtplib
import socket
from collections.abc import Callable
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from tenant_integrity.monitoring.mail import WIRE_POLICY, mail_message


class Inbox(Message):
    """Every message the server received, parsed."""

    def __init__(self):
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message):
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


class Refusing(Inbox):
    """A server that takes the envelope and refuses every message at DATA (a full mailbox, a relay that says no)."""

    REPLY = "554 5.7.1 message refused by policy"

    async def handle_DATA(self, server, session, envelope):
        return self.REPLY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler: Inbox | None = None):
    """(inbox, port) of an SMTP server on a free local port, stopped at the end."""
    handler = handler or Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def sender(port: int) -> Callable[[str, str], None]:
    """`send(subject, html)` to the server on `port`, standing in for alerts.send_mail where Airflow is not called."""

    def send(subject: str, html: str) -> None:
        message = mail_message("airflow@example.org", ["oncall@example.org"], subject, html)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("airflow@example.org", ["oncall@example.org"], message.as_bytes(policy=WIRE_POLICY))

    return send


def mail_env(port: int, **extra: str) -> dict:
    """Airflow's smtp_default and the on-call Variable, pointed at the test's server."""
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&from_email=airflow%40example.org",
        "AIRFLOW_VAR_ON_CALL_EMAIL": "oncall@example.org",
        **extra,
    }
