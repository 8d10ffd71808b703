"""paging.decide, the pure paging decision: what pages on-call (new, grown), what is only recorded (known),
what is told as over (resolved), and what says nothing. No database: the history rows are given as decide reads them.
"""

from __future__ import annotations

import datetime as dt
import json

from tenant_integrity.checks.gates import CheckResult
from tenant_integrity.monitoring.paging import CheckAlert, decide
from tenant_integrity.monitoring.validation import ValidationReport

SPEC = "customers_company"
PAGED_AT = dt.datetime(2026, 1, 1, 6, 0)
CHECKED_AT = dt.datetime(2026, 1, 1, 5, 58)
NOT_PAGED_NOTE = "it failed in the previous validation too, but on-call was not paged about it"


def report(*checks: CheckResult) -> ValidationReport:
    return ValidationReport(SPEC, "customers", "daily-2", "comprehensive", 2, list(checks))


def result(check: str, observed, sample=(), severity: str = "critical") -> CheckResult:
    """A check's result; it passes when it observed 0 rows (or was skipped)."""
    success = observed == 0 or str(observed).startswith("skipped")
    return CheckResult(check, "customers", success, observed, list(sample), "", severity)


def history(observed, sample=(), passed: bool = False) -> dict:
    """The check's previous result, as previous_validation_checks.sql returns it."""
    return {
        "check_name": "",
        "passed": int(passed),
        "observed_value": str(observed),
        "sample_ids": json.dumps(list(sample)),
        "validation_no": 1,
        "checked_at": CHECKED_AT,
    }


def told(status: str, paged_at=PAGED_AT) -> dict:
    """What on-call was last told about the check, as last_validation_alerts.sql returns it."""
    return {"check_name": "", "status": status, "paged_at": paged_at, "validation_no": 1}


def alert(check, status, observed, previous=None, new_ids=(), paged_at=None, note="") -> CheckAlert:
    return CheckAlert(SPEC, check, status, observed, previous, list(new_ids), paged_at, note)


def test_a_first_failure_and_a_failure_after_a_pass_are_new_and_page():
    first, after_pass = result("active_null_tenant", 2, [7, 8]), result("relation_mismatch:calls", 1, [4])
    passed = history(0, passed=True)
    alerts = decide(report(first, after_pass), {"relation_mismatch:calls": passed}, {})
    assert alerts == [
        alert("active_null_tenant", "new", 2),
        alert("relation_mismatch:calls", "new", 1, passed),
    ]
    assert [a.pages for a in alerts] == [True, True]


def test_more_rows_or_an_id_the_previous_sample_lacked_is_grown_and_pages():
    more = history(2, [7, 8])
    other_id = history(2, [7, 8])
    alerts = decide(
        report(result("active_null_tenant", 3, [7, 8]), result("tenant_exists", 2, [7, 9])),
        {"active_null_tenant": more, "tenant_exists": other_id},
        {"active_null_tenant": told("new"), "tenant_exists": told("known")},
    )
    assert alerts == [
        alert("active_null_tenant", "grown", 3, more),  # one row more, hidden behind the sample: no new id shown
        alert("tenant_exists", "grown", 2, other_id, new_ids=[9]),
    ]
    assert all(a.pages for a in alerts)


def test_the_same_failure_on_call_was_paged_about_is_known_and_does_not_page():
    same, fewer = history(2, [7, 8]), history(3, [7, 8, 9])
    alerts = decide(
        report(result("active_null_tenant", 2, [7, 8]), result("tenant_exists", 2, [8, 9])),
        {"active_null_tenant": same, "tenant_exists": fewer},
        {"active_null_tenant": told("new"), "tenant_exists": told("grown")},
    )
    assert alerts == [
        alert("active_null_tenant", "known", 2, same, paged_at=PAGED_AT),
        alert("tenant_exists", "known", 2, fewer, paged_at=PAGED_AT),  # shrank: still known, not news
    ]
    assert [a.pages for a in alerts] == [False, False]


def test_the_same_failure_nobody_paged_about_is_new_again_with_a_note():
    same = history(2, [7, 8])
    failing = result("active_null_tenant", 2, [7, 8])
    for last in (None, told("new", paged_at=None), told("resolved")):
        # never told (only the CLI saw it), told without a page, or told it was over
        alerts = decide(report(failing), {"active_null_tenant": same}, {"active_null_tenant": last} if last else {})
        assert alerts == [alert("active_null_tenant", "new", 2, same, note=NOT_PAGED_NOTE)], last


def test_a_text_observation_is_grown_when_it_changes_and_known_when_it_does_not():
    name = "text_observation"  # a check whose observed value is no count
    before = history("2 of 5 tenants leak")
    changed, same = result(name, "3 of 5 tenants leak"), result(name, "2 of 5 tenants leak")
    last = {name: told("new")}
    assert decide(report(changed), {name: before}, last) == [alert(name, "grown", "3 of 5 tenants leak", before)]
    assert decide(report(same), {name: before}, last) == [
        alert(name, "known", "2 of 5 tenants leak", before, paged_at=PAGED_AT)
    ]


def test_a_pass_after_a_failure_on_call_believes_is_resolved_except_an_event_check():
    was = history(2, [7, 8])
    alerts = decide(
        report(result("active_null_tenant", 0), result("new_null_since_last_validation", 0)),
        {"active_null_tenant": was, "new_null_since_last_validation": was},
        {"active_null_tenant": told("known"), "new_null_since_last_validation": told("new")},
    )
    # rows new since the previous validation are one day's news: passing the next day resolves nothing
    assert alerts == [alert("active_null_tenant", "resolved", 0, was, paged_at=PAGED_AT)]
    assert not alerts[0].pages


def test_a_pass_nobody_was_told_failed_says_nothing():
    passing = result("active_null_tenant", 0)
    for last in ({}, {"active_null_tenant": told("resolved")}):
        assert decide(report(passing), {"active_null_tenant": history(2, [7, 8])}, last) == []


def test_warnings_and_skipped_checks_are_never_decided():
    checks = (
        result("open_review_rows", 7, [101], severity="warning"),
        result("run_integrity", "skipped: no finished tenant_backfill run yet"),
    )
    assert decide(report(*checks), {}, {"open_review_rows": told("new"), "run_integrity": told("new")}) == []
