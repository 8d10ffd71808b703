"""Bad specs and params against the live schema: a clear error naming the field, and nothing written."""

from __future__ import annotations

import pytest

from tenant_integrity.core.errors import ParamError, SpecError
from tenant_integrity.core.paths import SPECS_DIR
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec, parse_spec
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import checksum, tables

GOOD = (SPECS_DIR / "customers_company.yaml").read_text(encoding="utf-8")


def spec_with(old: str, new: str):
    assert old in GOOD, old
    return parse_spec("customers_company", GOOD.replace(old, new, 1))


def assert_nothing_written(target, before_tables, before_sum):
    assert tables(target) == before_tables
    assert checksum(target, "customers") == before_sum


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "  table: customers\n",
            "  table: customer\n",
            "target.table: table 'customer' does not exist in the database",
        ),
        (
            "  tenant_column: company_id\n  soft_delete",
            "  tenant_column: company\n  soft_delete",
            "target.tenant_column: column customers.company does not exist",
        ),
        (
            "    foreign_key: customer_id\n    tenant_column: company_id\n  #",
            "    foreign_key: customerid\n    tenant_column: company_id\n  #",
            "evidence[0] (appointments).foreign_key: column appointments.customerid does not exist",
        ),
        (
            "      match_column: number",
            "      match_column: numbr",
            "evidence[1] (phone).through.match_column: column phone_numbers.numbr does not exist",
        ),
        (
            "  updated_at_column: updated_at\n",
            "  updated_at_column: changed_at\n",
            "target.updated_at_column: column customers.changed_at does not exist",
        ),
        (
            "review_columns: [name, email, phone, created_at]",
            "review_columns: [name, mail]",
            "review_columns[1]: column customers.mail does not exist",
        ),
        (
            "  table: companies\n  key: id",
            "  table: companies\n  key: name",
            "tenant_table.key: companies.name is not a primary key or unique index",
        ),
        (
            "  key: id\n  tenant_column",
            "  key: email\n  tenant_column",
            # a varchar key is fine (docs/string-keys.md); one that does not identify a row is not
            "target.key: customers.email is not a primary key or unique index",
        ),
        (
            "  key: id\n  tenant_column",
            "  key: created_at\n  tenant_column",
            "target.key: customers.created_at is timestamp; keyset chunking needs an integer, char or varchar key",
        ),
    ],
)
def test_live_schema_errors_name_the_field_and_write_nothing(seed_db, old, new, message):
    spec = spec_with(old, new)
    before_tables, before_sum = tables(seed_db), checksum(seed_db, "customers")
    with pytest.raises(SpecError) as failure:
        phases.run_all(seed_db, spec, RunContext(run_id="bad", dry_run=False))
    assert message in str(failure.value)
    assert_nothing_written(seed_db, before_tables, before_sum)


def test_a_source_whose_tenant_type_differs_from_the_tenant_key_is_refused(seed_db):
    with seed_db.connect() as db:
        db.execute("alter table appointments modify company_id varchar(20) null")
    before_tables, before_sum = tables(seed_db), checksum(seed_db, "customers")
    with pytest.raises(SpecError) as failure:
        phases.run_all(seed_db, load_spec("customers_company"), RunContext(run_id="bad", dry_run=False))
    assert (
        "evidence[0] (appointments).tenant_column: appointments.company_id is varchar(20) "
        "but the tenant key companies.id is bigint(20) unsigned"
    ) in str(failure.value)
    assert "relations[0].tenant_column: appointments.company_id is varchar(20)" in str(failure.value)
    assert_nothing_written(seed_db, before_tables, before_sum)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be between 1 and 50000, got 0"),
        ({"batch_size": -1}, "batch_size must be between 1 and 50000, got -1"),
        ({"batch_size": 10**9}, "batch_size must be between 1 and 50000, got 1000000000"),
        ({"batch_size": "100"}, "batch_size must be an integer, got '100'"),
        ({"batch_size": 2.5}, "batch_size must be an integer, got 2.5"),
        ({"dry_run": "false"}, "dry_run must be true or false, got 'false'"),
        ({"workers": 0}, "workers must be an integer between 1 and 8, got 0"),
        ({"workers": 9}, "workers must be an integer between 1 and 8, got 9"),
        ({"workers": "2"}, "workers must be an integer between 1 and 8, got '2'"),
        ({"workers": True}, "workers must be an integer between 1 and 8, got True"),
    ],
)
def test_bad_params_are_refused_before_anything_runs(kwargs, message):
    with pytest.raises(ParamError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        RunContext(run_id="r", **kwargs)


def test_unknown_spec_is_named_with_the_known_ones():
    with pytest.raises(SpecError) as failure:
        load_spec("orders_shop")
    assert "no spec file" in str(failure.value)
    assert "known specs: appointments_company, calls_company, customers_company" in str(failure.value)
