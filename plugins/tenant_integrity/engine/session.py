"""A chunk connection prepared for one recipe, and the retry policy every unit of a phase runs under:
transient lock trouble retries with bounded backoff, a lost connection reconnects and redoes the unit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tenant_integrity.core.errors import ChunkError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine.recipe import Recipe
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)

# --- policy ----------------------------------------------------------------------------------
TRANSIENT = {1205: "lock wait timeout", 1213: "deadlock"}
CONNECTION_LOST = {2006: "server has gone away", 2013: "lost connection", 1927: "connection killed"}
MAX_ATTEMPTS = 5  # per chunk: lock trouble and lost connections, then the phase fails
RETRY_FIRST_DELAY_S = 0.25  # doubled on every attempt ...
RETRY_MAX_DELAY_S = 4.0  # ... up to this
RECONNECT_ATTEMPTS = 3
SAMPLE_IDS = 20  # ids a phase names in its result and log


class Session:
    """A chunk connection prepared for one recipe; reconnects after a lost connection."""

    def __init__(self, target: DbTarget, spec: Spec, recipe: Recipe, ctx: RunContext):
        self.target, self.spec, self.recipe, self.ctx = target, spec, recipe, ctx
        self.retries = 0
        self.samples_wanted = SAMPLE_IDS
        self.db: Database = None  # type: ignore[assignment]
        self.prepared: Any = None
        self.checkpoint_sql = ""  # rendered once the connection has read the key's kind (connect)
        self.connect()

    def connect(self) -> None:
        """(Re)connect and prepare the session; a connection lost while doing so is retried too."""
        import MySQLdb

        for attempt in range(1, RECONNECT_ATTEMPTS + 1):
            if self.db is not None:
                self.db.close()
            try:
                self.db = self.target.connect()
                # the checkpoint's columns follow the key's kind, read from the database here: this process
                # (an Airflow task's) may be the first to use the spec, which then still says "integer"
                bookkeeping.resolve_target_key(self.db, self.spec)
                self.checkpoint_sql = sql.render("bookkeeping/save_checkpoint.sql", self.spec)
                self.prepared = self.recipe.prepare(self.db)
                self.db.commit()
                return
            except MySQLdb.OperationalError as exc:
                if not (exc.args and exc.args[0] in CONNECTION_LOST) or attempt == RECONNECT_ATTEMPTS:
                    raise
                log.warning("spec %s: connection lost while connecting (%s); again", self.spec.name, exc.args[1])
                self.retries += 1
                time.sleep(0.5 * attempt)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def retrying(session: Session, where: str, work, sleep=time.sleep):
    """Run one unit of a phase (a chunk, or a read between chunks) in the chunk session.

    Transient lock trouble retries with bounded backoff; a lost connection reconnects first. `where` names
    the keys involved for the log and the final error.
    """
    import MySQLdb

    spec, phase = session.spec, session.recipe.phase
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return work()
        except MySQLdb.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if code not in TRANSIENT and code not in CONNECTION_LOST:
                raise
            why = TRANSIENT.get(code) or CONNECTION_LOST[code]
            if attempt == MAX_ATTEMPTS:
                raise ChunkError(
                    f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}, {where}: "
                    f"{why} on {MAX_ATTEMPTS} attempts; giving up (the chunk was rolled back each time)"
                ) from exc
            session.retries += 1
            delay = min(RETRY_FIRST_DELAY_S * 2 ** (attempt - 1), RETRY_MAX_DELAY_S)
            log.warning(
                "spec %s, phase %s, %s: %s (attempt %s of %s); retrying in %.2fs",
                spec.name,
                phase,
                where,
                why,
                attempt,
                MAX_ATTEMPTS,
                delay,
            )
            sleep(delay)
            if code in CONNECTION_LOST:
                session.connect()
    raise AssertionError("unreachable")
