"""Replicas the throttle watches, and the heartbeat their lag is measured with (pt-heartbeat's method).

A writing run keeps one row of `tenant_heartbeat (id, ts datetime(6))` in the target database moving on
the primary: before a chunk, and on every look while the writers are paused, it sets
`ts = utc_timestamp(6)`, at most every HEARTBEAT_INTERVAL_S, whichever of the run's workers comes first.
The row replicates like any write, so on a replica `utc_timestamp(6) - ts` is how far behind the primary
it is: high by up to the time since the beat before (one interval, or one chunk when chunks take longer),
and only as right as the two servers' clocks agree, as for pt-heartbeat. The reading stays honest when
replication stops: ts stops moving there, so the lag grows.
`Seconds_Behind_Master` is read too, as a second signal (whole seconds; NULL while the SQL thread is
stopped): the larger of the two counts.

Which replicas: TENANT_THROTTLE_REPLICAS, comma-separated mysql:// URLs; a URL's query sets its connection's
options as an Airflow connection's extras do (db.connect_options: `?ssl_ca=/etc/ca.pem&ssl_mode=VERIFY_CA`,
`ssl` as JSON with its commas as %2C, `unix_socket`, `init_command`). A replica whose lag cannot be read — it
does not answer, it has no heartbeat row, its IO thread is not running, or its SQL thread
stopped on an error — raises ReplicaUnreadable; the throttle pauses the writers for the grace, then
stops the run naming the replica. A SQL thread stopped by an operator (no error) is a pause, not a
failure: its lag grows until it is started again.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from tenant_integrity.core import settings
from tenant_integrity.core.errors import ParamError
from tenant_integrity.core.spec import IDENTIFIER
from tenant_integrity.engine.pacing import Reading
from tenant_integrity.store import sql
from tenant_integrity.store.db import Database, DbTarget, connect_options, url_extras


class ReplicaUnreadable(Exception):
    """A replica's lag cannot be read now (the message says why); the throttle's grace decides what follows."""


@dataclass(frozen=True)
class Replica:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str | None = None  # the target database's name there; None: the same name as on the primary
    options: tuple[tuple[str, Any], ...] = field(default=(), repr=False)  # db.connect_options of the URL's query

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    def target(self, database: str) -> DbTarget:
        """The replica's database as a DbTarget: opened like the primary's, with this URL's own options."""
        return DbTarget(self.host, self.port, self.user, self.password, database, self.options)


def replicas_from(text: str | None) -> list[Replica]:
    """The replicas in a TENANT_THROTTLE_REPLICAS value (an error names the item, never its password)."""
    found = []
    for number, item in enumerate((text or "").split(","), start=1):
        item = item.strip()
        if not item:
            continue
        parts = urlsplit(item)
        try:
            port = parts.port
        except ValueError:
            port = -1
        shown = f"{parts.scheme}://{parts.hostname or ''}" + (
            ":<bad port>" if port == -1 else f":{port}" if port else ""
        )
        if parts.scheme not in {"mysql", "mysql+mysqldb"} or not parts.hostname or port == -1:
            raise ParamError(
                f"{settings.REPLICAS_ENV}: item {number} ({shown}) is not a mysql://user:password@host:port URL"
            )
        database = parts.path.lstrip("/") or None
        if database is not None and not IDENTIFIER.match(database):
            raise ParamError(f"{settings.REPLICAS_ENV}: item {number} ({shown}) names database {database!r}")
        try:
            options = connect_options(url_extras(parts.query), f"{settings.REPLICAS_ENV}: item {number} ({shown})")
        except ValueError as exc:
            raise ParamError(str(exc)) from exc
        found.append(
            Replica(
                host=parts.hostname,
                port=port or 3306,
                user=unquote(parts.username or "root"),
                password=unquote(parts.password or ""),
                database=database,
                options=options,
            )
        )
    return found


def configured_replicas() -> list[Replica]:
    return replicas_from(os.environ.get(settings.REPLICAS_ENV))


class Heartbeat:
    """The primary's side: `tenant_heartbeat.ts` moved at most every `interval` s by any worker of this process."""

    _shared: ClassVar[dict[tuple, Heartbeat]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self.last: float | None = None
        self.lock = threading.Lock()
        self.created = False
        self.create = sql.render("pacing/create_heartbeat.sql")
        self.statement = sql.render("pacing/heartbeat.sql")

    @classmethod
    def of(cls, target: DbTarget) -> Heartbeat:
        """The heartbeat of one target database, shared by every worker (and phase) of this process."""
        key = (target.host, target.port, target.database)
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(settings.HEARTBEAT_INTERVAL_S)
            return cls._shared[key]

    def beat(self, db: Database, force: bool = False) -> bool:
        """Move ts to the primary's utc_timestamp(6) unless a worker did so less than `interval` ago.

        Its own short transaction, between chunks. The table is created on the first beat of a database
        (and again should it have been dropped meanwhile).
        """
        import MySQLdb

        with self.lock:
            now = self.clock()
            if not force and self.last is not None and now - self.last < self.interval:
                return False
            self.last = now  # claimed: the other workers skip this interval
            create = not self.created
            self.created = True
        if create:
            db.execute(self.create)
            db.commit()
        try:
            db.execute(self.statement)
        except MySQLdb.ProgrammingError as exc:
            if not (exc.args and exc.args[0] == 1146):  # no such table: dropped since
                raise
            db.rollback()
            db.execute(self.create)
            db.execute(self.statement)
        db.commit()
        return True


def _first(status: dict, *names: str):
    """A SHOW REPLICA STATUS column under its MySQL 8 or MariaDB/older name."""
    for name in names:
        if name in status:
            return status[name]
    return None


class ReplicaLag:
    """One replica's lag in seconds: max(heartbeat age, Seconds_Behind_Master), on a connection of its own."""

    def __init__(
        self,
        replica: Replica,
        database: str,
        timeout: int = settings.REPLICA_TIMEOUT_S,
        fresh_for: float = settings.HEARTBEAT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.replica = replica
        self.database = replica.database or database
        self.timeout = timeout
        # a reading is reused this long (gh-ost reads lag on its own interval, not per row copy): between
        # small chunks the throttle then costs no round trips to the replica; a failed read is never reused
        self.fresh_for = fresh_for
        self.clock = clock
        self.last: tuple[float, Reading] | None = None
        self.conn = None
        self.status_sql = [sql.render("pacing/replica_status.sql"), sql.render("pacing/replica_status_legacy.sql")]
        self.lag_sql = sql.render("pacing/replica_heartbeat_lag.sql")

    @property
    def signal_name(self) -> str:
        return f"replica {self.replica.name} lag"

    def _connect(self):
        return self.replica.target(self.database).open(
            autocommit=True,
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            write_timeout=self.timeout,
        )

    def _status(self, cur) -> dict:
        import MySQLdb

        for statement in self.status_sql:
            try:
                cur.execute(statement)
            except MySQLdb.ProgrammingError as exc:  # 1064: SHOW REPLICA STATUS is MariaDB 10.5+ / MySQL 8.0.22+
                if exc.args and exc.args[0] == 1064 and statement is not self.status_sql[-1]:
                    continue
                raise
            columns = [d[0] for d in cur.description or ()]
            row = cur.fetchone()
            return dict(zip(columns, row, strict=True)) if row else {}
        return {}

    def read(self) -> Reading:
        if self.last is not None and self.clock() - self.last[0] < self.fresh_for:
            return self.last[1]
        self.last = None
        reading = self._read()
        self.last = (self.clock(), reading)
        return reading

    def _read(self) -> Reading:
        import MySQLdb

        try:
            if self.conn is None:
                self.conn = self._connect()
            with self.conn.cursor() as cur:
                status = self._status(cur)
                if not status:
                    raise ReplicaUnreadable("it is not a replica (SHOW REPLICA STATUS is empty)")
                io = _first(status, "Slave_IO_Running", "Replica_IO_Running")
                running = _first(status, "Slave_SQL_Running", "Replica_SQL_Running")
                if io != "Yes":
                    why = _first(status, "Last_IO_Error") or "stopped"
                    raise ReplicaUnreadable(f"its replication IO thread is not running ({io}: {why})")
                if running != "Yes" and _first(status, "Last_SQL_Errno"):
                    raise ReplicaUnreadable(
                        f"its replication SQL thread stopped on error {_first(status, 'Last_SQL_Errno')}: "
                        f"{_first(status, 'Last_SQL_Error')}"
                    )
                try:
                    cur.execute(self.lag_sql)
                except MySQLdb.ProgrammingError as exc:
                    if not (exc.args and exc.args[0] == 1146):
                        raise
                    # the table has not reached this replica (yet), or it replicates another database
                    raise ReplicaUnreadable(f"no heartbeat table {self.database}.tenant_heartbeat there") from exc
                row = cur.fetchone()
        except ReplicaUnreadable:
            raise
        except MySQLdb.Error as exc:
            self.close()  # reconnect on the next look: the replica may be back
            raise ReplicaUnreadable(exc.args[-1] if exc.args else str(exc)) from exc
        if row is None or row[0] is None:
            raise ReplicaUnreadable(f"no heartbeat row in {self.database}.tenant_heartbeat there")
        heartbeat_lag = max(float(row[0]), 0.0)  # a replica clock behind the primary's reads below zero
        behind = _first(status, "Seconds_Behind_Master", "Seconds_Behind_Source")  # NULL: SQL thread stopped
        notes = [] if running == "Yes" else ["its SQL thread is stopped"]
        if behind is not None and float(behind) > heartbeat_lag:
            notes.append(f"Seconds_Behind_Master {behind}, heartbeat {heartbeat_lag:.2f} s")
        return Reading(max(heartbeat_lag, float(behind or 0)), "; ".join(notes))

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
