"""Proposed specs: for every table discovery found with NULL tenants, a spec file for a person to review (never
written into include/specs)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tenant_integrity.core.paths import INCLUDE_DIR, SPECS_DIR
from tenant_integrity.core.spec import SPEC_NAME
from tenant_integrity.graph.model import CONN_ID, NEEDS_BACKFILL, DiscoveredTable, Discovery, DiscoveryError


def spec_name(table: DiscoveredTable) -> str:
    """customers + company_id -> customers_company (the name include/specs uses)."""
    column = table.tenant_column
    tenant = column[:-3] if column.endswith("_id") and len(column) > 3 else column
    return f"{table.table}_{tenant}".lower()


def proposal(table: DiscoveredTable, discovery: Discovery, conn_id: str = CONN_ID) -> dict:
    """The spec (as YAML data) discovery proposes for a table with NULL rows."""
    target = {"table": table.table, "key": table.key, "tenant_column": table.tenant_column}
    for field_name, column in (
        ("soft_delete_column", table.soft_delete_column),
        ("created_at_column", table.created_at_column),
        ("updated_at_column", table.updated_at_column),
    ):
        if column:
            target[field_name] = column
    evidence = []
    for p in table.evidence:
        e = p.evidence
        if e.parent:
            evidence.append(
                {
                    "name": e.name,
                    "parent": {
                        "foreign_key": e.parent.foreign_key,
                        "table": e.parent.table,
                        "key": e.parent.key,
                        "tenant_column": e.parent.tenant_column,
                    },
                }
            )
        else:
            evidence.append(
                {"name": e.name, "table": e.table, "foreign_key": e.foreign_key, "tenant_column": e.tenant_column}
            )
    spec = {
        "conn_id": conn_id,
        "target": target,
        "tenant_table": {"table": discovery.tenant_table, "key": discovery.tenant_key},
        "evidence": evidence,
    }
    if table.relations:
        spec["relations"] = [
            {"table": r.table, "foreign_key": r.foreign_key, "tenant_column": r.tenant_column} for r in table.relations
        ]
    # a proposal never soft-deletes on its own: a person decides what an orphan is
    spec["orphans"] = {"action": "review"}
    spec["review_columns"] = list(table.review_columns)
    return spec


def _proposal_text(table: DiscoveredTable, discovery: Discovery) -> str:
    n = table.null_rows
    header = [
        f"# Proposed by `python -m tenant_integrity discover` from database {discovery.database}:",
        f"# {table.table}.{table.tenant_column} has {n.total} NULL row(s) ({n.active} active, {n.soft_deleted} soft-deleted).",
        "# A proposal, not a reviewed spec: check each evidence source and its priority (parents first, then",
        "# child rows), and the orphan policy, then copy it into include/specs yourself.",
        "# Evidence sources and the edges they come from:",
    ]
    for p in table.evidence:
        basis = f"declared foreign key {p.edge.constraint}" if p.edge.declared else "by naming, no declared foreign key"
        header.append(f"#   {p.evidence.name}: {p.edge.name} ({basis})")
    body = yaml.safe_dump(proposal(table, discovery), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "\n".join(header) + "\n" + body


def refuse_specs_dir(directory: Path) -> None:
    """Discovery proposes; a person decides what goes into include/specs."""
    resolved = Path(directory).resolve()
    for specs in {(INCLUDE_DIR / "specs").resolve(), Path(SPECS_DIR).resolve()}:
        if resolved == specs or specs in resolved.parents:
            raise DiscoveryError(
                f"{directory}: discovery never writes into include/specs; review the proposals and copy them yourself"
            )


def write_proposals(discovery: Discovery, directory: Path) -> tuple[list[Path], list[str]]:
    """One proposed spec per table needing a backfill (exempt tables left out): (files written, tables skipped with why)."""
    directory = Path(directory)
    refuse_specs_dir(directory)
    written, skipped = [], []
    for table in discovery.tables:
        if table.status != NEEDS_BACKFILL:
            continue
        name = spec_name(table)
        if table.key is None:
            skipped.append(f"{table.table}: no single-column primary key; write its spec by hand")
        elif not table.evidence:
            skipped.append(f"{table.table}: no foreign key to or from another tenant table; no evidence to propose")
        elif not SPEC_NAME.match(name):
            skipped.append(f"{table.table}: {name!r} is not a spec name (must match {SPEC_NAME.pattern})")
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}.yaml"
            path.write_text(_proposal_text(table, discovery), encoding="utf-8")
            written.append(path)
    return written, skipped
