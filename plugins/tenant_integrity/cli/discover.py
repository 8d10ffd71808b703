"""`python -m tenant_integrity discover|check`: the tenant tables of a schema, and the policy check, on stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.graph.discovery import discover
from tenant_integrity.graph.model import Discovery, DiscoveryError
from tenant_integrity.graph.policy import REGISTRY_PATH, check_policy, load_registry
from tenant_integrity.graph.proposals import refuse_specs_dir, write_proposals
from tenant_integrity.store.db import DbTarget


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--tenant-column", help="default: tenant_column in the registry")
    parser.add_argument("--tenant-table", help="default: tenant_table in the registry")
    parser.add_argument("--url", help="mysql://user:pw@host:3306/db (default: $AIRFLOW_CONN_TENANT_DB)")
    parser.add_argument("--registry", type=Path, help=f"exemptions (default: {REGISTRY_PATH})")
    if command == "discover":
        parser.add_argument("--write", type=Path, metavar="DIR", help="write a proposed spec per table to backfill")


def run_cli(args: argparse.Namespace, url: str | None) -> int:
    """`discover` / `check`: 0 done (check: all pass), 1 check failed, 2 bad input."""
    import MySQLdb

    try:
        registry = load_registry(args.registry or REGISTRY_PATH, required=args.registry is not None)
        tenant_column = args.tenant_column or registry.tenant_column
        tenant_table = args.tenant_table or registry.tenant_table
        if not (tenant_column and tenant_table):
            raise DiscoveryError(
                "name --tenant-column and --tenant-table (or tenant_column/tenant_table in the registry)"
            )
        if getattr(args, "write", None) is not None:
            refuse_specs_dir(args.write)
        url = args.url or url
        if not url:
            raise DiscoveryError("give --url or set AIRFLOW_CONN_TENANT_DB (mysql://user:pw@host:3306/db)")
        try:
            target = DbTarget.from_url(url)
        except ValueError as exc:
            raise DiscoveryError(str(exc)) from exc
        found = discover(target, tenant_column, tenant_table, registry.exempt_tables)
    except (TenantIntegrityError, MySQLdb.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        failures = check_policy(found, registry)
        for f in failures:
            print(f"FAIL {f}")
        failing = sorted({f.table for f in failures})
        print(
            f"{len(found.tables)} tenant table(s) with {found.tenant_column} in {found.database}:"
            f" {len(failing)} failing{' (' + ', '.join(failing) + ')' if failing else ''},"
            f" {len(registry.exemptions)} exemption(s)"
        )
        return 1 if failures else 0
    print(format_discovery(found))
    if args.write is not None:
        written, skipped = write_proposals(found, args.write)
        for path in written:
            print(f"wrote {path}")
        for reason in skipped:
            print(f"not written: {reason}")
    return 0


def format_discovery(discovery: Discovery) -> str:
    """One row per tenant table, then the edges between tenant tables."""
    header = (
        "table",
        "nullable",
        "NULL rows (active/soft-deleted)",
        f"FK to {discovery.tenant_table}.{discovery.tenant_key}",
        "status",
        "proposed evidence",
    )
    rows = [header]
    for t in discovery.tables:
        fk = t.tenant_foreign_key
        fk_text = f"declared ({fk.constraint})" if fk and fk.declared else ("naming only" if fk else "none")
        rows.append(
            (
                t.table,
                "yes" if t.nullable else "no",
                str(t.null_rows),
                fk_text,
                t.status,
                "; ".join(str(p) for p in t.evidence) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [
        f"tenant column {discovery.tenant_column} → {discovery.tenant_table}.{discovery.tenant_key}"
        f" in {discovery.database}: {len(discovery.tables)} tenant table(s)",
        "",
    ]
    lines += ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip() for r in rows]
    lines += ["", "foreign keys between tenant tables:"]
    for e in discovery.edges:
        lines.append(f"  {e.name}  ({f'declared {e.constraint}' if e.declared else 'naming'})")
    if not discovery.edges:
        lines.append("  none")
    if discovery.unchecked:
        lines += ["", f"not checked (names no statement may carry): {', '.join(discovery.unchecked)}"]
    return "\n".join(lines)
