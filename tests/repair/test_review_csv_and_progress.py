"""Spreadsheet-safe cells, the CSV file itself, progress lines, run folders."""

from __future__ import annotations

import csv
import datetime as dt
import os
import stat

import pytest

from tenant_integrity.core.paths import run_dir
from tenant_integrity.engine.progress import Progress
from tenant_integrity.repair.review_csv import neutralise, write_review_csv


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd@x", "'+cmd@x"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("+4915112345678", "+4915112345678"),
        ("+49 (30) 123-45", "+49 (30) 123-45"),
        ("-12.5", "-12.5"),
        ("plain, with comma", "plain, with comma"),
        (None, ""),
        (42, "42"),
        (dt.datetime(2025, 9, 26, 14, 3, 17), "2025-09-26 14:03:17"),
    ],
)
def test_neutralise(value, cell):
    assert neutralise(value) == cell


def test_file_round_trips_hostile_cells_with_mode_0600(tmp_path):
    path = tmp_path / "r" / "review.csv"
    rows = [{"row_id": 1, "reason": "conflict", "candidates": "1:2;15:1", "name": 'a,"b"\nc', "email": "=x"}]
    assert write_review_csv(path, ["name", "email"], rows) == 1
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["row_id", "reason", "candidates", "name", "email", "decision"],
            ["1", "conflict", "1:2;15:1", 'a,"b"\nc', "'=x", ""],
        ]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_progress_reports_percent_recent_rate_and_eta_and_ends_at_100_percent():
    now = [100.0]
    progress = Progress("backfill", total=1000, every=5.0, clock=lambda: now[0])
    now[0] = 102.0
    progress.advance(200, 100)  # first call always logs
    now[0] = 104.0
    progress.advance(200, 100)  # 2 s later: not yet
    now[0] = 110.0
    progress.advance(100, 100)
    now[0] = 150.0
    progress.advance(100, 100)  # 40 s for 100 rows: the ETA follows the last 30 s, not the average
    progress.finish()
    assert progress.lines == [
        "backfill: 200/1000 rows (20.0%), 100 rows/s, ETA 8s, chunk size 100",
        "backfill: 500/1000 rows (50.0%), 50 rows/s, ETA 10s, chunk size 100",
        # the window holds the sample at 110 s (500 rows) as its start: 100 rows in 40 s
        "backfill: 600/1000 rows (60.0%), 2 rows/s, ETA 160s, chunk size 100",
        "backfill: 600/600 rows (100.0%), 2 rows/s, ETA 0s, chunk size 100 (1000 counted at the start)",
    ]


def test_progress_on_a_phase_that_met_every_counted_row_ends_with_a_plain_100_percent_line():
    now = [0.0]
    progress = Progress("rollback", total=3, every=5.0, clock=lambda: now[0])
    now[0] = 1.0
    progress.advance(3, 10)
    progress.finish()
    assert progress.lines[-1] == "rollback: 3/3 rows (100.0%), 3 rows/s, ETA 0s, chunk size 10"


def test_run_folders_keep_only_path_safe_characters(monkeypatch, tmp_path):
    monkeypatch.setenv("TENANT_REVIEW_DIR", str(tmp_path))
    assert run_dir("customers_company", "manual__2026-11-22T06:03:13.959479+00:00") == (
        tmp_path / "customers_company" / "manual__2026-11-22T06:03:13.959479+00:00"
    )
    assert run_dir("customers_company", "../../etc") == tmp_path / "customers_company" / "_.._etc"


def test_masks_keep_just_enough_to_recognise_a_customer(tmp_path):
    from tenant_integrity.repair.review_csv import mask_email, mask_phone

    assert mask_email("kunde@example.org") == "k***@example.org"
    assert mask_email("") == "" and mask_email(None) == "" and mask_email("no-at") == "***"
    assert mask_phone("+4915112345678") == "+49151****78"
    assert mask_phone("=1+1") == "****"
    path = tmp_path / "m.csv"
    write_review_csv(
        path,
        ["email", "phone"],
        [{"row_id": 1, "email": "=x@evil.test", "phone": "+4915112345678"}],
        {"email": "email", "phone": "phone"},
    )
    with path.open(encoding="utf-8", newline="") as handle:
        # masked values are still neutralised: a spreadsheet would evaluate "+49151****78"
        assert list(csv.reader(handle))[1] == ["1", "", "", "'=***@evil.test", "'+49151****78", ""]


def test_the_spec_option_is_checked():
    from tenant_integrity.core.errors import SpecError
    from tenant_integrity.core.paths import SPECS_DIR
    from tenant_integrity.core.spec import parse_spec

    text = (SPECS_DIR / "customers_company.yaml").read_text(encoding="utf-8")
    spec = parse_spec("customers_company", text + "mask_in_review: {email: email, phone: phone}\n")
    assert spec.mask_in_review == {"email": "email", "phone": "phone"}
    with pytest.raises(SpecError) as failure:
        parse_spec("customers_company", text + "mask_in_review: {name: email, phone: fax}\n")
    assert failure.value.problems == ["mask_in_review.phone: 'fax' is not a mask (use email or phone)"]
