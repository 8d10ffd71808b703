"""Kill a connection of the run under test from the side, as an operator's KILL or a failover would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from tenant_integrity.store.db import Database


def kill_first_connection_running(target, marker: str, killed: list, poll_s: float = 0.0) -> threading.Thread:
    """A started thread that kills the first other connection caught running a statement containing `marker`
    (its id goes into `killed`); it gives up after 60 s."""

    def killer():
        with target.connect() as admin:
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline:
                for row in admin.rows(
                    "select id from information_schema.processlist where db = %(db)s and id <> connection_id()"
                    " and info like %(marker)s",
                    {"db": target.database, "marker": f"%{marker}%"},
                ):
                    admin.execute(f"kill connection {int(row['id'])}")
                    killed.append(row["id"])
                    break
                admin.commit()
                time.sleep(poll_s)

    thread = threading.Thread(target=killer)
    thread.start()
    return thread


def sigkill_when(
    target,
    worker_code: str,
    args: list[str],
    done: str | Callable[[Database], int],
    at_least: int,
    poll_s: float = 0.002,
) -> None:
    """Run `worker_code` in a Python process (argv: args); SIGKILL it once `done` counts `at_least`.

    `done` is a count statement or a probe of a connection (row_locks.waiters_count for a lock wait). One polling
    connection: it must be faster than the worker's chunks. Before the worker made the table the count reads, the
    count fails: the poll just goes on. A `done` that waits for a state that lasts (a lock wait) may poll more slowly.
    """
    from tests.conftest import PROJECT

    worker = subprocess.Popen(
        [sys.executable, "-c", worker_code, *args],
        env={**os.environ, "PYTHONPATH": str(PROJECT / "plugins")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    with target.connect() as watcher:
        while time.monotonic() < deadline and worker.poll() is None:
            try:
                count = watcher.scalar(done) if isinstance(done, str) else done(watcher)
                watcher.commit()
                if count >= at_least:
                    break
            except Exception:  # the table does not exist before the worker's first phase made it
                watcher.rollback()
            time.sleep(poll_s)
    worker.send_signal(signal.SIGKILL)  # no cleanup: an open transaction dies with the connection
    worker.wait(timeout=30)
