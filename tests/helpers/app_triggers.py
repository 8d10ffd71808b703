"""Application behaviour installed as a trigger: it acts inside the run's own transactions, deterministically."""

from __future__ import annotations

from tenant_integrity.store.db import DbTarget


def move_children_when_the_run_writes(target: DbTarget, customer_id: int = 30, company: int = 85) -> None:
    """The application moves a customer's appointments to `company` the moment the customer gets a tenant.

    A parent/child mismatch created during the run, on a row the run wrote: post_validation's to catch.
    """
    with target.connect() as db:
        db.execute(
            "create trigger app_moves_appointments after update on customers for each row"
            " update appointments set company_id = %(company)s"
            " where customer_id = new.id and new.id = %(customer_id)s"
            " and old.company_id is null and new.company_id is not null",
            {"company": company, "customer_id": customer_id},
        )
        db.commit()


def prefix_phone_when_the_tenant_changes(target: DbTarget) -> None:
    """The application rewrites `phone` in the same UPDATE that changes a customer's tenant (BEFORE UPDATE).

    It fires on the run's own writes (NULL -> tenant) and on a rollback's restores (tenant -> NULL): each row
    then differs from its backup in a column no run may change. The same '+' prefix on every row is the edit
    an XOR of CRC32s per range cancelled out (28 seed rows).
    """
    with target.connect() as db:
        db.execute(
            "create trigger app_prefixes_phone before update on customers for each row"
            " begin if not (old.company_id <=> new.company_id) then set new.phone = concat('+', new.phone); end if; end"
        )
        db.commit()
