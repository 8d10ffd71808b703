"""Data set 2: every case the seed did not have, asserted row by row, and the review CSV cell by cell."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import Counts
from tests.helpers.dbcheck import customers, query

SPEC = load_spec("customers_company")
DELETED_107 = dt.datetime(2025, 9, 30, 12, 0, 0)
DELETED_108 = dt.datetime(2025, 9, 30, 12, 0, 1)

# id: (company_id after, deleted_at after ('new' = soft-deleted by the run), audit rows (action, source, new_value))
EXPECTED = {
    101: (None, None, []),
    102: (15, None, [("backfill", "phone", "15")]),
    103: (None, None, []),
    104: (None, None, []),
    105: (85, None, [("backfill", "phone", "85")]),
    106: (None, None, []),
    107: (1, DELETED_107, [("backfill", "appointments", "1")]),
    108: (None, DELETED_108, []),
    109: (None, None, []),
    110: (None, None, []),
    111: (None, None, []),
    112: (1, None, [("backfill", "appointments", "1")]),
    113: (84, None, [("backfill", "appointments", "84")]),
    114: (84, None, [("backfill", "phone", "84")]),
}

REVIEW_CSV = [
    ["row_id", "reason", "candidates", "name", "email", "phone", "created_at", "decision"],
    [
        "101",
        "conflict",
        "1:2;15:1",
        "Conflict Kunde",
        "conflict@example.org",
        "+491710000101",
        "2025-09-26 14:03:18",
        "",
    ],
    [
        "103",
        "conflict",
        "83:1;84:1",
        "Two Numbers",
        "two.numbers@example.org",
        "+491710000103",
        "2025-09-27 10:01:00",
        "",
    ],
    ["104", "no_tenant_evidence", "", "Zoë Łukasz 東京", "zoe@example.org", "+491710000104", "2025-09-27 10:02:00", ""],
    [
        "106",
        "unknown_tenant",
        "999:1",
        "Ghost Company",
        "ghost@example.org",
        "+491710000106",
        "2025-09-27 10:04:00",
        "",
    ],
    [
        "109",
        "conflict",
        "1:1;83:1",
        '\'=HYPERLINK("http://evil.test","x")',
        "'+cmd@evil.test",
        "+491710000109",
        "2025-09-28 08:00:00",
        "",
    ],
    [
        "110",
        "no_tenant_evidence",
        "",
        'Müller, "Hans"\nzweite Zeile',
        "'@admin@example.org",
        "+4915112345678",
        "2025-09-28 08:01:00",
        "",
    ],
    ["111", "unknown_tenant", "999:1", "'\tTabbed\rName", "'-sum@example.org", "'=1+1", "2025-09-28 08:02:00", ""],
]


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def finished(edge_db, request):
    # batch_size 5 gives two workers a share of more than one chunk each; the end state must not depend on it
    before = customers(edge_db)
    ctx = RunContext(run_id="edge-1", dry_run=False, batch_size=5, workers=request.param)
    summary = phases.run_all(edge_db, SPEC, ctx)
    for phase in ("detect_conflicts", "backfill_appointments", "backfill_phone", "soft_delete_orphans"):
        assert summary.phases.named()[phase].workers == request.param, phase
    return edge_db, before, summary


def test_each_case_ends_as_the_rules_say(finished):
    target, before, _ = finished
    after = customers(target)
    audit = query(
        target, "select row_id, action, source, new_value from tenant_audit_log where row_id > 100 order by id"
    )
    for key, (tenant, deleted_at, audit_rows) in EXPECTED.items():
        assert after[key]["company_id"] == tenant, key
        assert after[key]["deleted_at"] == deleted_at, key
        assert [(a["action"], a["source"], a["new_value"]) for a in audit if a["row_id"] == key] == audit_rows, key
        for column in ("name", "email", "phone", "created_at", "updated_at"):
            assert after[key][column] == before[key][column], (key, column)


def test_review_queue_and_csv(finished, review_dir):
    target, _, summary = finished
    queue = query(target, "select row_id, reason, candidates, status from tenant_review_queue order by row_id")
    assert [(q["row_id"], q["reason"], q["candidates"] or "", q["status"]) for q in queue] == [
        (int(row[0]), row[1], row[2], "open") for row in REVIEW_CSV[1:]
    ]
    path = review_dir / "customers_company" / "edge-1" / "review.csv"
    assert summary.phases.review.review_csv == str(path)
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == REVIEW_CSV
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert summary.phases.review.by_reason == {
        "conflict": 3,
        "no_tenant_evidence": 2,
        "unknown_tenant": 2,
    }


def test_counts_in_the_summary(finished):
    _, _, summary = finished
    plan = summary.planned
    assert plan.outcomes.later_source_disagrees == 1  # 112: appointments say 1, phone says 15
    assert plan.outcomes.orphan == Counts(active=3, soft_deleted=1)
    conflicts = summary.phases.conflicts
    assert (conflicts.conflicts, conflicts.sample_ids) == (3, (101, 103, 109))
    assert summary.phases.backfill("appointments").backfilled == 31  # 28 seed rows + 107, 112, 113
    assert summary.phases.backfill("phone").backfilled == 3  # 102, 105, 114
    assert summary.phases.orphans.soft_deleted == 3  # 108 keeps its own timestamp
    assert summary.audited == {"backfill": 34, "soft_delete": 3}
    assert summary.null_rows_after == Counts(active=7, soft_deleted=4)


def test_review_rows_and_soft_deleted_evidence_are_never_soft_deleted(finished):
    target, _, _ = finished
    after = customers(target)
    for key in (101, 103, 104, 106, 109, 110, 111):
        assert after[key]["deleted_at"] is None
