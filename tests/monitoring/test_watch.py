"""The 48-hour watch on a real backfill: what it finds, what it records, and what it mails (real SMTP)."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import watch
from tenant_integrity.repair import phases
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import query, tables
from tests.helpers.mail import Refusing, sender, smtp_server
from tests.helpers.operator_runs import undo
from tests.helpers.text_keys import KINDS, rekey_customers

SPEC = load_spec("customers_company")
HOUR = dt.datetime(2026, 1, 2, 10)  # the watch hours the tests pass; the 48 h are measured on the database clock
NEXT_HOUR = HOUR + dt.timedelta(hours=1)


@pytest.fixture
def inbox():
    """The shared SMTP server, and `send` standing in for alerts.send_mail (the watch is called without Airflow)."""
    with smtp_server() as (handler, port):
        yield handler, sender(port)


def backfill(target, run_id: str = "backfill-1"):
    return phases.run_all(target, SPEC, RunContext(run_id=run_id, dry_run=False))


@pytest.fixture
def repaired(seed_db):
    backfill(seed_db)
    return seed_db


def execute(target, *statements, params=None):
    with target.connect() as db, db.transaction():
        for statement in statements:
            db.execute(statement, params)


def watch_and_page(target, send, run_id: str, hour: dt.datetime = HOUR):
    result = watch.watch_spec(target, SPEC, run_id, hour)
    return result, watch.page([(target, result)], run_id, send, "http://airflow/run")


def by_check(result) -> dict:
    return {c.check: c for c in result.checks}


def run_started_at(target) -> dt.datetime:
    return query(target, "select started_at from tenant_runs where run_id = 'backfill-1'")[0]["started_at"]


def test_a_clean_watch_finds_nothing_records_every_check_and_mails_nothing(repaired, inbox):
    handler, send = inbox
    result, paged = watch_and_page(repaired, send, "watch-1")
    assert result.watched and result.run.run_id == "backfill-1"
    assert [(c.check, c.found, c.new) for c in result.checks] == [
        ("new_null_tenant", 0, 0),
        ("relation_mismatch:appointments", 0, 0),
        ("relation_mismatch:calls", 0, 0),
        ("run_audit_matches", 0, 0),
    ]
    assert 0 <= result.run.hours_since < 0.1
    finished = dt.datetime.fromisoformat(result.run.finished_at)
    assert result.run.watch_ends == (finished + dt.timedelta(hours=48)).strftime("%Y-%m-%d %H:%M")
    assert (paged.mailed, paged.found, paged.new) == (False, 0, 0)
    assert handler.messages == []
    rows = query(repaired, "select spec, run_no, check_name, watch_hour, found_rows, passed from tenant_watch_history")
    assert sorted((r["check_name"], r["watch_hour"], r["found_rows"], r["passed"]) for r in rows) == [
        ("new_null_tenant", HOUR, 0, 1),
        ("relation_mismatch:appointments", HOUR, 0, 1),
        ("relation_mismatch:calls", HOUR, 0, 1),
        ("run_audit_matches", HOUR, 0, 1),
    ]
    assert {(r["spec"], r["run_no"]) for r in rows} == {("customers_company", result.run.run_no)}
    assert query(repaired, "select count(*) as n from tenant_watch_findings")[0]["n"] == 0


def test_an_application_leak_is_found_with_its_hour_and_paged_once(repaired, inbox):
    handler, send = inbox
    leak_at = run_started_at(repaired).replace(microsecond=0) + dt.timedelta(minutes=30)
    execute(
        repaired,
        "insert into customers (id, company_id, name, email, created_at, updated_at) "
        "values (61, null, 'Webhook Leak', 'leak@example.org', %(at)s, %(at)s)",
        params={"at": leak_at},
    )
    result, paged = watch_and_page(repaired, send, "watch-1")
    leak = by_check(result)["new_null_tenant"]
    assert (leak.found, leak.new) == (1, 1)
    (finding,) = leak.sample
    assert (finding.row_ref, finding.appeared_at, finding.mailed) == ("61", str(leak_at), False)
    assert finding.appeared_hour == leak_at.strftime("%Y-%m-%d %H:00")
    assert finding.detail == f"company_id NULL since created_at {leak_at}"
    assert [c.found for c in result.checks] == [1, 0, 0, 0]  # nothing else moved

    assert (paged.mailed, paged.new, paged.found) == (True, 1, 1)
    assert len(handler.messages) == 1
    mail = handler.messages[0]
    assert mail["Subject"] == "[tenant_integrity] watch: new leak - customers_company: new_null_tenant (1)"
    body = mail.get_body(("html",)).get_content()
    assert f"appeared in hour {leak_at:%Y-%m-%d %H:00}: ids 61<br>" in body
    assert "<b>new_null_tenant</b> on customers: 1 new row(s)" in body
    assert "watched run backfill-1" in body and "http://airflow/run" in body

    # the next hour: still there, recorded, not mailed again
    again, paged_again = watch_and_page(repaired, send, "watch-2", NEXT_HOUR)
    assert (by_check(again)["new_null_tenant"].found, by_check(again)["new_null_tenant"].new) == (1, 0)
    assert by_check(again)["new_null_tenant"].sample[0].mailed is True
    assert (paged_again.mailed, paged_again.found) == (False, 1)
    assert len(handler.messages) == 1
    history = query(
        repaired,
        "select watch_hour, watch_run_id, found_rows, new_rows, passed, sample_ids from tenant_watch_history "
        "where check_name = 'new_null_tenant' order by watch_hour",
    )
    assert [(r["watch_hour"], r["watch_run_id"], r["found_rows"], r["new_rows"], r["passed"]) for r in history] == [
        (HOUR, "watch-1", 1, 1, 0),
        (NEXT_HOUR, "watch-2", 1, 0, 0),
    ]
    assert history[1]["sample_ids"] == '["61"]'
    finding_row = query(repaired, "select * from tenant_watch_findings")
    assert [(r["row_ref"], r["first_seen_hour"], r["last_seen_hour"], r["mailed_by"]) for r in finding_row] == [
        ("61", HOUR, NEXT_HOUR, "watch-1")
    ]

    # fixed, then leaking again: a new leak, paged again
    execute(repaired, "update customers set company_id = 1 where id = 61")
    fixed, _ = watch_and_page(repaired, send, "watch-3", NEXT_HOUR + dt.timedelta(hours=1))
    assert fixed.found == 0
    execute(repaired, "update customers set company_id = null where id = 61")
    back, paged_back = watch_and_page(repaired, send, "watch-4", NEXT_HOUR + dt.timedelta(hours=2))
    assert (by_check(back)["new_null_tenant"].new, paged_back.mailed) == (1, True)
    assert len(handler.messages) == 2


def test_a_page_whose_mail_is_refused_leaves_its_findings_unmailed_for_the_next_watch_hour(repaired, inbox):
    handler, send = inbox
    execute(
        repaired, "insert into customers (id, company_id, name, created_at) values (61, null, 'Leak', utc_timestamp())"
    )
    result = watch.watch_spec(repaired, SPEC, "watch-1", HOUR)
    assert by_check(result)["new_null_tenant"].new == 1
    with smtp_server(Refusing()) as (refusing, port), pytest.raises(smtplib.SMTPDataError) as refused:
        watch.page([(repaired, result)], "watch-1", sender(port))
    assert refused.value.smtp_code == 554 and refusing.messages == []
    # on-call was told nothing: the finding is still to be mailed, by nobody yet
    marks = "select row_ref, mailed_at, mailed_by from tenant_watch_findings"
    assert [(r["row_ref"], r["mailed_at"], r["mailed_by"]) for r in query(repaired, marks)] == [("61", None, None)]

    # the next watch hour still counts it as new and mails it
    again, paged = watch_and_page(repaired, send, "watch-2", NEXT_HOUR)
    assert (by_check(again)["new_null_tenant"].found, by_check(again)["new_null_tenant"].new) == (1, 1)
    assert (paged.mailed, paged.new) == (True, 1)
    assert [m["Subject"] for m in handler.messages] == [
        "[tenant_integrity] watch: new leak - customers_company: new_null_tenant (1)"
    ]
    assert [(r["row_ref"], r["mailed_by"]) for r in query(repaired, marks)] == [("61", "watch-2")]


def test_a_soft_delete_the_application_undid_after_the_run_breaks_the_runs_audit(repaired):
    (soft_delete,) = query(
        repaired, "select new_value from tenant_audit_log where action = 'soft_delete' and row_id = 58"
    )
    # the application restores orphan 58 (only its deleted_at): active again, with the NULL tenant it had
    execute(repaired, "update customers set deleted_at = null where id = 58")
    result = watch.watch_spec(repaired, SPEC, "watch-1", HOUR)
    audit = by_check(result)["run_audit_matches"]
    assert (audit.found, [f.row_ref for f in audit.sample]) == (1, ["58"])
    assert audit.sample[0].detail == f"deleted_at: the run wrote {soft_delete['new_value']}, now None"
    assert [(c.check, c.found) for c in result.checks] == [
        ("new_null_tenant", 1),  # 58 is an active NULL row again, and no review row holds it
        ("relation_mismatch:appointments", 0),
        ("relation_mismatch:calls", 0),
        ("run_audit_matches", 1),
    ]


def test_a_mismatch_injected_in_appointments_is_named_by_both_ids(repaired, inbox):
    handler, send = inbox
    # appointment 6 belongs to customer 5, of company 1
    execute(repaired, "update appointments set company_id = 15 where id = 6")
    result, paged = watch_and_page(repaired, send, "watch-1")
    mismatch = by_check(result)["relation_mismatch:appointments"]
    assert (mismatch.found, mismatch.new, mismatch.table) == (1, 1, "appointments")
    (finding,) = mismatch.sample
    assert finding.row_ref == "6"
    assert finding.detail == "appointments 6 company_id 15 <> customers 5 company_id 1"
    assert finding.appeared_at is None  # the relation names no timestamp: the watch hour that found it says when
    assert [c.found for c in result.checks] == [0, 1, 0, 0]
    assert paged.mailed and len(handler.messages) == 1
    mail = handler.messages[0]
    assert (
        mail["Subject"] == "[tenant_integrity] watch: new leak - customers_company: relation_mismatch:appointments (1)"
    )
    body = mail.get_body(("html",)).get_content()
    assert "first found in watch hour 2026-01-02 10:00 UTC (the data does not say when it appeared): ids 6<br>" in body
    assert "6: appointments 6 company_id 15 &lt;&gt; customers 5 company_id 1" in body


def test_a_tenant_changed_after_the_run_breaks_its_audit_and_its_relations(repaired, inbox):
    handler, send = inbox
    # customer 30 was NULL, the run wrote 1 (its appointments' company); the application moves it to 15
    execute(repaired, "update customers set company_id = 15 where id = 30")
    result, paged = watch_and_page(repaired, send, "watch-1")
    audit = by_check(result)["run_audit_matches"]
    assert (audit.found, [f.row_ref for f in audit.sample]) == (1, ["30"])
    assert audit.sample[0].detail == "company_id: the run wrote 1, now 15"
    appointments = query(repaired, "select id from appointments where customer_id = 30 order by id")
    mismatch = by_check(result)["relation_mismatch:appointments"]
    assert [f.row_ref for f in mismatch.sample] == [str(r["id"]) for r in appointments]
    assert paged.mailed and len(handler.messages) == 1
    assert handler.messages[0]["Subject"] == (
        "[tenant_integrity] watch: new leak - customers_company: "
        f"relation_mismatch:appointments ({len(appointments)}), run_audit_matches (1)"
    )


def test_the_runs_review_rows_are_not_leaks_but_a_new_row_beside_them_is(edge_db, inbox):
    handler, send = inbox
    backfill(edge_db)
    open_rows = query(edge_db, "select row_id from tenant_review_queue where status = 'open' order by row_id")
    assert [r["row_id"] for r in open_rows] == [101, 103, 104, 106, 109, 110, 111]
    active_null = query(edge_db, "select id from customers where company_id is null and deleted_at is null order by id")
    assert [r["id"] for r in active_null] == [101, 103, 104, 106, 109, 110, 111]
    # a reviewer skipped 110 (left NULL on purpose): known as well
    execute(edge_db, "update tenant_review_queue set status = 'skipped' where row_id = 110")
    result = watch.watch_spec(edge_db, SPEC, "watch-1", HOUR)
    assert [(c.check, c.found) for c in result.checks] == [
        ("new_null_tenant", 0),
        ("relation_mismatch:appointments", 0),
        ("relation_mismatch:calls", 0),
        ("run_audit_matches", 0),
    ]
    assert not watch.page([(edge_db, result)], "watch-1", send).mailed
    assert handler.messages == []

    execute(
        edge_db, "insert into customers (id, company_id, name, created_at) values (200, null, 'Leak', utc_timestamp())"
    )
    result = watch.watch_spec(edge_db, SPEC, "watch-2", NEXT_HOUR)
    assert [f.row_ref for f in by_check(result)["new_null_tenant"].sample] == ["200"]
    assert watch.page([(edge_db, result)], "watch-2", send).new == 1
    body = handler.messages[0].get_body(("html",)).get_content()
    assert ": ids 200<br>" in body and "101" not in body


def test_text_keys_latin1_natural_key(review_dir, inbox):
    """customers keyed by a latin1 varchar ('Cust-10' < 'Cust-9'): the watch joins the bookkeeping's utf8mb4_bin keys."""
    handler, send = inbox
    target = new_target("ti_text")
    try:
        demo.recreate_database(target, "all", KINDS["natural"][1])
        rekey_customers(target, "natural")
        backfill(target)
        execute(
            target,
            "insert into customers (id, company_id, name, created_at) values ('Cust-900', null, 'Leak', utc_timestamp())",
            "update customers set company_id = 15 where id = 'Cust-30'",  # the run wrote 1
        )
        result = watch.watch_spec(target, SPEC, "watch-1", HOUR)
        found = {c.check: [f.row_ref for f in c.sample] for c in result.checks}
        appointments = query(target, "select id from appointments where customer_id = 'Cust-30' order by id")
        assert found == {
            "new_null_tenant": ["Cust-900"],
            "relation_mismatch:appointments": [str(r["id"]) for r in appointments],
            "relation_mismatch:calls": [],
            "run_audit_matches": ["Cust-30"],
        }
        assert watch.page([(target, result)], "watch-1", send).new == 2 + len(appointments)
        assert len(handler.messages) == 1
    finally:
        drop(target)


def test_a_rollback_of_the_run_is_neither_a_leak_nor_a_broken_audit(repaired):
    undo(repaired, "backfill-1", "rollback-1")
    nulls = query(repaired, "select count(*) as n from customers where company_id is null and deleted_at is null")
    assert nulls[0]["n"] == 31  # every row the run wrote is as before it: NULL
    result = watch.watch_spec(repaired, SPEC, "watch-1", HOUR)
    assert [(c.check, c.found) for c in result.checks] == [
        ("new_null_tenant", 0),
        ("relation_mismatch:appointments", 0),
        ("relation_mismatch:calls", 0),
        ("run_audit_matches", 0),
    ]


def test_a_run_older_than_48_hours_is_skipped_with_a_log_line(repaired, inbox, caplog):
    handler, send = inbox
    execute(repaired, "update tenant_runs set finished_at = utc_timestamp(6) - interval 49 hour")
    execute(repaired, "update customers set company_id = null where id = 1")  # a leak nobody watches any more
    with caplog.at_level(logging.INFO, logger="tenant_integrity.monitoring.watch"):
        result, paged = watch_and_page(repaired, send, "watch-1")
    assert not result.watched and result.checks == ()
    assert result.skipped.startswith("its last succeeded tenant_backfill run backfill-1 (run_no 1) ended ")
    assert result.skipped.endswith(" h ago: the watch covers the first 48 h")
    assert f"spec customers_company: not watched: {result.skipped}" in caplog.messages
    assert (paged.mailed, paged.found) == (False, 0)
    assert handler.messages == []
    assert "tenant_watch_history" not in tables(repaired)  # nothing watched, nothing recorded


def test_a_spec_that_never_ran_is_skipped(repaired, caplog):
    with caplog.at_level(logging.INFO, logger="tenant_integrity.monitoring.watch"):
        result = watch.watch_spec(repaired, load_spec("calls_company"), "watch-1", HOUR)
    assert result.skipped == "no succeeded tenant_backfill run of this spec"
    assert "spec calls_company: not watched: no succeeded tenant_backfill run of this spec" in caplog.messages


def test_a_database_without_any_run_is_skipped(seed_db):
    assert watch.watch_spec(seed_db, SPEC, "watch-1", HOUR).skipped == "no succeeded tenant_backfill run of this spec"


def test_watch_results_cross_an_xcom_and_back(repaired):
    execute(repaired, "update appointments set company_id = 15 where id = 6")
    result = watch.watch_spec(repaired, SPEC, "watch-1", HOUR)
    assert watch.SpecWatch.from_dict(result.to_dict()) == result
