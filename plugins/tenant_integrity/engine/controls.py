"""Pause, resume and cancel a run between two chunks.

A person (the operator page, or `python -m tenant_integrity pause|resume|cancel`) writes a request row
into `tenant_run_controls` in the target database; every writer reads the requests that reach its run
before each chunk (gh-ost's throttle flag file, as a table every worker of every run can see). So a chunk
is never cut in half: a pause holds the writers after the chunk that was running, the task stays running
and says who paused it and since when; a cancel ends the task after the current chunk, and the run
resumes from its checkpoint when the task is cleared. A pause with scope `*` holds every run on the
database at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenant_integrity.core.errors import ParamError, TenantIntegrityError
from tenant_integrity.core.settings import PROGRESS_EVERY_S
from tenant_integrity.store import sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)
PAUSE, CANCEL = "pause", "cancel"
EVERY_RUN = "*"  # a pause of every run on this database
POLL_S = 1.0  # how often a paused writer looks again


@dataclass(frozen=True)
class ControlRequest:
    action: str
    scope: str
    run_id: str
    requested_by: str
    requested_at: dt.datetime

    def __str__(self) -> str:
        whom = "every run on this database" if self.scope == EVERY_RUN else f"spec {self.scope}"
        if self.run_id:
            whom += f", run {self.run_id}"
        return f"{self.action} of {whom} by {self.requested_by} at {self.requested_at:%Y-%m-%d %H:%M:%S} UTC"


class RunCancelled(TenantIntegrityError):
    """A person cancelled the run; every committed chunk is whole and the checkpoint says where to resume."""


def ensure_table(db: Database) -> None:
    db.execute(sql.render("controls/create_run_controls.sql"))
    db.commit()


def requests_for(db: Database, spec_name: str, run_id: str) -> list[ControlRequest]:
    """The pause and cancel requests that reach this run, cancels first (its own short read)."""
    rows = db.rows(sql.render("controls/requests_for_run.sql"), {"spec": spec_name, "run_id": run_id})
    db.commit()
    return [ControlRequest(**row) for row in rows]


def hold_between_chunks(
    db: Database,
    spec_name: str,
    run_id: str,
    where: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """Before a chunk: raise RunCancelled on a cancel (consuming it, so a cleared task resumes), wait while
    paused (logging who paused since when), else return at once. Returns the seconds held."""
    started = clock()
    said_at = None
    while True:
        requests = requests_for(db, spec_name, run_id)
        if not requests:
            if said_at is not None:
                log.info("%s: resumed after %.0f s of pause", where, clock() - started)
            return clock() - started
        first = requests[0]
        if first.action == CANCEL:
            db.execute(
                sql.render("controls/release.sql"), {"action": CANCEL, "scope": first.scope, "run_id": first.run_id}
            )
            db.commit()
            raise RunCancelled(
                f"{where}: cancelled ({first}); every committed chunk is whole — clear the task to resume "
                "from its checkpoint"
            )
        if said_at is None or clock() - said_at >= PROGRESS_EVERY_S:
            log.info("%s: paused (%s), %.0f s so far; resume to continue", where, first, clock() - started)
            said_at = clock()
        sleep(POLL_S)


def request(target: DbTarget, action: str, scope: str, run_id: str = "", requested_by: str = "unknown") -> None:
    """Write a request: pause a spec's runs (or `*`: every run) or one run; cancel one run of a spec."""
    if action not in (PAUSE, CANCEL):
        raise ParamError(f"action must be {PAUSE} or {CANCEL}, got {action!r}")
    if action == CANCEL and (scope == EVERY_RUN or not run_id):
        raise ParamError("cancel names one run: a spec and its run id")
    with target.connect() as db:
        ensure_table(db)
        with db.transaction():
            db.execute(
                sql.render("controls/request.sql"),
                {"action": action, "scope": scope, "run_id": run_id, "requested_by": requested_by[:128]},
            )


def release(target: DbTarget, action: str, scope: str, run_id: str = "") -> None:
    """Withdraw a request (resume is the release of a pause)."""
    with target.connect() as db:
        ensure_table(db)
        with db.transaction():
            db.execute(sql.render("controls/release.sql"), {"action": action, "scope": scope, "run_id": run_id})


def open_requests(target: DbTarget) -> list[ControlRequest]:
    with target.connect() as db:
        ensure_table(db)
        return [ControlRequest(**row) for row in db.rows(sql.render("controls/list_requests.sql"))]
