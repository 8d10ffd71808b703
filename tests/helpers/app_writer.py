"""The application, as a separate process writing to the customers table while a backfill runs.

python tests/helpers/app_writer.py <db-url> <random-seed> <stop-file>

Like a Laravel app: every write is its own transaction and sets updated_at = now(). It assigns
tenants itself (the one the customer's appointments name), renames customers, inserts customers
without a tenant (the webhook bug is still live), soft-deletes customers and NULLs a tenant (the bug
again, on an existing row). It stops when the stop file exists and prints every write it committed
as JSON: [kind, id, value, started_at (UTC, ISO)].
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

import MySQLdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))

from tenant_integrity.store.db import DbTarget

RETRYABLE = {1205, 1213}  # lock wait timeout, deadlock: an application retries these


def _pick(db, rng: random.Random, where: str, top: int) -> int | None:
    rows = db.rows(
        f"select id from customers where {where} and id >= %(start)s order by id limit 1",
        {"start": rng.randint(1, top)},
    )
    return int(rows[0]["id"]) if rows else None


def assign_tenant(db, rng, top, n):
    row_id = _pick(db, rng, "company_id is null and deleted_at is null", top)
    if row_id is None:
        return None
    evidence = db.rows(
        "select count(distinct a.company_id) as tenants, min(a.company_id) as tenant from appointments as a "
        "join companies as c on c.id = a.company_id where a.customer_id = %(id)s",
        {"id": row_id},
    )[0]
    if evidence["tenants"] != 1:
        return None
    db.execute(
        "update customers set company_id = %(t)s, updated_at = now() where id = %(id)s",
        {"t": evidence["tenant"], "id": row_id},
    )
    return ["company_id", row_id, int(evidence["tenant"])]


def rename(db, rng, top, n):
    row_id = rng.randint(1, top)
    name = f"Renamed by the app {n}"
    if db.execute(
        "update customers set name = %(name)s, updated_at = now() where id = %(id)s", {"name": name, "id": row_id}
    ):
        return ["name", row_id, name]
    return None


def insert(db, rng, top, n):
    db.execute(
        "insert into customers (company_id, name, email, created_at, updated_at) "
        "values (null, %(name)s, %(email)s, now(), now())",
        {"name": f"Webhook customer {n}", "email": f"webhook{n}@example.org"},
    )
    return ["insert", int(db.scalar("select last_insert_id()")), None]


def _update_one(db, rng, top, where: str, change: str) -> int | None:
    """Pick a random row matching `where` and apply `change` to it if it still matches; its id, or None."""
    row_id = _pick(db, rng, where, top)
    if row_id is None:
        return None
    changed = db.execute(
        f"update customers set {change}, updated_at = now() where id = %(id)s and {where}", {"id": row_id}
    )
    return row_id if changed else None


def soft_delete(db, rng, top, n):
    row_id = _update_one(db, rng, top, "deleted_at is null", "deleted_at = now()")
    if row_id is None:
        return None
    value = db.scalar("select deleted_at from customers where id = %(id)s", {"id": row_id})
    return ["deleted_at", row_id, value.isoformat(sep=" ")]


def null_tenant(db, rng, top, n):
    row_id = _update_one(db, rng, top, "company_id is not null and deleted_at is null", "company_id = null")
    return None if row_id is None else ["company_id", row_id, None]


ACTIONS = [assign_tenant, assign_tenant, rename, rename, insert, soft_delete, null_tenant]


def main(url: str, seed: int, stop_file: Path) -> None:
    rng = random.Random(seed)
    target = DbTarget.from_url(url)
    committed: list = []
    with target.connect() as db:
        top = int(db.scalar("select max(id) from customers"))
        db.commit()
        n = 0
        while not stop_file.exists():
            action = rng.choice(ACTIONS)
            started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            try:
                write = action(db, rng, top, n)
                db.commit()
            except MySQLdb.OperationalError as exc:
                db.rollback()
                if exc.args[0] not in RETRYABLE:
                    raise
                continue
            if write:
                committed.append([*write, started.isoformat(sep=" ")])
            n += 1
            time.sleep(0.003)
    print(json.dumps(committed))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
