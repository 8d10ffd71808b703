"""Read-only assertions helpers against the real database (no mocks)."""

from __future__ import annotations

from tenant_integrity.store.db import DbTarget


def query(target: DbTarget, statement: str, params: dict | None = None) -> list[dict]:
    with target.connect() as db:
        rows = db.rows(statement, params)
        db.commit()
        return rows


def checksum(target: DbTarget, table: str) -> int:
    return query(target, f"checksum table `{table}` extended")[0]["Checksum"]


def tables(target: DbTarget) -> set[str]:
    return {
        r["table_name"]
        for r in query(target, "select table_name from information_schema.tables where table_schema = database()")
    }


def active_distribution(target: DbTarget) -> dict:
    rows = query(target, "select company_id, count(*) as n from customers where deleted_at is null group by company_id")
    return {r["company_id"]: int(r["n"]) for r in rows}


def customers(target: DbTarget) -> dict[int, dict]:
    return {r["id"]: r for r in query(target, "select * from customers order by id")}
