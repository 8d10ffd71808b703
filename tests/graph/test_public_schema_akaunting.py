"""A schema nobody on the team wrote: Akaunting's contacts, documents and transactions, with a known truth.

tests/fixtures/akaunting/schema.sql is the DDL Akaunting's own Laravel migrations produce (see its header);
tests/fixtures/akaunting/specs/contacts_company.yaml backfills contacts.company_id from the contact's
documents (invoices/bills), then its transactions (payments), both also listed as relations.

Every contact is generated with the outcome the rule gives it (`EXPECTED`), several contacts per case,
interleaved so that every chunk holds several cases. One database per variant goes through a dry run, a
real run and a rollback once (module fixture, each stage's result or error kept); each test then checks
one stage against `EXPECTED`, so a failure names the stage and the contacts that differ.

Variants:
- `as_migrated`: the schema as Akaunting migrates it; only NOT NULL is dropped from company_id on contacts,
  documents and transactions (stock Akaunting declares it NOT NULL, so without that no NULL tenant, and no
  NULL-tenant document or payment, could exist). contacts/transactions.company_id stay signed `int` while
  companies.id is `int unsigned`.
  The backfill accepts that (integers compare by value); tenant_constraints' foreign key would need one type.
- `signedness_aligned`: additionally contacts/transactions.company_id made `int unsigned` like companies.id,
  the schema after a careful team fixed the signedness: the same outcomes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import MySQLdb
import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases, rollback
from tests.conftest import drop, new_target
from tests.helpers.dbcheck import query, tables

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "akaunting"
SPEC = load_spec("contacts_company", FIXTURES / "specs")
RUN_ID = "akaunting-real"
BATCH = 5  # several chunks over the 33 NULL-tenant contacts

A, B, C = 1, 2, 3  # companies that exist
COMPANIES = (A, B, C)
MISSING = (98, 99)  # company ids that do not exist
REVIEW = ("conflict", "unknown_tenant", "no_tenant_evidence")
T0 = dt.datetime(2024, 1, 8, 9, 0, 0)  # every timestamp of the data is before the run (created_at is a marker)


@dataclass(frozen=True)
class Expect:
    outcome: str  # backfill | conflict | unknown_tenant | no_tenant_evidence | orphan | untouched
    tenant: int | None = None
    source: str | None = None  # the evidence source a backfill comes from


@dataclass(frozen=True)
class Contact:
    id: int
    case: str
    company_id: int | None  # as the application left it
    soft_deleted: bool
    documents: tuple[int | None, ...]  # company_id of each of its documents
    transactions: tuple[int | None, ...]  # company_id of each of its transactions
    expect: Expect


def _cases(i: int) -> dict[str, tuple]:
    """Case -> (company_id, soft_deleted, documents' company ids, transactions' company ids, Expect), for the i-th contact."""
    a, b = COMPANIES[i % 3], COMPANIES[(i + 1) % 3]
    gone = MISSING[i % 2]
    return {
        # the first source naming an existing company decides; a soft-deleted contact is backfilled too
        "documents_only": (None, i == 2, (a,) * (i + 1), (), Expect("backfill", a, "documents")),
        "transactions_only": (None, False, (), (a,) * (i + 1), Expect("backfill", a, "transactions")),
        "documents_and_transactions_agree": (None, False, (a,), (a,) * (1 + i % 2), Expect("backfill", a, "documents")),
        # a relation row with a NULL company contradicts nothing
        "null_documents_real_transactions": (None, False, (None,), (a,), Expect("backfill", a, "transactions")),
        # documents decide A, a transaction (a relation row) names B
        "documents_a_transactions_b": (None, False, (a,), (b,), Expect("conflict")),
        # transactions decide A, a document (a relation row) names a company that does not exist
        "missing_documents_real_transactions": (None, False, (gone,), (a,), Expect("unknown_tenant")),
        # the deciding source names two companies
        "documents_two_companies": (None, False, (a, b), (a,) if i == 2 else (), Expect("conflict")),
        # no existing company anywhere, a missing one somewhere
        "only_missing_companies": (
            None,
            False,
            ((gone,), (None,), (gone, None))[i],
            ((), (gone,), (None,))[i],
            Expect("unknown_tenant"),
        ),
        "all_related_rows_null": (
            None,
            False,
            ((None,), (), (None, None))[i],
            ((), (None,), (None,))[i],
            Expect("no_tenant_evidence"),
        ),
        "orphan_active": (None, False, (), (), Expect("orphan")),
        "orphan_soft_deleted": (None, True, (), (), Expect("orphan")),
        "has_company": (a, i == 1, (a,) if i else (), (a,) if i == 2 else (), Expect("untouched")),
    }


def _contacts() -> list[Contact]:
    contacts, next_id = [], 1
    for i in range(3):
        for case, (company_id, soft_deleted, documents, transactions, expect) in _cases(i).items():
            contacts.append(Contact(next_id, case, company_id, soft_deleted, documents, transactions, expect))
            next_id += 1
    return contacts


CONTACTS = _contacts()
EXPECTED: dict[int, Expect] = {c.id: c.expect for c in CONTACTS}
BY_ID = {c.id: c for c in CONTACTS}
CHANGED = sorted(
    c.id for c in CONTACTS if c.expect.outcome == "backfill" or (c.expect.outcome == "orphan" and not c.soft_deleted)
)


def _state(contact: Contact) -> str:
    return "soft_deleted" if contact.soft_deleted else "active"


def expected_plan() -> dict:
    """The plan's numbers as the known truth gives them."""
    outcomes: dict = {
        "backfill": {e.name: {"active": 0, "soft_deleted": 0} for e in SPEC.evidence},
        **{reason: {"active": 0, "soft_deleted": 0} for reason in (*REVIEW, "orphan")},
        # every evidence table is also a relation: a later source that disagrees makes a conflict, never a count
        "later_source_disagrees": 0,
    }
    null_rows = {"active": 0, "soft_deleted": 0}
    for c in CONTACTS:
        if c.company_id is not None:
            continue
        null_rows[_state(c)] += 1
        if c.expect.outcome == "backfill":
            outcomes["backfill"][c.expect.source][_state(c)] += 1
        else:
            outcomes[c.expect.outcome][_state(c)] += 1
    return {
        "total_rows": len(CONTACTS),
        "null_rows": null_rows,
        "outcomes": outcomes,
        "planned_changes": len(CHANGED),
        "review_rows": sum(e.outcome in REVIEW for e in EXPECTED.values()),
    }


def test_the_known_truth_covers_every_case_several_times():
    per_case = Counter(c.case for c in CONTACTS)
    assert len(per_case) == 12 and set(per_case.values()) == {3}
    outcomes = Counter(e.outcome for e in EXPECTED.values())
    assert outcomes == {
        "backfill": 12,
        "conflict": 6,
        "unknown_tenant": 6,
        "no_tenant_evidence": 3,
        "orphan": 6,
        "untouched": 3,
    }


# --- the database ----------------------------------------------------------------------------


def _statements(path: Path) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE) if s.strip()]


NULLABLE = {  # the incident needs NULLs: each column keeps its migrated type, only NOT NULL goes
    "as_migrated": [
        "alter table contacts modify company_id int null",
        "alter table documents modify company_id int unsigned null",
        "alter table transactions modify company_id int null",
    ],
    "signedness_aligned": [
        "alter table contacts modify company_id int unsigned null",
        "alter table documents modify company_id int unsigned null",
        "alter table transactions modify company_id int unsigned null",
    ],
}


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _rows() -> dict[str, list[dict]]:
    """Deterministic Akaunting rows: companies, one account each, contacts, their documents and transactions."""
    companies = [
        {"id": cid, "created_from": "core::ui", "created_by": 1, "created_at": _at(-1000 + cid)} for cid in COMPANIES
    ]
    accounts = [
        {"id": cid, "company_id": cid, "name": "Cash", "number": "1", "created_at": _at(-999 + cid)}
        for cid in COMPANIES
    ]
    contacts, documents, transactions = [], [], []
    for c in CONTACTS:
        customer = c.id % 2 == 1
        created = _at(c.id)
        contacts.append(
            {
                "id": c.id,
                "company_id": c.company_id,
                "type": "customer" if customer else "vendor",
                "name": f"{('Kunde', 'Lieferant')[not customer]} {c.id:03d} ({c.case.replace('_', ' ')})",
                "email": f"contact{c.id:03d}@example.com",
                "phone": f"+49 30 5550{c.id:03d}",
                "address": f"Hauptstraße {c.id}",
                "city": "Berlin",
                "country": "DE",
                "created_at": created,
                "updated_at": created + dt.timedelta(minutes=5),
                "deleted_at": _at(500 + c.id) if c.soft_deleted else None,
            }
        )
        first_document = None
        for company_id in c.documents:
            n = len(documents) + 1
            first_document = first_document or n
            documents.append(
                {
                    "id": n,
                    "company_id": company_id,
                    "type": "invoice" if customer else "bill",
                    "document_number": f"{'INV' if customer else 'BILL'}-{n:05d}",
                    "issued_at": _at(24 * n),
                    "due_at": _at(24 * (n + 30)),
                    "amount": 100 + n + 0.25,
                    "contact_id": c.id,
                    "contact_name": contacts[-1]["name"],
                    "contact_email": contacts[-1]["email"],
                    "created_at": _at(24 * n),
                    # Akaunting soft-deletes invoices and bills: soft-deleted evidence counts the same
                    "deleted_at": _at(24 * n + 1) if n % 3 == 0 else None,
                }
            )
        for company_id in c.transactions:
            n = len(transactions) + 1
            transactions.append(
                {
                    "id": n,
                    "company_id": company_id,
                    "type": "income" if customer else "expense",
                    "number": f"TRA-{n:05d}",
                    "paid_at": _at(24 * n + 2),
                    "amount": 50 + n + 0.5,
                    "account_id": company_id if company_id in COMPANIES else A,
                    "document_id": first_document,
                    "contact_id": c.id,
                    "created_at": _at(24 * n + 2),
                }
            )
    return {
        "companies": companies,
        "accounts": accounts,
        "contacts": contacts,
        "documents": documents,
        "transactions": transactions,
    }


INSERTS = {
    "companies": "insert into companies (id, domain, enabled, created_from, created_by, created_at, updated_at)"
    " values (%(id)s, null, 1, %(created_from)s, %(created_by)s, %(created_at)s, %(created_at)s)",
    "accounts": "insert into accounts (id, company_id, name, number, currency_code, opening_balance, enabled,"
    " created_from, created_by, created_at, updated_at) values (%(id)s, %(company_id)s, %(name)s, %(number)s,"
    " 'USD', 0, 1, 'core::ui', 1, %(created_at)s, %(created_at)s)",
    "contacts": "insert into contacts (id, company_id, type, name, email, phone, address, city, country,"
    " currency_code, enabled, created_from, created_by, created_at, updated_at, deleted_at) values (%(id)s,"
    " %(company_id)s, %(type)s, %(name)s, %(email)s, %(phone)s, %(address)s, %(city)s, %(country)s, 'USD', 1,"
    " 'core::ui', 1, %(created_at)s, %(updated_at)s, %(deleted_at)s)",
    "documents": "insert into documents (id, company_id, type, document_number, status, issued_at, due_at, amount,"
    " currency_code, currency_rate, contact_id, contact_name, contact_email, created_from, created_by, created_at,"
    " updated_at, deleted_at) values (%(id)s, %(company_id)s, %(type)s, %(document_number)s, 'sent', %(issued_at)s,"
    " %(due_at)s, %(amount)s, 'USD', 1, %(contact_id)s, %(contact_name)s, %(contact_email)s, 'core::ui', 1,"
    " %(created_at)s, %(created_at)s, %(deleted_at)s)",
    "transactions": "insert into transactions (id, company_id, type, number, paid_at, amount, currency_code,"
    " currency_rate, account_id, document_id, contact_id, payment_method, reconciled, created_from, created_by,"
    " created_at, updated_at) values (%(id)s, %(company_id)s, %(type)s, %(number)s, %(paid_at)s, %(amount)s, 'USD',"
    " 1, %(account_id)s, %(document_id)s, %(contact_id)s, 'offline-payments.cash.1', 0, 'core::ui', 1,"
    " %(created_at)s, %(created_at)s)",
}


def create_database(target, variant: str) -> None:
    server = MySQLdb.connect(
        host=target.host, port=target.port, user=target.user, passwd=target.password, charset="utf8mb4"
    )
    try:
        with server.cursor() as cur:
            cur.execute(f"create database `{target.database}` character set utf8mb4 collate utf8mb4_unicode_ci")
            cur.execute(f"use `{target.database}`")
            cur.execute("set session time_zone = '+00:00'")
            for statement in _statements(FIXTURES / "schema.sql") + NULLABLE[variant]:
                cur.execute(statement)
            for table, rows in _rows().items():
                cur.executemany(INSERTS[table], rows)
        server.commit()
    finally:
        server.close()


def contacts(target) -> dict[int, dict]:
    return {r["id"]: r for r in query(target, "select * from contacts order by id")}


# --- one pass per variant: dry run, real run, rollback -----------------------------------------


@dataclass
class Stage:
    value: object = None
    error: BaseException | None = None
    after: Stage | None = None  # the stage this one reads the results of

    def get(self):
        if self.error is not None:
            cause = self.after.error if self.after else None
            first = f"the real run had failed: {type(cause).__name__}: {cause}\nthen: " if cause else ""
            pytest.fail(f"{first}{type(self.error).__name__}: {self.error}", pytrace=False)
        return self.value


def attempt(work, after: Stage | None = None) -> Stage:
    try:
        return Stage(work(), after=after)
    except Exception as exc:  # kept for the test that needs the stage; the others still run
        return Stage(error=exc, after=after)


@dataclass
class Scenario:
    variant: str
    before: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)  # (table, column) -> (column_type, is_nullable) of the key columns
    stages: dict[str, Stage] = field(default_factory=dict)


@pytest.fixture(scope="module", params=list(NULLABLE))
def scenario(request, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TENANT_REVIEW_DIR", str(tmp_path_factory.mktemp("review")))
        target = new_target("ti_akaunting")
        try:
            create_database(target, request.param)
            yield play(target, request.param)
        finally:
            drop(target)


def play(target, variant: str) -> Scenario:
    s = Scenario(variant, before=contacts(target))
    for row in query(
        target,
        "select table_name, column_name, column_type, is_nullable from information_schema.columns"
        " where table_schema = database() and table_name in ('companies', 'contacts', 'documents', 'transactions')"
        " and (column_name in ('company_id', 'contact_id') or (column_name = 'id' and table_name in ('companies', 'contacts')))",
    ):
        column_type = re.sub(r"^int\(\d+\)", "int", row["column_type"])  # MariaDB/MySQL 5.7 show int(11), MySQL 8 int
        s.columns[(row["table_name"], row["column_name"])] = (column_type, row["is_nullable"])
    st = s.stages

    def dry():
        plan = phases.run_all(target, SPEC, RunContext(run_id="akaunting-dry", batch_size=BATCH))
        return plan, contacts(target), tables(target)

    st["dry"] = attempt(dry)
    st["real"] = attempt(
        lambda: phases.run_all(target, SPEC, RunContext(run_id=RUN_ID, dry_run=False, batch_size=BATCH))
    )
    st["after_run"] = attempt(lambda: contacts(target))
    st["review"] = attempt(
        lambda: query(
            target,
            "select row_id, reason, candidates from tenant_review_queue"
            " where spec = %(spec)s and table_name = 'contacts' order by row_id",
            {"spec": SPEC.name},
        ),
        st["real"],
    )
    st["audit"] = attempt(
        lambda: query(
            target,
            "select row_id, column_name, old_value, new_value, action, source from tenant_audit_log"
            " where run_id = %(run)s and table_name = 'contacts' order by row_id, id",
            {"run": RUN_ID},
        ),
        st["real"],
    )
    st["backup"] = attempt(
        lambda: query(
            target, "select * from tenant_backup_contacts where backup_run_id = %(run)s order by id", {"run": RUN_ID}
        ),
        st["real"],
    )
    rollback_ctx = RunContext(run_id="akaunting-rollback", dry_run=False, batch_size=BATCH, dag_id="tenant_rollback")
    st["rollback"] = attempt(lambda: rollback.rollback_run(target, SPEC, rollback_ctx, RUN_ID), st["real"])
    st["after_rollback"] = attempt(lambda: contacts(target))
    return s


# --- the checks, one stage each ---------------------------------------------------------------


def test_the_schema_is_the_one_akaunting_migrates(scenario):
    """The facts of the real schema the spec has to live with (the variant changes only nullability/signedness)."""
    signed = "int" if scenario.variant == "as_migrated" else "int unsigned"
    assert scenario.columns == {
        ("companies", "id"): ("int unsigned", "NO"),
        ("contacts", "id"): ("int unsigned", "NO"),
        ("contacts", "company_id"): (signed, "YES"),
        ("documents", "company_id"): ("int unsigned", "YES"),
        ("documents", "contact_id"): ("int unsigned", "NO"),
        ("transactions", "company_id"): (signed, "YES"),
        ("transactions", "contact_id"): ("int", "YES"),
    }


def test_dry_run_plan_matches_the_known_truth(scenario):
    plan, after, bookkeeping = scenario.stages["dry"].get()
    assert after == scenario.before  # a dry run writes nothing
    assert not {t for t in bookkeeping if t.startswith("tenant_")}
    got = {
        key: plan.to_dict()[key] for key in ("total_rows", "null_rows", "outcomes", "planned_changes", "review_rows")
    }
    assert got == expected_plan()


def test_real_run_succeeds_and_passes_its_gates(scenario):
    summary = scenario.stages["real"].get()
    assert summary.status == "succeeded"
    assert [g.check for g in summary.post_validation if not g.success] == []
    assert summary.backed_up == len(CHANGED)


def _final_row_problems(before: dict, after: dict) -> list[str]:
    problems = []
    for cid, expect in EXPECTED.items():
        old, new = before[cid], after[cid]
        want = dict(old)
        if expect.outcome == "backfill":
            want["company_id"] = expect.tenant
        elif expect.outcome == "orphan" and old["deleted_at"] is None:
            if new["deleted_at"] is None:
                problems.append(f"contact {cid} ({BY_ID[cid].case}): active orphan not soft-deleted")
            want["deleted_at"] = new["deleted_at"]
        diff = {col: (want[col], new[col]) for col in want if want[col] != new[col]}
        if diff:
            problems.append(f"contact {cid} ({BY_ID[cid].case}, expected {expect.outcome}): (expected, got) {diff}")
    return problems


def test_every_contact_ends_as_the_known_truth_says(scenario):
    after = scenario.stages["after_run"].get()
    # checked even when the run failed late (post_validation): the rows it wrote are still there
    assert _final_row_problems(scenario.before, after) == [], f"the real run raised: {scenario.stages['real'].error}"


def test_review_queue_holds_exactly_the_review_contacts_with_their_reason(scenario):
    review = scenario.stages["review"].get()
    got = {r["row_id"]: r["reason"] for r in review}
    want = {cid: e.outcome for cid, e in EXPECTED.items() if e.outcome in REVIEW}
    wrong = {
        cid: (BY_ID[cid].case, want.get(cid), got.get(cid))
        for cid in sorted(set(got) | set(want))
        if got.get(cid) != want.get(cid)
    }
    assert wrong == {}, "contact: (case, expected reason, reason in tenant_review_queue)"


def test_audit_and_backup_rows_are_the_changed_contacts(scenario):
    audit = scenario.stages["audit"].get()
    backup = scenario.stages["backup"].get()
    assert len(audit) == len(CHANGED)
    assert sorted(a["row_id"] for a in audit) == CHANGED
    want = {}
    for cid in CHANGED:
        e = EXPECTED[cid]
        if e.outcome == "backfill":
            want[cid] = ("backfill", "company_id", None, str(e.tenant), e.source)
        else:
            want[cid] = ("soft_delete", "deleted_at", None)
    got = {}
    for a in audit:
        key = (a["action"], a["column_name"], a["old_value"])
        got[a["row_id"]] = (*key, a["new_value"], a["source"]) if a["action"] == "backfill" else key
    assert got == want

    assert len(backup) == len(CHANGED)
    assert [b["id"] for b in backup] == CHANGED
    for b in backup:  # the pre-image: every column as it was
        assert {col: b[col] for col in scenario.before[b["id"]]} == scenario.before[b["id"]]


def test_rollback_restores_every_contact_exactly(scenario):
    result = scenario.stages["rollback"].get()
    after = scenario.stages["after_rollback"].get()
    assert (result.changed_rows, result.restored, result.skipped) == (len(CHANGED), len(CHANGED), ())
    assert after == scenario.before
