"""A run on text keys, shared by the in-process tests (tests/repair/test_string_keys.py) and the
Airflow one (tests/e2e/test_string_keys_dag.py): the target, the review rows, what the audit says."""

from __future__ import annotations

import csv

from tenant_integrity.cli import demo
from tests.conftest import new_target
from tests.helpers.dbcheck import query
from tests.helpers.text_keys import KINDS, rekey_customers

# data sets 1+2's review rows, by their old integer id (the same rows whatever the key's kind)
REVIEW_IDS = [101, 103, 104, 106, 109, 110, 111]


def text_key_target(kind: str):
    """A fresh database with data set "all", customers rekeyed to `kind` (tests/helpers/text_keys.py), in
    that kind's default collation; returns (target, {old integer id: new key}). The caller drops it."""
    target = new_target("ti_text")
    demo.recreate_database(target, "all", KINDS[kind][1])
    return target, rekey_customers(target, kind)


def exported_ids(path) -> list[str]:
    """The row ids of a review CSV, as written."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[0] for row in list(csv.reader(handle))[1:]]


def audit_counts(target, run_id: str) -> list[tuple]:
    """(action, column, audit rows, distinct keys) of one run; a text key's audit rows keep row_id 0."""
    rows = query(
        target,
        "select action, column_name, count(*) as n, count(distinct row_key) as distinct_keys, max(row_id) as row_id"
        " from tenant_audit_log where run_id = %(r)s group by 1, 2 order by 1, 2",
        {"r": run_id},
    )
    assert all(r["row_id"] == 0 for r in rows), "a text key's audit rows keep row_id 0"
    return [(r["action"], r["column_name"], int(r["n"]), int(r["distinct_keys"])) for r in rows]
