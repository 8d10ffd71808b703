"""A local SMTP server that keeps every message it receives as a file: the on-call inbox of `make airflow`.

    .venv/bin/python scripts/mail_catcher.py --dir .airflow/mail [--port 0] [--port-file FILE]

Listens on 127.0.0.1 (port 0: a free one, written to --port-file once it accepts connections) and
writes each message, as received, to DIR/<UTC time>-<n>.eml; prints one line per message (file, to,
subject). Stops on Ctrl-C / SIGTERM, and by itself when the process that started it ends (after
`exec airflow standalone` in scripts/airflow_local.sh that is Airflow).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import itertools
import os
import signal
import socket
import sys
from datetime import UTC, datetime
from email import policy
from pathlib import Path

from aiosmtpd.smtp import SMTP


class Folder:
    """aiosmtpd handler: one .eml file per message (written whole, then renamed into place)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S_%fZ")
        path = self.folder / f"{stamp}-{next(self.numbers)}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(path)
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        print(
            f"mail_catcher: {path} to {', '.join(envelope.rcpt_tos)}: {str(message.get('Subject', '')).strip()}",
            flush=True,
        )
        return "250 Message accepted for delivery"


async def serve(folder: Path, port: int, port_file: Path | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    handler = Folder(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="localhost"), sock=listener)
    chosen = listener.getsockname()[1]
    if port_file:
        partial = port_file.with_suffix(".part")
        partial.write_text(f"{chosen}\n")
        partial.rename(port_file)
    print(f"mail_catcher: SMTP on 127.0.0.1:{chosen}, messages to {folder}", flush=True)

    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # set explicitly: a background job of a script
        loop.add_signal_handler(signum, stop.set)  # starts with SIGINT ignored
    parent = os.getppid()
    async with server:
        while not stop.is_set() and os.getppid() == parent:  # the starter is gone: we were re-parented
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)
    if port_file:
        port_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path, help="folder for the messages (created)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 (default) picks a free one")
    parser.add_argument("--port-file", type=Path, help="write the port here once listening")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.dir.resolve(), args.port, args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
