"""The graph audit: per edge between two tenant tables, the child rows whose tenant differs from their parent row's
tenant (both known), for the daily validation."""

from __future__ import annotations

from tenant_integrity.graph.model import Discovery, EdgeMismatch
from tenant_integrity.store import sql
from tenant_integrity.store.db import DbTarget

MISMATCH_SAMPLE = 20


def audit_edges(target: DbTarget, discovery: Discovery, sample: int = MISMATCH_SAMPLE) -> list[EdgeMismatch]:
    """Per edge between two tenant tables: the child rows whose tenant differs from their parent's (both known)."""
    keys = {t.table: t.key for t in discovery.tables}
    tenant = sql.quote(discovery.tenant_column)
    found = []
    with target.connect() as db, db.transaction(read_only=True):
        for edge in discovery.edges:
            child_key = keys.get(edge.table)
            statement = sql.render(
                "discovery/edge_mismatches.sql",
                child=sql.quote(edge.table),
                child_key=sql.quote(child_key) if child_key else None,
                child_tenant=tenant,
                foreign_key=sql.quote(edge.column),
                parent=sql.quote(edge.parent_table),
                parent_key=sql.quote(edge.parent_column),
                parent_tenant=tenant,
            )
            rows = db.rows(statement, {"sample": sample})
            if rows:
                ids = tuple(r["child_id"] for r in rows if r["child_id"] is not None)
                found.append(EdgeMismatch(edge, int(rows[0]["mismatches"]), ids))
    return found
