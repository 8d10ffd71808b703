"""A thin connection to the customer's MySQL/MariaDB database (mysqlclient driver).

Every session runs with time_zone '+00:00' (TIMESTAMP values are read and written in UTC,
so backups and audit rows round-trip exactly) and a short lock wait, so a chunk that meets an
application lock fails fast instead of holding its own locks. On MariaDB, grouped derived tables
are materialized once, not per outer row (backfill/materialize_once.sql says why).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import MySQLdb
import MySQLdb.cursors

from tenant_integrity import sql


@dataclass(frozen=True)
class DbTarget:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> DbTarget:
        """mysql://user:pw@host:3306/db, as in AIRFLOW_CONN_TENANT_DB."""
        parts = urlsplit(url)
        if parts.scheme not in {"mysql", "mysql+mysqldb"}:
            raise ValueError(f"expected a mysql:// URL, got scheme {parts.scheme!r}")
        database = parts.path.lstrip("/")
        if not database:
            raise ValueError("the connection URL names no database (mysql://user:pw@host:3306/<db>)")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
        )

    @classmethod
    def from_airflow(cls, conn_id: str) -> DbTarget:
        from airflow.sdk import BaseHook  # imported here: the package stays usable without Airflow

        conn = BaseHook.get_connection(conn_id)
        if not conn.schema:
            raise ValueError(f"Airflow connection {conn_id!r} names no database (its schema/path is empty)")
        return cls(
            host=conn.host or "127.0.0.1",
            port=int(conn.port or 3306),
            user=conn.login or "root",
            password=conn.password or "",
            database=conn.schema,
        )

    def sqlalchemy_url(self):
        from sqlalchemy.engine import URL

        return URL.create(
            "mysql+mysqldb",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.database,
            query={"charset": "utf8mb4"},
        )

    def __repr__(self) -> str:  # never print the password
        return f"DbTarget({self.user}@{self.host}:{self.port}/{self.database})"

    def connect(self, lock_wait_timeout: int = 5) -> Database:
        conn = MySQLdb.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            passwd=self.password,
            db=self.database,
            charset="utf8mb4",
            autocommit=False,
        )
        db = Database(conn, self)
        db.execute("set session time_zone = '+00:00'")
        db.execute("set session innodb_lock_wait_timeout = %(t)s", {"t": lock_wait_timeout})
        if db.server_is_mariadb():  # the classification's grouped CTEs: once per chunk, not once per row
            db.execute(sql.render("backfill/materialize_once.sql"))
        db.commit()
        return db


class Database:
    def __init__(self, conn, target: DbTarget):
        self.conn = conn
        self.target = target

    def execute(self, sql: str, params: dict | None = None) -> int:
        with self.conn.cursor() as cur:
            return cur.execute(sql, params)

    def execute_many(self, sql: str, rows: list[dict]) -> int:
        """One statement for many parameter sets (the driver batches an INSERT … VALUES into one round trip)."""
        with self.conn.cursor() as cur:
            return cur.executemany(sql, rows) or 0

    def insert(self, sql: str, params: dict | None = None) -> int:
        """Run an INSERT and return the AUTO_INCREMENT id it generated."""
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return int(cur.lastrowid)

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        with self.conn.cursor(MySQLdb.cursors.DictCursor) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def stream(self, sql: str, params: dict | None = None):
        """Iterate rows without holding the whole result in memory."""
        with self.conn.cursor(MySQLdb.cursors.SSDictCursor) as cur:
            cur.execute(sql, params)
            yield from cur

    def scalar(self, sql: str, params: dict | None = None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row else None

    def server_is_mariadb(self) -> bool:
        """MariaDB or MySQL, from version(): behind a proxy the handshake's version string is the proxy's."""
        version = self.scalar(sql.render("server_version.sql")) or ""
        return "mariadb" in version.lower()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    @contextlib.contextmanager
    def transaction(self, read_only: bool = False):
        """One transaction: committed on success, rolled back whole on any error."""
        self.execute("start transaction read only" if read_only else "start transaction")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            self.commit()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
