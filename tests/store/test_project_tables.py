"""One list of the tables the project creates in the customer's database: grants and discovery read it."""

from __future__ import annotations

import re

from tenant_integrity.core.paths import SQL_DIR
from tenant_integrity.core.spec import load_spec
from tenant_integrity.enforce import guards
from tenant_integrity.graph import discovery
from tenant_integrity.store import bookkeeping, privileges

CREATED = re.compile(r"create table if not exists\s+(\w+)", re.IGNORECASE)


def created_tables() -> set[str]:
    """Every fixed table name an include/sql statement creates (templated names are backups and archives)."""
    return {m.group(1) for path in SQL_DIR.rglob("*.sql") for m in CREATED.finditer(path.read_text(encoding="utf-8"))}


def test_every_table_a_statement_creates_is_on_the_list():
    assert created_tables() == set(bookkeeping.RUN_TABLES)
    assert guards.LOG_TABLE == bookkeeping.GUARD_LOG_TABLE  # created under a templated name, listed too


def test_the_grant_set_covers_every_run_table_and_discovery_skips_every_project_table():
    grants = privileges.grant_statements(load_spec("customers_company"), "app")
    for table in bookkeeping.RUN_TABLES:
        assert any(
            f"on `app`.`{table}` to" in g and g.startswith("grant create, insert, select, update") for g in grants
        )
    for table in (*bookkeeping.PROJECT_TABLES, "tenant_backup_customers", "tenant_archive_customers"):
        assert discovery.is_project_table(table), table
    assert not discovery.is_project_table("customers")
