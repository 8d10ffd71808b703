"""Discovery (issue 13): every table carrying the tenant column, its NULL rows, FKs and proposed evidence.

Expected values are read off include/demo/*.sql and tests/fixtures/akaunting/schema.sql by hand:
- demo (data sets 1 + 2): customers 45 NULL company_id (2 of them soft-deleted: 107, 108), appointments 3
  (1004-1006), calls all 20, phone_numbers none and NOT NULL. No foreign key is declared anywhere; the
  Laravel names give appointments.customer_id and calls.customer_id -> customers.id, and company_id -> companies.id.
- Akaunting: accounts, contacts, documents and transactions carry company_id; only transactions.split_id
  has a declared foreign key (to transactions.id); contact_id, account_id and document_id follow Laravel's naming.
"""

from __future__ import annotations

import re
from pathlib import Path

import MySQLdb
import pytest

from tenant_integrity.cli.main import main
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Evidence, Relation, load_spec
from tenant_integrity.graph import discovery, model, proposals
from tenant_integrity.graph.discovery import discover
from tenant_integrity.graph.edge_audit import audit_edges
from tenant_integrity.graph.model import EdgeMismatch, ForeignKeyEdge
from tenant_integrity.store import bookkeeping
from tests.conftest import drop, new_target, url_of
from tests.helpers.dbcheck import query

AKAUNTING = Path(__file__).resolve().parents[1] / "fixtures" / "akaunting"
SHIPPED = {name: load_spec(name) for name in ("customers_company", "appointments_company", "calls_company")}


def naming(table: str, column: str, parent: str, key: str = "id") -> ForeignKeyEdge:
    return ForeignKeyEdge(table, column, parent, key, declared=False)


# table -> (nullable, active NULL rows, soft-deleted NULL rows, status, proposed evidence as printed)
DEMO = {
    "appointments": (True, 3, 0, "needs_backfill", ["parent customer_id → customers.id (naming)"]),
    "calls": (True, 20, 0, "needs_backfill", ["parent customer_id → customers.id (naming)"]),
    "customers": (
        True,
        43,
        2,
        "needs_backfill",
        ["child appointments.customer_id (naming)", "child calls.customer_id (naming)"],
    ),
    "phone_numbers": (False, 0, 0, "needs_constraint", []),
}

DEMO_TABLE = """\
table          nullable  NULL rows (active/soft-deleted)  FK to companies.id  status            proposed evidence
appointments   yes       3 (3/0)                          naming only         needs_backfill    parent customer_id → customers.id (naming)
calls          yes       20 (20/0)                        naming only         needs_backfill    parent customer_id → customers.id (naming)
customers      yes       45 (43/2)                        naming only         needs_backfill    child appointments.customer_id (naming); child calls.customer_id (naming)
phone_numbers  no        0 (0/0)                          naming only         needs_constraint  -"""


def rows_of(found) -> dict:
    return {
        t.table: (t.nullable, t.null_rows.active, t.null_rows.soft_deleted, t.status, [str(p) for p in t.evidence])
        for t in found.tables
    }


def execute(target, *statements: str) -> None:
    with target.connect() as db:
        db.execute("set session foreign_key_checks = 0")  # the demo holds a phone number of company 999
        for statement in statements:
            db.execute(statement)
        db.commit()


# --- the demo database -----------------------------------------------------------------------


def test_demo_tables_null_rows_foreign_keys_and_proposed_evidence(edge_db, capsys):
    found = discover(edge_db, "company_id", "companies")

    assert (found.tenant_table, found.tenant_key) == ("companies", "id")
    assert rows_of(found) == DEMO
    assert found.edges == (
        naming("appointments", "customer_id", "customers"),
        naming("calls", "customer_id", "customers"),
    )
    assert all(t.tenant_foreign_key == naming(t.table, "company_id", "companies") for t in found.tables)
    customers = found.table("customers")
    # the direct sources and relations are the shipped customers spec's appointments source and relations
    assert [p.evidence for p in customers.evidence] == [
        SHIPPED["customers_company"].evidence[0],
        Evidence("calls", "calls", "customer_id", "company_id"),
    ]
    assert customers.relations == SHIPPED["customers_company"].relations
    # the parent source is the one the shipped appointments and calls specs start with
    assert found.table("appointments").evidence[0].evidence == SHIPPED["appointments_company"].evidence[0]
    assert found.table("calls").evidence[0].evidence == SHIPPED["calls_company"].evidence[0]
    assert customers.review_columns == SHIPPED["customers_company"].review_columns

    assert main(["discover", "--url", url_of(edge_db), "--tenant-column", "company_id"]) == 0
    out = capsys.readouterr().out
    assert f"tenant column company_id → companies.id in {edge_db.database}: 4 tenant table(s)" in out
    assert DEMO_TABLE in out
    assert "  appointments.customer_id → customers.id  (naming)\n  calls.customer_id → customers.id  (naming)" in out


def test_declared_foreign_keys_win_over_naming_and_add_edges_naming_cannot_find(edge_db):
    execute(
        edge_db,
        "alter table phone_numbers add constraint phone_numbers_company_id_foreign"
        " foreign key (company_id) references companies (id)",
        "alter table calls add constraint calls_to_number_foreign foreign key (to_number) references phone_numbers (number)",
        "alter table appointments add constraint appointments_customer_id_foreign"
        " foreign key (customer_id) references customers (id)",
    )
    found = discover(edge_db, "company_id", "companies")

    phone_numbers = found.table("phone_numbers")
    assert phone_numbers.status == "ok" and phone_numbers.problems == ()
    assert phone_numbers.tenant_foreign_key == ForeignKeyEdge(
        "phone_numbers", "company_id", "companies", "id", declared=True, constraint="phone_numbers_company_id_foreign"
    )
    assert found.edges == (
        ForeignKeyEdge("appointments", "customer_id", "customers", "id", True, "appointments_customer_id_foreign"),
        naming("calls", "customer_id", "customers"),
        ForeignKeyEdge("calls", "to_number", "phone_numbers", "number", True, "calls_to_number_foreign"),
    )
    # calls now proposes both of the shipped calls spec's sources, in its order (only the name differs)
    calls = found.table("calls")
    assert [str(p) for p in calls.evidence] == [
        "parent customer_id → customers.id (naming)",
        "parent to_number → phone_numbers.number",
    ]
    assert [p.evidence.parent for p in calls.evidence] == [e.parent for e in SHIPPED["calls_company"].evidence]
    # phone_numbers.number is not its key: calls' rows are no evidence for a phone number's tenant
    assert phone_numbers.evidence == () and phone_numbers.relations == ()


def test_write_proposals_load_as_specs_and_pass_the_live_check(edge_db, tmp_path, capsys):
    out_dir = tmp_path / "proposals"
    assert main(["discover", "--url", url_of(edge_db), "--tenant-column", "company_id", "--write", str(out_dir)]) == 0
    out = capsys.readouterr().out
    names = ["appointments_company", "calls_company", "customers_company"]
    for name in names:
        assert f"wrote {out_dir / name}.yaml" in out
    assert sorted(p.stem for p in out_dir.glob("*.yaml")) == names  # phone_numbers needs no backfill

    found = discover(edge_db, "company_id", "companies")
    with edge_db.connect() as db:
        for name in names:
            spec = load_spec(name, out_dir)
            bookkeeping.validate_against_database(db, spec)  # every table, column and key exists as named
            table = found.table(spec.target.table)
            assert spec.evidence == tuple(p.evidence for p in table.evidence)
            assert spec.relations == table.relations
            assert spec.orphans.action == "review"  # a proposal never soft-deletes on its own
            assert spec.tenant_table.table == "companies"
    appointments, shipped = load_spec("appointments_company", out_dir), SHIPPED["appointments_company"]
    assert (appointments.target, appointments.evidence, appointments.review_columns) == (
        shipped.target,
        shipped.evidence,
        shipped.review_columns,
    )
    customers = load_spec("customers_company", out_dir)
    assert customers.target == SHIPPED["customers_company"].target
    assert customers.review_columns == ("name", "email", "phone", "created_at")
    text = (out_dir / "customers_company.yaml").read_text(encoding="utf-8")
    assert "#   appointments: appointments.customer_id → customers.id (by naming, no declared foreign key)" in text


@pytest.mark.parametrize("folder", ["include/specs", "include/specs/", "include/../include/specs", "include/specs/x"])
def test_discovery_never_writes_into_include_specs(folder, capsys, monkeypatch):
    root = Path(discovery.__file__).resolve().parents[3]
    monkeypatch.chdir(root)
    before = sorted(p.name for p in (root / "include" / "specs").iterdir())
    # refused before any connection: the URL names a database that does not exist
    code = main(
        ["discover", "--tenant-column", "company_id", "--url", "mysql://root@127.0.0.1:1/none", "--write", folder]
    )
    assert code == 2
    assert "discovery never writes into include/specs; review the proposals and copy them yourself" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in (root / "include" / "specs").iterdir()) == before
    with pytest.raises(model.DiscoveryError, match="never writes into include/specs"):
        proposals.refuse_specs_dir(root / "include" / "specs")


def test_bookkeeping_prefixes_match_the_modules_that_create_those_tables():
    from tenant_integrity.core.spec import BACKUP_PREFIX
    from tenant_integrity.enforce.constraints import ARCHIVE_PREFIX

    assert model.BOOKKEEPING_PREFIXES == (BACKUP_PREFIX, ARCHIVE_PREFIX)


def test_bookkeeping_and_backup_tables_are_not_tenant_tables(edge_db):
    execute(
        edge_db,
        "create table tenant_backup_customers like customers",
        "insert into tenant_backup_customers select * from customers",
        "create view active_customers as select * from customers where deleted_at is null",
    )
    found = discover(edge_db, "company_id", "companies")
    assert found.names == ("appointments", "calls", "customers", "phone_numbers")
    assert "tenant_backup_customers" in found.base_tables and "active_customers" not in found.base_tables


def test_naming_pluralizes_like_laravel():
    assert [discovery.pluralize(w) for w in ("customer", "category", "address", "day", "person", "tax_rate")] == [
        "customers",
        "categories",
        "addresses",
        "days",
        "people",
        "tax_rates",
    ]
    columns = {"categories": {"id": {}}, "customers": {"id": {}}, "statuses": {"code": {}}}
    assert discovery.naming_parent("category_id", columns) == "categories"
    assert discovery.naming_parent("customer_id", columns) == "customers"
    assert discovery.naming_parent("status_id", columns) is None  # the table has no id
    assert discovery.naming_parent("user_id", columns) is None  # no such table
    assert discovery.naming_parent("customer", columns) is None


# --- the graph audit -------------------------------------------------------------------------


def test_audit_edges_names_the_edge_and_the_child_ids(edge_db):
    found = discover(edge_db, "company_id", "companies")
    assert audit_edges(edge_db, found) == []

    execute(edge_db, "update appointments set company_id = 15 where id = 7")  # customer 6 is company 1's
    edge = naming("appointments", "customer_id", "customers")
    assert audit_edges(edge_db, found) == [EdgeMismatch(edge, 1, (7,))]
    assert str(audit_edges(edge_db, found)[0]) == "appointments.customer_id → customers.id: 1 row(s) (child ids: 7)"

    # every appointment of a company-1 customer moved to company 15: 28 rows, the first 20 ids listed
    execute(
        edge_db,
        "update appointments as a join customers as c on c.id = a.customer_id"
        " set a.company_id = 15 where c.company_id = 1 and a.company_id = 1",
    )
    [mismatch] = audit_edges(edge_db, found)
    assert (mismatch.name, mismatch.count, mismatch.child_ids) == (
        "appointments.customer_id → customers.id",
        28,
        tuple(range(1, 21)),
    )
    # a NULL tenant on either side is no mismatch (that is what the backfill is for)
    execute(edge_db, "update appointments set company_id = null where id <= 28")
    assert audit_edges(edge_db, found) == []


# --- a public schema without declared foreign keys: Akaunting ----------------------------------


def _statements(path: Path) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE) if s.strip()]


AKAUNTING_ROWS = [
    "insert into companies (id) values (1), (2)",
    "insert into accounts (id, company_id, name, number, currency_code) values (1, 1, 'Cash', '1', 'EUR'),"
    " (2, 2, 'Cash', '1', 'EUR')",
    # contact 2 lost its company, contact 3 too and is soft-deleted
    "insert into contacts (id, company_id, type, name, email, currency_code, created_at, deleted_at) values"
    " (1, 1, 'customer', 'Kunde 1', 'k1@example.com', 'EUR', '2024-01-08 09:00:00', null),"
    " (2, null, 'customer', 'Kunde 2', 'k2@example.com', 'EUR', '2024-01-08 09:00:00', null),"
    " (3, null, 'vendor', 'Lieferant 3', null, 'EUR', '2024-01-08 09:00:00', '2024-02-01 00:00:00')",
    "insert into documents (id, company_id, type, document_number, status, issued_at, due_at, amount, currency_code,"
    " currency_rate, contact_id, contact_name) values"
    " (1, 1, 'invoice', 'INV-1', 'sent', '2024-01-09', '2024-02-09', 100, 'EUR', 1, 2, 'Kunde 2')",
    # transaction 2 is company 2's but names company 1's account and contact; 3 splits 2 under company 1
    "insert into transactions (id, company_id, type, number, paid_at, amount, currency_code, currency_rate,"
    " account_id, document_id, contact_id, payment_method, split_id) values"
    " (1, 1, 'income', 'TRA-1', '2024-01-10', 100, 'EUR', 1, 1, 1, 2, 'cash', null),"
    " (2, 2, 'income', 'TRA-2', '2024-01-10', 50, 'EUR', 1, 1, null, 1, 'cash', null),"
    " (3, 1, 'income', 'TRA-3', '2024-01-10', 25, 'EUR', 1, 1, null, 1, 'cash', 2)",
]


@pytest.fixture(scope="module")
def akaunting_db():
    target = new_target()
    server = MySQLdb.connect(host=target.host, port=target.port, user=target.user, passwd=target.password)
    try:
        with server.cursor() as cur:
            cur.execute(f"create database `{target.database}` character set utf8mb4 collate utf8mb4_unicode_ci")
            cur.execute(f"use `{target.database}`")
            for statement in [
                *_statements(AKAUNTING / "schema.sql"),
                "alter table contacts modify company_id int null",
                *AKAUNTING_ROWS,
            ]:
                cur.execute(statement)
        server.commit()
    finally:
        server.close()
    yield target
    drop(target)


def test_akaunting_laravel_naming_finds_the_edges_no_foreign_key_declares(akaunting_db):
    found = discover(akaunting_db, "company_id", "companies")

    assert found.names == ("accounts", "contacts", "documents", "transactions")
    assert found.edges == (
        naming("documents", "contact_id", "contacts"),
        naming("transactions", "account_id", "accounts"),
        naming("transactions", "document_id", "documents"),
        naming("transactions", "contact_id", "contacts"),
        ForeignKeyEdge("transactions", "split_id", "transactions", "id", True, "transactions_split_id_foreign"),
    )
    # user_id (no users table), category_id (no categories), parent_id (no parents) name nothing here
    assert rows_of(found) == {
        "accounts": (False, 0, 0, "needs_constraint", ["child transactions.account_id (naming)"]),
        "contacts": (
            True,
            1,
            1,
            "needs_backfill",
            ["child documents.contact_id (naming)", "child transactions.contact_id (naming)"],
        ),
        "documents": (
            False,
            0,
            0,
            "needs_constraint",
            ["parent contact_id → contacts.id (naming)", "child transactions.document_id (naming)"],
        ),
        "transactions": (
            False,
            0,
            0,
            "needs_constraint",
            [
                "parent account_id → accounts.id (naming)",
                "parent document_id → documents.id (naming)",
                "parent contact_id → contacts.id (naming)",
            ],
        ),
    }
    contacts, fixture_spec = found.table("contacts"), load_spec("contacts_company", AKAUNTING / "specs")
    # what a person wrote for this schema (tests/fixtures/akaunting/specs) is what discovery proposes
    assert tuple(p.evidence for p in contacts.evidence) == fixture_spec.evidence
    assert contacts.relations == fixture_spec.relations
    assert contacts.relations == (
        Relation("documents", "contact_id", "company_id"),
        Relation("transactions", "contact_id", "company_id"),
    )
    assert found.table("accounts").problems == (
        "no declared foreign key accounts.company_id → companies.id (the column's name suggests one: declare it)",
    )


def test_akaunting_proposal_and_audit(akaunting_db, tmp_path):
    found = discover(akaunting_db, "company_id", "companies")
    written, skipped = proposals.write_proposals(found, tmp_path)
    assert [p.name for p in written] == ["contacts_company.yaml"] and skipped == []
    spec = load_spec("contacts_company", tmp_path)
    fixture_spec = load_spec("contacts_company", AKAUNTING / "specs")
    assert (spec.target.table, spec.target.key, spec.target.soft_delete_column) == ("contacts", "id", "deleted_at")
    assert (spec.evidence, spec.relations) == (fixture_spec.evidence, fixture_spec.relations)
    assert spec.review_columns == ("type", "name", "email", "created_at")
    with akaunting_db.connect() as db:
        bookkeeping.validate_against_database(db, spec)

    assert audit_edges(akaunting_db, found) == [
        EdgeMismatch(naming("transactions", "account_id", "accounts"), 1, (2,)),
        EdgeMismatch(naming("transactions", "contact_id", "contacts"), 1, (2,)),
        EdgeMismatch(found.edges[-1], 1, (3,)),  # the declared self-reference: a split of another company's row
    ]
    assert query(akaunting_db, "select count(*) as n from transactions")[0]["n"] == 3  # read-only


def test_after_a_run_the_rows_left_wait_for_review_and_a_new_leak_needs_a_backfill_again(edge_db):
    from tenant_integrity.repair import phases

    phases.run_all(edge_db, SHIPPED["customers_company"], RunContext(run_id="d-1", dry_run=False))
    customers = {t.table: t for t in discover(edge_db, "company_id", "companies").tables}["customers"]
    # 7 active rows in the run's review queue (3 conflicts, 2 without evidence, 2 unknown tenants); 4 soft-deleted
    assert (customers.null_rows.active, customers.null_rows.soft_deleted, customers.null_rows.in_review) == (7, 4, 7)
    assert customers.status == "needs_review"
    assert str(customers.null_rows) == "11 (7/4, 7 in review)"
    with edge_db.connect() as db, db.transaction():  # the webhook again: a NULL tenant no run has seen
        db.execute("insert into customers (id, company_id, name) values (9001, null, 'New Leak')")
    customers = {t.table: t for t in discover(edge_db, "company_id", "companies").tables}["customers"]
    assert (customers.null_rows.active, customers.null_rows.in_review, customers.status) == (8, 7, "needs_backfill")
