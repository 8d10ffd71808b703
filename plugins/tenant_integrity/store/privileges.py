"""Least privilege: the grant set a spec needs, and a preflight probe that names what is missing.

tenant_backfill / tenant_review_import / tenant_validation_daily need:
  SELECT on the target (every column: the backup copies whole rows), the tenant table, evidence
  and relation tables; UPDATE on the target's tenant and soft-delete columns only (plus any
  ON UPDATE CURRENT_TIMESTAMP column, which writes assign to itself so that it does not move); CREATE, INSERT,
  SELECT, UPDATE on the project's own bookkeeping tables; CREATE TEMPORARY TABLES (the per-session
  chunk scratch table). Nothing else: no DELETE, no ALTER, no UPDATE on any other column.
tenant_rollback additionally needs UPDATE on every target column (it restores whole rows);
tenant_constraints needs ALTER, REFERENCES and (for archive_orphans) DELETE on the target.
"""

from __future__ import annotations

import MySQLdb

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.spec import Spec, referenced_tables
from tenant_integrity.store import sql
from tenant_integrity.store.bookkeeping import RUN_TABLES, auto_updated_columns, write_statement
from tenant_integrity.store.db import Database

DENIED = {1142, 1143, 1044, 1045}


class MissingPrivilege(TenantIntegrityError):
    def __init__(self, spec: Spec, user: str, missing: list[str]):
        self.missing = missing
        listing = "\n".join(f"  - {m}" for m in missing)
        super().__init__(
            f"spec {spec.name!r}: user {user} lacks {len(missing)} privilege(s); nothing was written:\n{listing}\n"
            f"(the full grant set: python -m tenant_integrity grants --spec {spec.name})"
        )


def grant_statements(
    spec: Spec, database: str, user: str = "'tenant_integrity'@'%'", auto_updated: list[str] | tuple = ()
) -> list[str]:
    """The least-privilege grant set for the backfill, review import and daily validation.

    `auto_updated`: target columns with ON UPDATE CURRENT_TIMESTAMP; a write assigns them to themselves
    (so they do not move), which needs UPDATE on them too.
    """
    q = sql.quote
    db = q(database)
    t = spec.target
    reads = [f"grant select on {db}.{q(table)} to {user}" for table in referenced_tables(spec)]
    updated = ", ".join(str(q(c)) for c in (*spec.written_columns, *auto_updated))
    write = [f"grant update ({updated}) on {db}.{q(t.table)} to {user}"]
    own = [
        # a writer consumes the cancel it honours (a cleared task must resume, not cancel again)
        f"grant create, insert, select, update{', delete' if table == 'tenant_run_controls' else ''} "
        f"on {db}.{q(table)} to {user}"
        for table in (*RUN_TABLES, spec.backup_table)
    ]
    return [*reads, *write, *own, f"grant create temporary tables on {db}.* to {user}"]


def missing_privileges(db: Database, spec: Spec, write: bool, columns: dict) -> list[str]:
    """Probe with EXPLAIN (checks privileges, touches no row); return what is missing, named."""
    missing = []
    for table in referenced_tables(spec):
        if not _allowed(db, sql.render("privileges/probe_select.sql", table=sql.quote(table))):
            missing.append(f"SELECT on {table}")
    kept = auto_updated_columns(spec, columns)
    if write and not _allowed(db, write_statement("privileges/probe_update.sql", spec, kept)):
        written = [*spec.written_columns, *kept]
        missing.append("UPDATE on " + ", ".join(f"{spec.target.table}.{c}" for c in written))
    db.commit()
    return missing


def _allowed(db: Database, statement: str) -> bool:
    try:
        db.rows(statement)
        return True
    except (MySQLdb.OperationalError, MySQLdb.ProgrammingError) as exc:
        if exc.args and exc.args[0] in DENIED:
            return False
        raise


def require(db: Database, spec: Spec, write: bool, columns: dict) -> None:
    """Raise MissingPrivilege naming every privilege the run lacks (`columns`: the validated live schema)."""
    missing = missing_privileges(db, spec, write, columns)
    if missing:
        raise MissingPrivilege(spec, f"{db.target.user}@{db.target.host}", missing)
