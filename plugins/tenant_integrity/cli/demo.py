"""Create a database and load the shipped demo data sets (include/demo) into it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from tenant_integrity.core.paths import INCLUDE_DIR
from tenant_integrity.store import sql
from tenant_integrity.store.db import DbTarget

DEMO_DIR = INCLUDE_DIR / "demo"
DATA_SETS = {
    "schema_only": ["schema"],
    "seed_incident": ["schema", "seed_incident"],
    "all": ["schema", "seed_incident", "edge_cases"],
    # the demo's: the seed incident across the whole tenant graph, every NULL row repairable from evidence
    "incident_graph": ["schema", "seed_incident", "graph_incident"],
}
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# a collation name as information_schema spells it: <charset>_<rest> (utf8mb4_unicode_ci, latin1_swedish_ci)
_COLLATION = re.compile(r"^[a-z][a-z0-9]{1,31}(_[a-z0-9]{1,32}){1,4}$")
_CHARSET = re.compile(r"^[a-z][a-z0-9]{1,31}$")
log = logging.getLogger(__name__)


def statements(name: str) -> list[str]:
    """The statements of include/demo/<name>.sql (they end with ';' at a line end)."""
    text = (DEMO_DIR / f"{name}.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE) if s.strip()]


def recreate_database(target: DbTarget, data_set: str = "all", collation: str = "utf8mb4_unicode_ci") -> None:
    """Drop and recreate target.database with `collation` as its default, then load the data set's files in order.

    The demo tables name no character set or collation: they inherit the database's default. The
    connection stays utf8mb4 and the server converts. In a database whose character set is not
    utf8mb4, a character that set cannot hold (data set 2 has `Łukasz 東京`, not in latin1) is
    stored as `?` (the server's own conversion, logged) instead of failing the strict-mode insert.
    """
    if not _DB_NAME.match(target.database):
        raise ValueError(f"refusing to recreate database {target.database!r}")
    if data_set not in DATA_SETS:
        raise ValueError(f"unknown demo data set {data_set!r} (known: {', '.join(DATA_SETS)})")
    if not (isinstance(collation, str) and _COLLATION.match(collation) and len(collation) <= 64):
        raise ValueError(f"refusing collation name {collation!r}")
    server = target.open(database=None)  # the connection's TLS and socket options, no database yet
    try:
        with server.cursor() as cur:
            cur.execute(
                "select character_set_name from information_schema.collations where collation_name = %s", (collation,)
            )
            found = cur.fetchone()
            if found is None or not _CHARSET.match(found[0] or ""):
                raise ValueError(f"unknown collation {collation!r} (not in information_schema.collations)")
            charset = found[0]
            cur.execute(f"drop database if exists `{target.database}`")
            cur.execute(f"create database `{target.database}` character set {charset} collate {collation}")
            cur.execute(f"use `{target.database}`")
            cur.execute("set session time_zone = '+00:00'")
            for name in DATA_SETS[data_set]:
                for statement in statements(name):
                    if charset != "utf8mb4":
                        statement = _storable(cur, statement, charset, name)
                    cur.execute(statement)
        server.commit()
    finally:
        server.close()


def _storable(cur, statement: str, charset: str, name: str) -> str:
    """The statement as `charset` can hold it: the server's conversion, `?` for a character it lacks."""
    cur.execute(f"select convert(%s using {charset})", (statement,))
    converted = cur.fetchone()[0]
    if isinstance(converted, bytes):
        converted = converted.decode("utf-8")
    if converted != statement:
        lost = sorted({a for a, b in zip(statement, converted, strict=False) if a != b})
        log.warning("demo %s.sql: characters %s cannot be stored in %s, loaded as '?'", name, "".join(lost), charset)
    return converted


GENERATOR_STEPS = (
    "create_digits",
    "fill_digits",
    "create_seq",
    "fill_seq",
    "fill_companies",
    "fill_phone_numbers",
    "fill_customers",
    "fill_appointments",
    "fill_calls",
    "remember_null_ids",
)


def generate_dataset(
    target: DbTarget, customers: int, companies: int = 1000, log: Callable[[str], None] = lambda _: None
) -> None:
    """Fill a schema-only database with `customers` generated customers (include/sql/bench, server-side).

    25% NULL tenant, ~3 appointments each, conflicts, phone-only rows and orphans at the rates
    benchmarks/README.md lists: the bench's data set, and the concurrency test's at a smaller size.
    """
    places = len(str(max(customers, companies)))
    params = {"n": max(customers, 5), "companies": companies}
    with target.connect(lock_wait_timeout=60) as db:
        for step in GENERATOR_STEPS:
            started = time.perf_counter()
            db.execute(sql.render(f"bench/{step}.sql", places=places), params)
            db.commit()
            log(f"generated {step} in {time.perf_counter() - started:.1f}s")
