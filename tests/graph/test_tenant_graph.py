"""The tenant graph of the demo: customers, then appointments and calls from their parent rows (issue 13).

The demo's calls all lack company_id (the phone agent's webhook never set it) and three appointments
do. An appointment or a call belongs to its customer's company (`parent` evidence); a call with no
usable customer still went to one business number (a second parent source, calls.to_number ->
phone_numbers.number). Every expected value below is read off include/demo/*.sql by hand, not from a
run: which customer each row points at, and what customers_company does to that customer
(tests/repair/test_edge_cases.py: 102, 105, 114 by phone; 101, 103, 109 conflicts; 104, 110, 111 to review).
"""

from __future__ import annotations

import pytest

from tenant_integrity.core.errors import GateFailed, SpecError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec, parse_spec
from tenant_integrity.repair import phases, rollback
from tenant_integrity.repair.results import Counts, OlderMismatch
from tests.helpers.dbcheck import checksum, query

CUSTOMERS, APPOINTMENTS, CALLS = (load_spec(n) for n in ("customers_company", "appointments_company", "calls_company"))

# call id -> company_id after the graph's runs (None: left for review), with the reason
CALLS_AFTER = {
    **{call: company for call, company in zip(range(1, 11), [1] * 8 + [15, 84], strict=True)},  # customers 1..28
    1001: 15,  # customer 102: NULL until customers_company took 15 from its phone calls
    1002: 15,
    1003: 83,  # customer 103 is a conflict (stays NULL): the business number decides
    1004: 84,
    1005: 85,  # customer 105 (85 by phone in the customers run)
    1006: None,  # customer 110 names no tenant, the number is no business's: no_tenant_evidence
    1007: None,  # number +493000000999 belongs to company 999, which does not exist: unknown_tenant
    1008: 1,  # customer 112 got 1 from its appointments; the number says 15: counted, not blocking
    1009: 84,  # customer 114 (84 by phone)
    1010: 1,  # no customer, called company 1's number
}
APPOINTMENTS_AFTER = {1004: None, 1005: None, 1006: 85}  # 104 stays NULL (review); 105 got 85


def run(target, spec, run_id: str, dry_run: bool = False):
    return phases.run_all(target, spec, RunContext(run_id=run_id, dry_run=dry_run, batch_size=3))


def tenants(target, table: str, ids) -> dict:
    rows = query(target, f"select id, company_id from {table} where id in ({', '.join(map(str, ids))})")
    return {r["id"]: r["company_id"] for r in rows}


def test_parents_first_repairs_appointments_and_calls_from_their_customers(edge_db):
    customers = run(edge_db, CUSTOMERS, "graph-customers")
    appointments = run(edge_db, APPOINTMENTS, "graph-appointments")
    calls = run(edge_db, CALLS, "graph-calls")

    assert customers.status == appointments.status == calls.status == "succeeded"
    assert tenants(edge_db, "calls", CALLS_AFTER) == CALLS_AFTER
    assert tenants(edge_db, "appointments", APPOINTMENTS_AFTER) == APPOINTMENTS_AFTER

    assert calls.phases.backfill("customer").backfilled == 15
    assert calls.phases.backfill("business_number").backfilled == 3
    assert calls.phases.review.by_reason == {"no_tenant_evidence": 1, "unknown_tenant": 1}
    assert (calls.audited, calls.backed_up) == ({"backfill": 18}, 18)
    assert calls.planned.outcomes.later_source_disagrees == 1  # call 1008
    assert calls.null_rows_after == Counts(active=2, soft_deleted=0)

    assert appointments.phases.backfill("customer").backfilled == 1
    assert appointments.phases.review.by_reason == {"no_tenant_evidence": 2}
    assert (appointments.audited, appointments.backed_up) == ({"backfill": 1}, 1)
    # appointment 1007 named company 999 before any run: listed, not blocking, not written
    assert appointments.unknown_tenant_before_run == OlderMismatch(rows=1, sample_ids=(1007,))
    assert query(edge_db, "select company_id from appointments where id = 1007") == [{"company_id": 999}]

    queue = query(
        edge_db,
        "select table_name, row_id, reason from tenant_review_queue"
        " where table_name in ('calls', 'appointments') order by table_name, row_id",
    )
    assert [(q["table_name"], q["row_id"], q["reason"]) for q in queue] == [
        ("appointments", 1004, "no_tenant_evidence"),
        ("appointments", 1005, "no_tenant_evidence"),
        ("calls", 1006, "no_tenant_evidence"),
        ("calls", 1007, "unknown_tenant"),
    ]


def test_a_child_planned_before_its_parent_takes_another_path_and_the_plan_says_so(edge_db):
    before = run(edge_db, CALLS, "calls-first", dry_run=True)
    # customers 102, 105, 112, 114 have no tenant yet: their calls fall back to the number they called
    assert before.outcomes.backfill == {"customer": Counts(active=10), "business_number": Counts(active=8)}
    assert before.outcomes.later_source_disagrees == 0

    run(edge_db, CUSTOMERS, "graph-customers")
    after = run(edge_db, CALLS, "calls-second", dry_run=True)
    assert after.outcomes.backfill == {"customer": Counts(active=15), "business_number": Counts(active=3)}
    assert after.outcomes.later_source_disagrees == 1  # 1008: customer 112 says 1, the number 15


def test_rolling_back_the_calls_run_restores_every_call(edge_db):
    run(edge_db, CUSTOMERS, "graph-customers")
    calls_before = checksum(edge_db, "calls")
    run(edge_db, CALLS, "graph-calls")
    assert checksum(edge_db, "calls") != calls_before

    ctx = RunContext(run_id="graph-calls-undo", dry_run=False, dag_id="tenant_rollback", batch_size=4)
    result = rollback.rollback_run(edge_db, CALLS, ctx, "graph-calls")
    assert (result.changed_rows, result.restored, result.skipped) == (18, 18, ())
    assert checksum(edge_db, "calls") == calls_before


def test_a_tenant_deleted_while_the_run_writes_it_fails_the_gate_naming_the_rows(edge_db):
    run(edge_db, CUSTOMERS, "graph-customers")
    with edge_db.connect() as db:  # the application deletes company 85 the moment the run gives call 1005 to it
        db.execute(
            "create trigger app_deletes_company after update on calls for each row"
            " delete from companies where id = new.company_id and new.id = 1005 and old.company_id is null"
        )
        db.commit()
    with pytest.raises(GateFailed) as failure:
        run(edge_db, CALLS, "graph-calls")
    failed = {f["check"]: f for f in failure.value.failures}
    assert set(failed) == {"tenant_exists"}
    assert (failed["tenant_exists"]["observed"], failed["tenant_exists"]["sample"]) == (1, [1005])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      foreign_key: customer_id\n      table: customers",
            "      foreign_key: customr_id\n      table: customers",
            "evidence[0] (customer).parent.foreign_key: column calls.customr_id does not exist",
        ),
        (
            "      key: number",
            "      key: numbr",
            "evidence[1] (business_number).parent.key: column phone_numbers.numbr does not exist",
        ),
        (
            "      table: phone_numbers",
            "      table: phone_number",
            "evidence[1] (business_number).parent.table: table 'phone_number' does not exist in the database",
        ),
    ],
)
def test_parent_evidence_is_checked_against_the_live_schema(edge_db, old, new, message):
    text = CALLS.path.read_text(encoding="utf-8")
    assert old in text
    spec = parse_spec("calls_company", text.replace(old, new, 1))
    with pytest.raises(SpecError) as failure:
        run(edge_db, spec, "bad-parent", dry_run=True)
    assert message in failure.value.problems


def test_a_parent_source_names_its_columns_under_parent_only():
    text = CALLS.path.read_text(encoding="utf-8").replace(
        "  - name: customer\n    parent:", "  - name: customer\n    table: customers\n    parent:", 1
    )
    with pytest.raises(SpecError) as failure:
        parse_spec("calls_company", text)
    assert failure.value.problems == [
        "evidence[0].table: a parent source names its table and columns under parent only"
    ]
