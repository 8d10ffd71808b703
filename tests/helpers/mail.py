"""A real SMTP server for mail tests (aiosmtpd), and the environment that points Airflow's smtp_default at it."""

from __future__ import annotations

import contextlib
import email
import socket
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message


class Inbox(Message):
    """Every message the server received, parsed."""

    def __init__(self):
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []

    def handle_message(self, message):
        self.messages.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server():
    """(inbox, port) of an SMTP server on a free local port, stopped at the end."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def mail_env(port: int, **extra: str) -> dict:
    """Airflow's smtp_default and the on-call Variable, pointed at the test's server."""
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&from_email=airflow%40example.org",
        "AIRFLOW_VAR_ON_CALL_EMAIL": "oncall@example.org",
        **extra,
    }
