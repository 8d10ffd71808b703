"""Discovery: the tenant key across a whole schema, read from information_schema once (issue 13).

`discover` finds every base table carrying the tenant column, its NULL rows (active / soft-deleted), NOT NULL, its
foreign key to the tenant table, and the foreign-key edges between tenant tables, declared or, where none is
declared, by Laravel/Rails naming (`customer_id -> customers.id`, `category_id -> categories.id`, only when that
table and its `id` exist). From the edges it proposes evidence for a backfill spec: a `parent` source per edge
from the table to another tenant table, a direct source per tenant table pointing at it (child rows). The
proposals (proposals.py), the policy check (policy.py) and the graph audit (edge_audit.py) read what it found.
"""

from __future__ import annotations

import re

from tenant_integrity.core.spec import IDENTIFIER, Evidence, Parent, Relation
from tenant_integrity.graph.model import (
    BOOKKEEPING_PREFIXES,
    CREATED_AT_COLUMN,
    NAMING_KEY,
    SOFT_DELETE_COLUMN,
    TEXT_KEY_TYPES,
    UPDATED_AT_COLUMN,
    DiscoveredTable,
    Discovery,
    DiscoveryError,
    ForeignKeyEdge,
    NullRows,
    ProposedEvidence,
)
from tenant_integrity.store import sql
from tenant_integrity.store.bookkeeping import PROJECT_TABLES
from tenant_integrity.store.db import Database, DbTarget

_IRREGULAR_PLURALS = {"person": "people", "child": "children", "man": "men", "woman": "women"}


def pluralize(word: str) -> str:
    """Laravel/Rails' table name for a model: category -> categories, address -> addresses, customer -> customers."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[last]
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def naming_parent(column: str, columns: dict[str, dict[str, dict]]) -> str | None:
    """The table a `<singular>_id` column names by convention, if that table and its `id` exist."""
    if not column.endswith("_id") or len(column) <= 3:
        return None
    singular = column[:-3]
    for candidate in dict.fromkeys((pluralize(singular), f"{singular}s")):
        if NAMING_KEY in columns.get(candidate, {}):
            return candidate
    return None


def is_project_table(table: str) -> bool:
    """A table this project created (bookkeeping, backup, archive): never one of the application's tenant tables."""
    return table in PROJECT_TABLES or table.startswith(BOOKKEEPING_PREFIXES)


def discover(
    target: DbTarget, tenant_column: str, tenant_table: str, exempt: frozenset[str] = frozenset()
) -> Discovery:
    """Read the tenant tables, their NULL rows and the edges between them (read-only)."""
    with target.connect() as db, db.transaction(read_only=True):
        return discover_in(db, tenant_column, tenant_table, exempt)


def discover_in(db: Database, tenant_column: str, tenant_table: str, exempt: frozenset[str] = frozenset()) -> Discovery:
    for label, name in (("tenant column", tenant_column), ("tenant table", tenant_table)):
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            raise DiscoveryError(f"{label} {name!r} is not an identifier (must match {IDENTIFIER.pattern})")
    database = db.target.database
    columns: dict[str, dict[str, dict]] = {}
    for row in db.rows(sql.render("discovery/columns.sql")):
        columns.setdefault(row["table_name"], {})[row["column_name"]] = row
    primary_keys = {r["table_name"]: r["column_name"] for r in db.rows(sql.render("discovery/primary_keys.sql"))}
    if tenant_table not in columns:
        raise DiscoveryError(f"tenant table {tenant_table!r} is not a base table of database {database!r}")
    tenant_key = primary_keys.get(tenant_table)
    if tenant_key is None:
        raise DiscoveryError(f"tenant table {tenant_table!r} has no single-column primary key")
    carrying = sorted(t for t, cols in columns.items() if tenant_column in cols and t != tenant_table)
    carrying = [t for t in carrying if not is_project_table(t)]
    if not carrying:
        raise DiscoveryError(f"no base table of database {database!r} has a column {tenant_column!r}")
    names = [t for t in carrying if IDENTIFIER.match(t)]
    tenant_set = set(names)
    declared = _declared_edges(db.rows(sql.render("discovery/foreign_keys.sql")))

    edges: list[ForeignKeyEdge] = []
    tenant_fks: dict[str, ForeignKeyEdge | None] = {}
    for table in names:
        fk = next(
            (
                e
                for e in declared.get((table, tenant_column), ())
                if (e.parent_table, e.parent_column) == (tenant_table, tenant_key)
            ),
            None,
        )
        if fk is None and naming_parent(tenant_column, columns) == tenant_table and tenant_key == NAMING_KEY:
            fk = ForeignKeyEdge(table, tenant_column, tenant_table, tenant_key, declared=False)
        tenant_fks[table] = fk
        for column in columns[table]:
            if column == tenant_column or not IDENTIFIER.match(column):
                continue
            if (table, column) in declared:
                edges += [e for e in declared[(table, column)] if e.parent_table in tenant_set]
            elif (parent := naming_parent(column, columns)) in tenant_set:
                edges.append(ForeignKeyEdge(table, column, parent, NAMING_KEY, declared=False))

    tables = []
    for table in names:
        cols = columns[table]
        key = primary_keys.get(table)
        soft_delete = SOFT_DELETE_COLUMN if SOFT_DELETE_COLUMN in cols else None
        counted = db.rows(
            sql.render(
                "discovery/null_rows.sql",
                table=sql.quote(table),
                tenant=sql.quote(tenant_column),
                soft_delete=sql.quote(soft_delete) if soft_delete else None,
                review_queue="tenant_review_queue" in columns,
                key=sql.quote(key) if key else None,
                text_key=bool(key) and cols[key]["data_type"] in TEXT_KEY_TYPES,
            ),
            {"table_name": table},
        )[0]
        soft_deleted = int(counted["soft_deleted"] or 0)
        evidence, relations = _proposed_evidence(table, key, tenant_column, edges)
        tables.append(
            DiscoveredTable(
                table=table,
                key=key,
                tenant_column=tenant_column,
                tenant_reference=f"{tenant_table}.{tenant_key}",
                nullable=cols[tenant_column]["is_nullable"] == "YES",
                null_rows=NullRows(int(counted["null_rows"]) - soft_deleted, soft_deleted, int(counted["in_review"])),
                tenant_foreign_key=tenant_fks[table],
                soft_delete_column=soft_delete,
                created_at_column=CREATED_AT_COLUMN if CREATED_AT_COLUMN in cols else None,
                updated_at_column=UPDATED_AT_COLUMN if UPDATED_AT_COLUMN in cols else None,
                evidence=evidence,
                relations=relations,
                review_columns=_review_columns(cols, key, tenant_column, soft_delete),
                exempt=table in exempt,
            )
        )
    return Discovery(
        database=database,
        tenant_column=tenant_column,
        tenant_table=tenant_table,
        tenant_key=tenant_key,
        tables=tuple(tables),
        edges=tuple(edges),
        base_tables=frozenset(columns),
        unchecked=tuple(t for t in carrying if t not in tenant_set),
    )


def _declared_edges(rows: list[dict]) -> dict[tuple[str, str], list[ForeignKeyEdge]]:
    """(table, column) -> its declared foreign keys; each column of a composite key is an edge of its own."""
    found: dict[tuple[str, str], list[ForeignKeyEdge]] = {}
    for r in rows:
        if not (IDENTIFIER.match(r["referenced_table_name"]) and IDENTIFIER.match(r["referenced_column_name"])):
            continue
        edge = ForeignKeyEdge(
            table=r["table_name"],
            column=r["column_name"],
            parent_table=r["referenced_table_name"],
            parent_column=r["referenced_column_name"],
            declared=True,
            constraint=r["constraint_name"],
        )
        found.setdefault((edge.table, edge.column), []).append(edge)
    return found


def _proposed_evidence(
    table: str, key: str | None, tenant_column: str, edges: list[ForeignKeyEdge]
) -> tuple[tuple[ProposedEvidence, ...], tuple[Relation, ...]]:
    """Parent sources first (the row's own references), then child rows that name this table's key.

    A self-reference proposes nothing: its parent row is a row of the same table, which may be NULL too.
    """
    proposed: list[ProposedEvidence] = []
    used: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 2
        while candidate in used:
            candidate, n = f"{name}_{n}", n + 1
        used.add(candidate)
        return candidate

    for e in edges:
        if e.table == table and e.parent_table != table:
            parent = Parent(e.column, e.parent_table, e.parent_column, tenant_column)
            name = unique(e.column[:-3] if e.column.endswith("_id") and len(e.column) > 3 else e.column)
            evidence = Evidence(name, e.parent_table, e.column, tenant_column, parent=parent)
            proposed.append(ProposedEvidence("parent", evidence, e))
    children = sorted(
        (e for e in edges if e.parent_table == table and e.table != table and key and e.parent_column == key),
        key=lambda e: (e.table, e.column),
    )
    for e in children:
        name = unique(e.table if sum(c.table == e.table for c in children) == 1 else f"{e.table}_{e.column}")
        proposed.append(ProposedEvidence("child", Evidence(name, e.table, e.column, tenant_column), e))
    relations = tuple(Relation(e.table, e.column, tenant_column) for e in children)
    return tuple(proposed), relations


def _review_columns(cols: dict[str, dict], key: str | None, tenant: str, soft_delete: str | None) -> tuple[str, ...]:
    """What a reviewer sees: the first three other columns of the table, then created_at."""
    skip = {key, tenant, soft_delete, CREATED_AT_COLUMN, UPDATED_AT_COLUMN}
    chosen = [c for c in cols if c not in skip and IDENTIFIER.match(c)][:3]
    if CREATED_AT_COLUMN in cols:
        chosen.append(CREATED_AT_COLUMN)
    return tuple(chosen or ([key] if key else []))
