"""A validation history as the daily DAG would have left it: what tenant_constraints requires before its DDL."""

from __future__ import annotations

from tenant_integrity.store.db import DbTarget


def clean_history(target: DbTarget, days: int = 7, failed_day: int | None = None) -> None:
    """One comprehensive validation a day for `days` days, each passed except `failed_day`."""
    with target.connect() as db, db.transaction():
        for day in range(days):
            db.execute(
                "insert into tenant_validation_runs (spec, run_id, mode, passed, started_at, finished_at) values "
                "('customers_company', %(r)s, 'comprehensive', %(p)s, utc_timestamp() - interval %(d)s day, "
                "utc_timestamp() - interval %(d)s day)",
                {"r": f"daily-{day}", "p": int(day != failed_day), "d": days - day},
            )
