"""A validation history as the daily DAG would have left it: what tenant_constraints requires before its DDL."""

from __future__ import annotations

from tenant_integrity.store.db import DbTarget


def clean_history(target: DbTarget, days: int = 7, failed_day: int | None = None, on_days: int | None = None) -> None:
    """`days` comprehensive validations, oldest first, each passed except number `failed_day` (0-based): one a
    day, or, with `on_days`, spread over only that many calendar days (UTC dates, several validations a day)."""
    on_days = on_days or days
    with target.connect() as db, db.transaction():
        for number in range(days):
            db.execute(
                "insert into tenant_validation_runs (spec, run_id, mode, passed, started_at, finished_at) values "
                "('customers_company', %(r)s, 'comprehensive', %(p)s, "
                "utc_date() - interval %(d)s day + interval %(m)s minute, "
                "utc_date() - interval %(d)s day + interval %(m)s minute + interval 30 second)",
                {
                    "r": f"daily-{number}",
                    "p": int(number != failed_day),
                    "d": on_days - number * on_days // days,
                    "m": number,
                },
            )
