"""The project's own tables in the target database: audit log, runs, review queue, backups."""

from __future__ import annotations

import logging
import re

from tenant_integrity.core.errors import SpecError
from tenant_integrity.core.spec import IDENTIFIER, Spec, TargetKey, check_live_schema, referenced_tables, target_key
from tenant_integrity.store import sql
from tenant_integrity.store.db import Database

log = logging.getLogger(__name__)

# Every table this project creates in the customer's database, besides the per-table backups and archives
# (spec.BACKUP_PREFIX, ARCHIVE_PREFIX). One list: the runs' grants and discovery read it.
RUN_TABLES = (  # written by the DAGs' tasks: the least-privilege grant set covers each
    "tenant_audit_log",
    "tenant_runs",
    "tenant_review_queue",
    "tenant_validation_runs",
    "tenant_validation_history",
    "tenant_validation_alerts",
    "tenant_checkpoints",
    "tenant_range_checksums",
    "tenant_run_controls",
    "tenant_heartbeat",
    "tenant_watch_history",
    "tenant_watch_findings",
)
GUARD_LOG_TABLE = "tenant_guard_log"  # written by tenant_guard's triggers, with their definer's rights
PROJECT_TABLES = frozenset({*RUN_TABLES, GUARD_LOG_TABLE})
ARCHIVE_PREFIX = "tenant_archive_"  # tenant_constraints' archive of a table's soft-deleted orphans

# COLUMN_TYPE strings from information_schema that the backup table may copy verbatim
_PLAIN_TYPE = re.compile(r"^[a-z]+( ?\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$")
_ENUM_TYPE = re.compile(r"^(enum|set)\('([^'\\]|''|\\.)*'(,'([^'\\]|''|\\.)*')*\)$")
# character set and collation names as information_schema spells them (utf8mb4_0900_ai_ci, latin1_swedish_ci)
_CHARSET_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


class SqlType(sql.Ident):
    """A column type read from information_schema and checked against a strict pattern."""


def _sql_type(column_type: str, where: str, charset: str | None = None, collation: str | None = None) -> SqlType:
    """The column's whole type: a copy compares equal to the original under the original's own collation."""
    text = column_type.strip().lower()
    if not (_PLAIN_TYPE.match(text) or _ENUM_TYPE.match(column_type.strip())):
        raise ValueError(f"{where}: column type {column_type!r} is not one the backup table can copy")
    if not charset:  # numbers, dates, binary strings: no character set
        return SqlType(column_type.strip())
    for name in (charset, collation):
        if not (isinstance(name, str) and _CHARSET_NAME.match(name)):
            raise ValueError(f"{where}: character set or collation {name!r} is not one the backup table can copy")
    return SqlType(f"{column_type.strip()} character set {charset} collate {collation}")


def read_schema(db: Database, tables: list[str]) -> tuple[dict, dict]:
    """information_schema columns and single-column unique keys of the given tables."""
    params = {"tables": tuple(tables)}
    columns: dict[str, dict[str, dict]] = {}
    for row in db.rows(sql.render("bookkeeping/table_columns.sql"), params):
        columns.setdefault(row["table_name"], {})[row["column_name"]] = {
            "data_type": row["data_type"],
            "column_type": row["column_type"],
            "is_nullable": row["is_nullable"],
            "ordinal": row["ordinal_position"],
            # MySQL/MariaDB set such a column on every UPDATE unless the statement assigns it
            "auto_updates": "on update" in (row["extra"] or "").lower(),
            "character_set": row["character_set_name"],
            "collation": row["collation_name"],
        }
    unique: dict[str, set[str]] = {}
    for row in db.rows(sql.render("bookkeeping/single_column_unique_keys.sql"), params):
        unique.setdefault(row["table_name"], set()).add(row["column_name"])
    db.commit()
    return columns, unique


def validate_against_database(db: Database, spec: Spec) -> dict[str, dict[str, dict]]:
    """Raise SpecError unless every object the spec names exists with usable types."""
    columns, unique = read_schema(db, referenced_tables(spec))
    check_live_schema(spec, columns, unique)
    # every statement rendered for this spec from now on knows the key's kind (integer, or text in a collation)
    object.__setattr__(spec, "target_key", target_key(spec, columns))
    bad = [c for c in columns[spec.target.table] if not IDENTIFIER.match(c)]
    if bad:
        raise SpecError(
            spec.name, [f"target.table: columns {bad} cannot be backed up (names outside {IDENTIFIER.pattern})"]
        )
    return columns


def resolve_target_key(db: Database, spec: Spec) -> TargetKey:
    """Read the target key's kind (integer, or text in a character set and collation) into spec.target_key.

    It decides which bookkeeping columns every statement about keys names: row_id, last_key, until_key
    and max_key_before for an integer key, row_key and the *_text columns for a text key. A phase must
    not count on an earlier one to have read it: each Airflow task runs in a process of its own, where
    the spec is loaded afresh and knows only the default (an integer key). A phase that does not begin
    with validate_against_database calls this first; the engine calls it on every chunk connection.
    """
    columns, _ = read_schema(db, [spec.target.table])
    if spec.target.key not in columns.get(spec.target.table, {}):
        raise SpecError(spec.name, [f"target.key: column {spec.target.table}.{spec.target.key} does not exist"])
    key = target_key(spec, columns)
    object.__setattr__(spec, "target_key", key)
    return key


def target_columns(spec: Spec, columns: dict) -> list[dict]:
    """Every column of the target, in table order, as quoted name + checked type."""
    ordered = sorted(columns[spec.target.table].items(), key=lambda item: item[1]["ordinal"])
    return [
        {
            "name": sql.quote(name),
            "type": _sql_type(
                info["column_type"], f"{spec.target.table}.{name}", info.get("character_set"), info.get("collation")
            ),
            "raw": name,
        }
        for name, info in ordered
    ]


def auto_updated_columns(spec: Spec, columns: dict) -> list[str]:
    """Target columns an UPDATE would move by itself (ON UPDATE CURRENT_TIMESTAMP): writes assign them to themselves."""
    written = set(spec.written_columns)
    return [
        name
        for name, info in sorted(columns[spec.target.table].items(), key=lambda item: item[1]["ordinal"])
        if info.get("auto_updates") and name not in written
    ]


def write_statement(template: str, spec: Spec, auto_updated: list[str]) -> str:
    """Render a statement that UPDATEs the target: it keeps every auto-updating column (`auto_updated`) as it is."""
    return sql.render(template, spec, auto_updated_columns=[sql.quote(c) for c in auto_updated])


def _definition(info: dict) -> tuple:
    return (info["column_type"].lower(), info.get("character_set"), info.get("collation"))


def backup_table_gaps(db: Database, spec: Spec) -> list[str]:
    """Target columns the backup table lacks, or holds with another type, character set or collation.

    A backup must hold every column of a row, each defined as in the target: a copy in another
    collation would not compare with its row (rollback's "unchanged since" check would fail with
    an illegal mix of collations, or quietly compare under other rules).
    """
    columns, _ = read_schema(db, [spec.target.table, spec.backup_table])
    db.commit()
    have = columns.get(spec.backup_table, {})
    return [
        name
        for name, info in columns[spec.target.table].items()
        if name not in have or _definition(have[name]) != _definition(info)
    ]


def ensure_tables(db: Database, spec: Spec, columns: dict) -> list[dict]:
    """Create the bookkeeping tables if missing; add target columns the backup table lacks.

    A user without CREATE on them gets an error naming the privilege, before any customer row is written.
    """
    import MySQLdb

    try:
        return _ensure_tables(db, spec, columns)
    except MySQLdb.OperationalError as exc:
        if exc.args and exc.args[0] in (1142, 1044):
            raise SpecError(
                spec.name,
                [
                    f"missing privilege for the bookkeeping tables: {exc.args[1]} (python -m tenant_integrity grants --spec {spec.name})"
                ],
            ) from exc
        raise


# the shared tables made before text keys were supported, and the column each upgrade adds
TEXT_KEY_UPGRADES = {
    "tenant_audit_log": "row_key",
    "tenant_review_queue": "row_key",
    "tenant_checkpoints": "last_key_text",
    "tenant_runs": "max_key_before_text",
}


def _add_text_key_columns(db: Database) -> None:
    """Upgrade bookkeeping tables an older version made: add the text key columns (once; MySQL has no ADD IF NOT EXISTS)."""
    existing, _ = read_schema(db, list(TEXT_KEY_UPGRADES))
    for table, column in TEXT_KEY_UPGRADES.items():
        if column not in existing.get(table, {}):
            log.info("upgrading %s: adding the text key columns", table)
            db.execute(sql.render(f"bookkeeping/add_text_key_columns_{table.removeprefix('tenant_')}.sql"))


def _ensure_tables(db: Database, spec: Spec, columns: dict) -> list[dict]:
    for template in (
        "bookkeeping/create_audit_log.sql",
        "bookkeeping/create_runs.sql",
        "bookkeeping/create_review_queue.sql",
        "bookkeeping/create_validation_runs.sql",
        "bookkeeping/create_validation_history.sql",
        "bookkeeping/create_checkpoints.sql",
        "controls/create_run_controls.sql",  # a person's pause / cancel, read by the writers between chunks
    ):
        db.execute(sql.render(template))
    db.execute(sql.render("checksums/create_range_checksums.sql"))
    _add_text_key_columns(db)
    backup_columns = target_columns(spec, columns)
    db.execute(sql.render("bookkeeping/create_backup_table.sql", spec, backup_columns=backup_columns))
    existing, _ = read_schema(db, [spec.backup_table])
    have = existing.get(spec.backup_table, {})
    for column in backup_columns:
        if column["raw"] not in have:
            db.execute(sql.render("bookkeeping/add_backup_column.sql", spec, column=column))
        elif _definition(have[column["raw"]]) != _definition(columns[spec.target.table][column["raw"]]):
            # made by an older version (one fixed collation), or the application changed the column since
            db.execute(sql.render("bookkeeping/modify_backup_column.sql", spec, column=column))
    db.commit()
    return backup_columns
