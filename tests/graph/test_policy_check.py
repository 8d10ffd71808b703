"""The tenant key policy (issue 13), modelled on GitLab's sharding_key_spec.rb: `python -m tenant_integrity check`.

Every table carrying company_id has no NULL rows, NOT NULL and a declared foreign key to companies, or an
exemption in the registry; an exemption that is no longer needed, or names no tenant table, fails too.
Exit codes: 0 all pass, 1 a table fails (each named with why), 2 bad input.
"""

from __future__ import annotations

import textwrap

import MySQLdb
import pytest

from tenant_integrity.cli.main import main
from tenant_integrity.graph.policy import REGISTRY_PATH, load_registry
from tests.conftest import drop, new_target, url_of

CLEAN_SCHEMA = [
    "create table companies (id bigint unsigned not null auto_increment primary key, name varchar(255) not null)",
    "create table customers (id bigint unsigned not null auto_increment primary key,"
    " company_id bigint unsigned not null, name varchar(255) not null, deleted_at timestamp null,"
    " constraint customers_company_id_foreign foreign key (company_id) references companies (id))",
    "create table orders (id bigint unsigned not null auto_increment primary key,"
    " company_id bigint unsigned not null, customer_id bigint unsigned not null,"
    " constraint orders_company_id_foreign foreign key (company_id) references companies (id))",
    "insert into companies (id, name) values (1, 'Praxis A'), (2, 'Praxis B')",
    "insert into customers (id, company_id, name) values (1, 1, 'Kunde 1'), (2, 2, 'Kunde 2')",
    "insert into orders (id, company_id, customer_id) values (1, 1, 1), (2, 2, 2)",
]
# a legacy table: NULL-able, one NULL row (soft-deleted), no foreign key
NOTES = [
    "create table notes (id int not null primary key, company_id bigint unsigned null, deleted_at timestamp null)",
    "insert into notes values (1, 1, null), (2, null, '2025-01-01 00:00:00')",
]


def execute(target, statements: list[str]) -> None:
    with target.connect() as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


@pytest.fixture
def clean_db():
    target = new_target()
    server = MySQLdb.connect(host=target.host, port=target.port, user=target.user, passwd=target.password)
    try:
        server.cursor().execute(f"create database `{target.database}`")
    finally:
        server.close()
    execute(target, CLEAN_SCHEMA)
    yield target
    drop(target)


def registry(tmp_path, text: str):
    path = tmp_path / "registry.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def check(target, path, capsys, *extra: str) -> tuple[int, str, str]:
    args = ["check", "--url", url_of(target), "--registry", str(path)]
    code = main([*args, "--tenant-column", "company_id", "--tenant-table", "companies", *extra])
    out, err = capsys.readouterr()
    return code, out, err


EMPTY = "exemptions: []\n"


def test_the_shipped_registry_is_valid_and_exempts_nothing():
    shipped = load_registry(REGISTRY_PATH, required=True)
    assert (shipped.tenant_column, shipped.tenant_table, shipped.exemptions) == ("company_id", "companies", ())


def test_a_clean_schema_passes(clean_db, tmp_path, capsys):
    code, out, err = check(clean_db, registry(tmp_path, EMPTY), capsys)
    assert (code, err) == (0, "")
    assert out == f"2 tenant table(s) with company_id in {clean_db.database}: 0 failing, 0 exemption(s)\n"


def test_the_demo_fails_naming_each_table_and_why(edge_db, tmp_path, capsys):
    code, out, _ = check(edge_db, registry(tmp_path, EMPTY), capsys)
    assert code == 1
    fk = "no declared foreign key {t}.company_id → companies.id (the column's name suggests one: declare it)"
    nullable = "company_id is NULL-able (no NOT NULL constraint)"
    assert out.splitlines() == [
        "FAIL appointments: 3 row(s) with a NULL company_id (3 active, 0 soft-deleted)",
        f"FAIL appointments: {nullable}",
        f"FAIL appointments: {fk.format(t='appointments')}",
        "FAIL calls: 20 row(s) with a NULL company_id (20 active, 0 soft-deleted)",
        f"FAIL calls: {nullable}",
        f"FAIL calls: {fk.format(t='calls')}",
        "FAIL customers: 45 row(s) with a NULL company_id (43 active, 2 soft-deleted)",
        f"FAIL customers: {nullable}",
        f"FAIL customers: {fk.format(t='customers')}",
        f"FAIL phone_numbers: {fk.format(t='phone_numbers')}",
        f"4 tenant table(s) with company_id in {edge_db.database}: 4 failing"
        " (appointments, calls, customers, phone_numbers), 0 exemption(s)",
    ]


def test_an_exemption_holds_a_failing_table_until_it_passes(clean_db, tmp_path, capsys):
    execute(clean_db, NOTES)
    code, out, _ = check(clean_db, registry(tmp_path, EMPTY), capsys)
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("FAIL")] == [
        "FAIL notes: 1 row(s) with a NULL company_id (0 active, 1 soft-deleted)",
        "FAIL notes: company_id is NULL-able (no NOT NULL constraint)",
        "FAIL notes: no declared foreign key notes.company_id → companies.id (the column's name suggests one: declare it)",
    ]

    exempt = registry(
        tmp_path,
        """\
        exemptions:
          - table: notes
            reason: legacy notes, archived in the Q3 clean-up
            link: https://tracker.example.org/issues/7
        """,
    )
    code, out, _ = check(clean_db, exempt, capsys)
    assert code == 0
    assert out == f"3 tenant table(s) with company_id in {clean_db.database}: 0 failing, 1 exemption(s)\n"
    # discover shows it as exempt and proposes no spec for it
    written = tmp_path / "proposals"
    tenant = ["--tenant-column", "company_id", "--tenant-table", "companies"]
    assert (
        main(["discover", "--url", url_of(clean_db), "--registry", str(exempt), *tenant, "--write", str(written)]) == 0
    )
    out = capsys.readouterr().out
    assert [" ".join(line.split()) for line in out.splitlines()[3:6]] == [
        "customers no 0 (0/0) declared (customers_company_id_foreign) ok child orders.customer_id (naming)",
        "notes yes 1 (0/1) naming only exempt -",
        "orders no 0 (0/0) declared (orders_company_id_foreign) ok parent customer_id → customers.id (naming)",
    ]
    assert not written.exists()

    # the table is fixed: its exemption must go (the list may only shrink)
    execute(
        clean_db,
        [
            "delete from notes where company_id is null",
            "alter table notes modify company_id bigint unsigned not null",
            "alter table notes add constraint notes_company_id_foreign foreign key (company_id) references companies (id)",
        ],
    )
    code, out, _ = check(clean_db, exempt, capsys)
    assert code == 1
    assert out.splitlines()[0] == (
        f"FAIL notes: exempt in {exempt} but passes now: remove its exemption (the list may only shrink)"
    )


def test_an_exemption_naming_no_tenant_table_fails(clean_db, tmp_path, capsys):
    path = registry(
        tmp_path,
        """\
        exemptions:
          - {table: ghosts, reason: dropped last year, link: https://tracker.example.org/issues/8}
          - {table: companies, reason: the tenant table itself, link: https://tracker.example.org/issues/9}
        """,
    )
    code, out, _ = check(clean_db, path, capsys)
    assert code == 1
    assert out.splitlines()[:2] == [
        f"FAIL ghosts: exempt in {path} but no such table exists in database {clean_db.database}: remove its exemption",
        f"FAIL companies: exempt in {path} but has no column company_id (not a tenant table): remove its exemption",
    ]


def test_defaults_come_from_the_registry(clean_db, tmp_path, capsys):
    path = registry(tmp_path, "tenant_column: company_id\ntenant_table: companies\nexemptions: []\n")
    assert main(["check", "--url", url_of(clean_db), "--registry", str(path)]) == 0
    assert "2 tenant table(s) with company_id" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exemptions: [\n", "not valid YAML"),
        ("exemptions:\n  - table: notes\n    reason: legacy\n", "exemptions[0] (notes).link: required key is missing"),
        (
            "exemptions:\n  - {table: notes, reason: '', link: x}\n",
            "exemptions[0] (notes).reason: expected a non-empty string, got ''",
        ),
        (
            "exemptions:\n  - {table: notes, reason: a, link: b}\n  - {table: notes, reason: c, link: d}\n",
            "exemptions[1] (notes).table: 'notes' is exempted more than once",
        ),
        ("exemptions:\n  - {table: 'no tes', reason: a, link: b}\n", "exemptions[0] (no tes).table: 'no tes' is not"),
        ("exemptions:\n  - notes\n", "exemptions[0]: expected a mapping {table, reason, link}, got 'notes'"),
        ("exemption: []\n", "exemption: unknown key"),
        ("tenant_column: 'company id'\n", "tenant_column: 'company id' is not an identifier"),
    ],
)
def test_a_bad_registry_exits_two_naming_the_file_and_entry(clean_db, tmp_path, capsys, text, expected):
    path = registry(tmp_path, text)
    code, out, err = check(clean_db, path, capsys)
    assert (code, out) == (2, "")
    assert f"registry {path} is invalid" in err and expected in err


def test_other_bad_input_exits_two(clean_db, tmp_path, capsys):
    path = registry(tmp_path, EMPTY)
    code, _, err = check(clean_db, tmp_path / "missing.yaml", capsys)
    assert code == 2 and f"registry {tmp_path / 'missing.yaml'} is invalid" in err and "no such file" in err
    assert main(["check", "--url", url_of(clean_db), "--registry", str(path), "--tenant-table", "companies"]) == 2
    assert "name --tenant-column and --tenant-table" in capsys.readouterr().err
    code, _, err = check(clean_db, path, capsys, "--tenant-table", "tenants")
    assert code == 2 and f"tenant table 'tenants' is not a base table of database '{clean_db.database}'" in err
    code, _, err = check(clean_db, path, capsys, "--tenant-column", "tenant_id")
    assert code == 2 and f"no base table of database '{clean_db.database}' has a column 'tenant_id'" in err
    code, _, err = check(clean_db, path, capsys, "--tenant-column", "company-id")
    assert code == 2 and "tenant column 'company-id' is not an identifier" in err


def test_a_tenant_table_no_statement_may_name_fails(clean_db, tmp_path, capsys):
    execute(
        clean_db, ["create table `legacy-notes` (id int not null primary key, company_id bigint unsigned not null)"]
    )
    code, out, _ = check(clean_db, registry(tmp_path, EMPTY), capsys)
    assert code == 1
    assert out.splitlines()[0] == "FAIL legacy-notes: its name is not a plain identifier; no statement here may name it"
