"""Turn the demo's integer customer keys into text keys, the way Laravel's HasUuids / HasUlids tables look.

`rekey_customers` rewrites customers.id and every customer_id (appointments, calls) to a text key
computed from the old integer, keeps the indexes, and returns {old integer id: new key} so a test can
state its expectations in the demo's familiar numbers.
"""

from __future__ import annotations

from tests.helpers.dbcheck import query

# kind: (column type, database default collation, the key computed from the old integer `id`)
KINDS = {
    # a UUIDv4 shape from a hash: no relation between key order and insertion order
    "uuid": (
        "char(36)",
        "utf8mb4_general_ci",
        "lower(concat(substr(md5(id), 1, 8), '-', substr(md5(id), 9, 4), '-4', substr(md5(id), 14, 3), '-a',"
        " substr(md5(id), 18, 3), '-', substr(md5(id), 21, 12)))",
    ),
    # a ULID shape: a time-ordered prefix, so key order follows insertion order
    "ulid": ("char(26)", "utf8mb4_unicode_ci", "concat('01JDX', lpad(upper(conv(id, 10, 32)), 21, '0'))"),
    # a natural key in latin1, mixed case, where string order differs from number order ('Cust-10' < 'Cust-9')
    "natural": ("varchar(64)", "latin1_swedish_ci", "concat('Cust-', id)"),
}


def rekey_customers(target, kind: str) -> dict[int, str]:
    column_type, _, expression = KINDS[kind]
    with target.connect() as db:
        db.execute(f"alter table customers add column text_id {column_type} null")
        db.execute(f"update customers set text_id = {expression}")
        for child, nullable in (("appointments", False), ("calls", True)):
            db.execute(f"alter table {child} add column customer_key {column_type} null")
            db.execute(
                f"update {child} as c join customers as p on p.id = c.customer_id set c.customer_key = p.text_id"
            )
            # a customer_id that names no customer keeps pointing at nothing
            db.execute(f"update {child} set customer_key = cast(customer_id as char) where customer_key is null")
            db.execute(
                f"alter table {child} drop column customer_id,"
                f" change customer_key customer_id {column_type} {'null' if nullable else 'not null'},"
                f" add key {child}_customer_id_index (customer_id)"
            )
        mapping = {r["id"]: r["text_id"] for r in query(target, "select id, text_id from customers")}
        db.execute(
            f"alter table customers drop column id, change text_id id {column_type} not null first, add primary key (id)"
        )
        db.commit()
    return mapping
