"""A thin connection to the customer's MySQL/MariaDB database (mysqlclient driver).

Every session runs with time_zone '+00:00' (TIMESTAMP values are read and written in UTC,
so backups and audit rows round-trip exactly) and a short lock wait, so a chunk that meets an
application lock fails fast instead of holding its own locks. On MariaDB, grouped derived tables
are materialized once, not per outer row (backfill/materialize_once.sql says why).

A target is opened with what its Airflow MySQL connection's extras say, read as the mysql provider's
MySqlHook reads them for mysqlclient (apache-airflow-providers-mysql 6.7.1, `_get_conn_config_mysql_client`):
`ssl` (a dict of ca/capath/cert/key/cipher, or JSON of one, as an extra given in a URL query is), `ssl_mode`
(DISABLED … VERIFY_IDENTITY) and `unix_socket`; also `init_command` (the hook takes that one as an argument)
and `ssl_ca`/`ssl_cert`/`ssl_key`/`ssl_capath`/`ssl_cipher` (SQLAlchemy's URL spelling of the same keys).
The session's character set stays utf8mb4 whatever `charset` says (backups must hold every character);
`cursor` is ignored (each query picks its cursor), and `iam` is refused (its token expires within a run).
The same options reach GX (sqlalchemy_url) and the replicas' connections (replicas.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import MySQLdb
import MySQLdb.cursors

from tenant_integrity.store import sql

log = logging.getLogger(__name__)

CHARSET = "utf8mb4"
SSL_KEYS = ("ca", "capath", "cert", "key", "cipher")  # what mysqlclient reads from its `ssl` dict
SSL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
# refusals that say the connection's TLS is missing or wrong (3159 MySQL 8, 4036 MariaDB 11+; MariaDB 10.11
# answers a connection without TLS to a require_secure_transport=ON server with 1045 Access denied)
SECURE_TRANSPORT_REQUIRED = {3159, 4036}
TLS_ERROR = 2026  # CR_SSL_CONNECTION_ERROR: the handshake failed (certificate not verified, no TLS on the server)
UNREACHABLE = {2002, 2003, 2005}
_SAME = object()


class ConnectFailed(MySQLdb.OperationalError):
    """Opening a connection failed: args are (MySQL error code, a message naming the connection, host and cause).

    Still a MySQLdb.OperationalError with the server's code first, so code that retries by error code keeps working.
    """

    def __str__(self) -> str:
        return str(self.args[1]) if len(self.args) > 1 else super().__str__()


def _frozen(value: Any) -> Any:
    """A mapping as sorted (key, value) pairs: a DbTarget stays hashable, comparable and picklable."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    return value


def connect_options(extra: Mapping[str, Any], where: str) -> tuple[tuple[str, Any], ...]:
    """The mysqlclient connect() options an Airflow MySQL connection's extras ask for, as (name, value) pairs.

    `where` names the connection in an error. Values are read as MySqlHook reads them: an `ssl` given as a
    string (an extra from a URL query) is JSON; a falsy value is not set.
    """
    if extra.get("iam"):
        raise ValueError(
            f"{where}: extra iam (AWS IAM authentication) is not supported: its token expires after 15 minutes,"
            " and a run opens connections for longer"
        )
    options: dict[str, Any] = {}
    ssl = extra.get("ssl")
    if isinstance(ssl, str) and ssl:
        try:
            ssl = json.loads(ssl)
        except json.JSONDecodeError as exc:
            raise ValueError(f'{where}: extra ssl is not JSON (expected {{"ca": "<CA file>", …}}): {exc}') from exc
    flat = {key: extra[f"ssl_{key}"] for key in SSL_KEYS if extra.get(f"ssl_{key}")}
    if ssl is True and not flat:
        options["ssl"] = True  # mysqlclient: the same as ssl_mode REQUIRED
    elif ssl or flat:
        if ssl and ssl is not True and not isinstance(ssl, Mapping):
            raise ValueError(f'{where}: extra ssl must be a JSON object such as {{"ca": "<CA file>"}}')
        given = {**flat, **(ssl if isinstance(ssl, Mapping) else {})}
        unknown = sorted(set(given) - set(SSL_KEYS))
        if unknown:
            log.warning(
                "%s: extra ssl keys %s are not mysqlclient's (%s) and are ignored; for hostname verification set"
                " ssl_mode VERIFY_IDENTITY",
                where,
                ", ".join(unknown),
                ", ".join(SSL_KEYS),
            )
        chosen = {k: str(v) for k, v in given.items() if k in SSL_KEYS and v}
        if chosen:
            options["ssl"] = chosen
        elif ssl is True:
            options["ssl"] = True
    mode = extra.get("ssl_mode")
    if mode:
        if str(mode).upper() not in SSL_MODES:
            raise ValueError(f"{where}: extra ssl_mode {mode!r} is not one of {', '.join(SSL_MODES)}")
        options["ssl_mode"] = str(mode).upper()
    for name in ("unix_socket", "init_command"):
        if extra.get(name):
            options[name] = str(extra[name])
    charset = extra.get("charset")
    if charset and str(charset).lower() != CHARSET:
        log.warning(
            "%s: extra charset %r is ignored: sessions use %s, so backups and audit rows hold every character",
            where,
            charset,
            CHARSET,
        )
    return _frozen(options)


def url_extras(query: str) -> dict[str, Any]:
    """A URL's query as Airflow's Connection reads it: the keys, or all of them as JSON under `__extra__`."""
    pairs = dict(parse_qsl(query, keep_blank_values=True))
    if "__extra__" in pairs:
        extra = json.loads(pairs["__extra__"])
        if not isinstance(extra, dict):
            raise ValueError("the URL's __extra__ is not a JSON object")
        return extra
    return pairs


# how long any statement of ours waits for a table's metadata lock (DDL sessions wait less: metadata_locks)
METADATA_LOCK_WAIT_S = 60


@dataclass(frozen=True)
class DbTarget:
    host: str
    port: int
    user: str
    password: str
    database: str
    # connect() options from the connection's extras (TLS, unix_socket, init_command): sorted (name, value)
    # pairs, `ssl` as pairs of its own (connect_options); never in repr, nor is the password
    options: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    conn_id: str | None = field(default=None, compare=False, repr=False)  # the Airflow connection, for errors

    @classmethod
    def from_url(cls, url: str, conn_id: str | None = None) -> DbTarget:
        """mysql://user:pw@host:3306/db?ssl_mode=REQUIRED&ssl=…, as in AIRFLOW_CONN_TENANT_DB (its JSON form too)."""
        where = f"connection {conn_id!r}" if conn_id else "the connection URL"
        if url.lstrip().startswith("{"):
            return cls._from_json(url, conn_id, where)
        parts = urlsplit(url)
        if parts.scheme not in {"mysql", "mysql+mysqldb"}:
            raise ValueError(f"expected a mysql:// URL, got scheme {parts.scheme!r}")
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ValueError("the connection URL names no database (mysql://user:pw@host:3306/<db>)")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
            options=connect_options(url_extras(parts.query), where),
            conn_id=conn_id,
        )

    @classmethod
    def _from_json(cls, text: str, conn_id: str | None, where: str) -> DbTarget:
        """An AIRFLOW_CONN_<ID> in Airflow's JSON form: {"conn_type": "mysql", "host": …, "extra": {…}}."""
        try:
            conn = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where} is neither a mysql:// URL nor JSON: {exc.msg}") from exc
        if not isinstance(conn, dict) or conn.get("conn_type", "mysql") != "mysql":
            raise ValueError(f"{where}: expected an Airflow connection of conn_type mysql")
        if not conn.get("schema"):
            raise ValueError(f"{where} names no database (its schema is empty)")
        extra = conn.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return cls(
            host=conn.get("host") or "127.0.0.1",
            port=int(conn.get("port") or 3306),
            user=conn.get("login") or "root",
            password=conn.get("password") or "",
            database=conn["schema"],
            options=connect_options(extra, where),
            conn_id=conn_id,
        )

    @classmethod
    def from_airflow(cls, conn_id: str) -> DbTarget:
        """The Airflow connection `conn_id` (environment, secrets backend or metadata database), with its extras."""
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
            options=connect_options(conn.extra_dejson, f"Airflow connection {conn_id!r}"),
            conn_id=conn_id,
        )

    @property
    def ssl(self) -> dict[str, str] | bool | None:
        value = dict(self.options).get("ssl")
        return dict(value) if isinstance(value, tuple) else value

    @property
    def tls(self) -> str:
        """What the connection asks of TLS, for messages: `none`, or its ssl_mode and files (no secrets there)."""
        options = dict(self.options)
        ssl, mode = self.ssl, options.get("ssl_mode")
        if not ssl and mode in (None, "DISABLED"):
            return "none"
        parts = [f"ssl_mode {mode}" if mode else "ssl_mode REQUIRED" if ssl is True else ""]
        if isinstance(ssl, dict):
            parts += [f"{k} {ssl[k]}" for k in SSL_KEYS if k in ssl and k != "cipher"]
        return ", ".join(p for p in parts if p) or "ssl"

    def connect_kwargs(self, database: Any = _SAME) -> dict[str, Any]:
        """mysqlclient connect() arguments: the login, the database (None: none), utf8mb4 and the extras' options."""
        database = self.database if database is _SAME else database
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "passwd": self.password,
            "charset": CHARSET,
            **({"db": database} if database else {}),
        }
        for name, value in self.options:
            kwargs[name] = dict(value) if isinstance(value, tuple) else value
        return kwargs

    def describe(self) -> str:
        """The connection in an error: its Airflow id, user@host:port/db and TLS settings (never the password)."""
        address = f"{self.user}@{self.host}:{self.port}/{self.database}"
        socket = dict(self.options).get("unix_socket")
        shown = f"{address}, socket {socket}" if socket and self.host in ("localhost", "") else address
        name = f"Airflow connection {self.conn_id!r} ({shown}" if self.conn_id else f"{shown} ("
        return f"{name}{', ' if self.conn_id else ''}TLS: {self.tls})"

    def open(self, database: Any = _SAME, **kwargs):
        """A raw mysqlclient connection (connect_kwargs plus `kwargs`); a refusal raises ConnectFailed, naming why."""
        try:
            return MySQLdb.connect(**{**self.connect_kwargs(database), **kwargs})
        except MySQLdb.OperationalError as exc:
            raise connect_failed(self, exc) from exc

    def sqlalchemy_url(self):
        """The same connection for SQLAlchemy's mysqldb dialect (GX): the TLS options as its URL query spells them."""
        from sqlalchemy.engine import URL

        query: dict[str, str] = {"charset": CHARSET}
        ssl = self.ssl
        if isinstance(ssl, dict):
            query.update({f"ssl_{k}": v for k, v in ssl.items()})
        options = dict(self.options)
        if options.get("ssl_mode"):
            query["ssl_mode"] = options["ssl_mode"]
        elif ssl is True:
            query["ssl_mode"] = "REQUIRED"
        for name in ("unix_socket", "init_command"):
            if options.get(name):
                query[name] = options[name]
        # GX's sessions wait for a metadata lock no longer than ours (one init command only: the connection's own
        # init_command, when it has one, is kept instead)
        query.setdefault("init_command", f"set session lock_wait_timeout = {int(METADATA_LOCK_WAIT_S)}")
        return URL.create(
            "mysql+mysqldb",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.database,
            query=query,
        )

    def __repr__(self) -> str:  # never print the password
        return f"DbTarget({self.user}@{self.host}:{self.port}/{self.database})"

    def connect(self, lock_wait_timeout: int = 5) -> Database:
        conn = self.open(autocommit=False)
        db = Database(conn, self)
        db.execute("set session time_zone = '+00:00'")
        db.execute("set session innodb_lock_wait_timeout = %(t)s", {"t": lock_wait_timeout})
        # a table's metadata lock (LOCK TABLES, a DDL): the server's default wait is a year, and a wait inside the
        # driver is one that no task timeout can interrupt; bounded, it is an error a retry or a mail handles
        db.execute(sql.render("locks/metadata_lock_wait.sql"), {"seconds": METADATA_LOCK_WAIT_S})
        if db.server_is_mariadb():  # the classification's grouped CTEs: once per chunk, not once per row
            db.execute(sql.render("backfill/materialize_once.sql"))
        db.commit()
        return db


def connect_failed(target: DbTarget, exc: MySQLdb.OperationalError) -> ConnectFailed:
    """The refusal as a person needs it: which connection, which host, and what failed (TLS, login, network)."""
    code = exc.args[0] if exc.args else None
    said = exc.args[1] if len(exc.args) > 1 else str(exc)
    ssl = target.ssl
    if code in SECURE_TRANSPORT_REQUIRED:
        why = (
            f"the server requires TLS (require_secure_transport=ON) and this connection does not use it ({said});"
            ' give the connection the extra {"ssl": {"ca": "<CA file>"}} (or "ssl_mode": "REQUIRED")'
        )
    elif code == 1045 and target.tls == "none":
        why = (
            f"the server refused the login ({said}). This connection does not use TLS, and a server with"
            " require_secure_transport=ON refuses a connection without TLS with this same error: if it requires"
            ' TLS, give the connection the extra {"ssl": {"ca": "<CA file>"}} (or "ssl_mode": "REQUIRED");'
            " otherwise check the login and password"
        )
    elif code == 1045:
        why = f"the server refused the login over TLS ({said}): check the login and password"
    elif code == TLS_ERROR and "required" in said.lower() and "support" in said.lower():
        why = f"the connection asks for TLS and the server offers none ({said})"
    elif code == TLS_ERROR and isinstance(ssl, dict) and ssl.get("ca"):
        why = (
            f"the TLS handshake failed ({said}): the server's certificate does not verify against the CA file"
            f" {ssl['ca']} (is it the CA that signed the server's certificate, readable here, and does the"
            " certificate name the host for ssl_mode VERIFY_IDENTITY?)"
        )
    elif code == TLS_ERROR:
        why = f"the TLS handshake failed ({said})"
    elif code in UNREACHABLE:
        why = f"the server does not answer ({said})"
    else:
        why = said
    return ConnectFailed(code, f"cannot connect to {target.describe()}: {why} [MySQL error {code}]")


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
