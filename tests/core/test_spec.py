"""Static spec validation: every kind of mistake is named by its field."""

from __future__ import annotations

import contextlib

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_integrity.core.errors import SpecError
from tenant_integrity.core.paths import SPECS_DIR
from tenant_integrity.core.spec import load_spec, parse_spec, spec_names

GOOD = yaml.safe_load((SPECS_DIR / "customers_company.yaml").read_text(encoding="utf-8"))


def problems_of(raw) -> list[str]:
    with pytest.raises(SpecError) as failure:
        parse_spec("customers_company", yaml.safe_dump(raw))
    return failure.value.problems


def changed(path: list, value):
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    node = raw
    for part in path[:-1]:
        node = node[part]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


def test_the_shipped_spec_loads():
    spec = load_spec("customers_company")
    assert spec.target.table == "customers"
    assert [e.name for e in spec.evidence] == ["appointments", "phone"]
    assert spec.evidence[1].through.match_column == "number"
    assert spec.backup_table == "tenant_backup_customers"
    assert spec_names() == ["appointments_company", "calls_company", "customers_company"]


def test_the_graph_specs_read_their_tenant_from_the_parent_row():
    calls = load_spec("calls_company")
    assert [(e.name, e.parent.foreign_key, e.parent.table, e.parent.key) for e in calls.evidence] == [
        ("customer", "customer_id", "customers", "id"),
        ("business_number", "to_number", "phone_numbers", "number"),
    ]
    # a parent source is named by its parent table and tenant column, like a source pointing at the row
    assert (calls.evidence[0].table, calls.evidence[0].tenant_column) == ("customers", "company_id")
    assert calls.orphans.action == "review"  # calls has no soft-delete column
    appointments = load_spec("appointments_company")
    assert [e.parent.table for e in appointments.evidence] == ["customers"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ["target", "colour"],
            "red",
            "target.colour: unknown key (allowed: created_at_column, key, soft_delete_column, table, tenant_column, touch_updated_at, updated_at_column)",
        ),
        (["target", "key"], KeyError, "target.key: required key is missing"),
        (
            ["target", "table"],
            "customers; drop table x",
            "target.table: 'customers; drop table x' is not a valid identifier",
        ),
        (["target", "table"], "cust`omers", "target.table: 'cust`omers' is not a valid identifier"),
        (["target", "tenant_column"], 5, "target.tenant_column: expected an identifier string, got int 5"),
        (["target", "table"], "x" * 65, "is not a valid identifier"),
        (["evidence"], [], "evidence: expected a non-empty list of evidence sources in priority order"),
        (
            ["evidence", 0, "tenant_column"],
            KeyError,
            "evidence[0].tenant_column: required unless the source goes through another table",
        ),
        (
            ["evidence", 1, "through", "match_column"],
            KeyError,
            "evidence[1].through.match_column: required key is missing",
        ),
        (["evidence", 1, "name"], "appointments", "evidence: source name 'appointments' is used more than once"),
        (["tenant_table"], "companies", "tenant_table: expected a mapping, got str"),
        (["relations", 0, "tenant"], "company_id", "relations[0].tenant: unknown key"),
        (["review_columns"], [], "review_columns: expected a non-empty list of column names"),
        (["review_columns"], ["name", "e mail"], "review_columns[1]: 'e mail' is not a valid identifier"),
        (["conn_id"], None, "conn_id: expected a connection id string, got None"),
        (["target", "table"], "t" * 60, "too long for its backup table"),
        (["orphans"], {"action": "shred"}, "orphans.action: 'shred' is not one of soft_delete, review"),
        (
            ["orphans"],
            {"action": "soft_delete", "set": {"is_deleted": 1}},
            "orphans.set: soft_delete must set target.soft_delete_column 'deleted_at'",
        ),
        (
            ["orphans"],
            {"action": "review", "set": {"deleted_at": "now"}},
            "orphans.set: only soft_delete sets columns",
        ),
        (
            ["orphans"],
            {"action": "soft_delete", "set": {"deleted_at": "now", "company_id": 1}},
            "orphans.set.company_id: an orphan keeps its key and its NULL tenant",
        ),
        (["orphans"], {"action": "soft_delete", "set": {"deleted_at": None}}, "orphans.set.deleted_at: None is not"),
        (["orphans"], {"set": {}}, "orphans.action: required key is missing"),
    ],
)
def test_each_mistake_is_named(path, value, expected):
    assert any(expected in p for p in problems_of(changed(path, value))), problems_of(changed(path, value))


def test_all_problems_are_listed_at_once():
    raw = changed(["target", "key"], KeyError)
    raw["target"]["table"] = "bad name"
    raw["surprise"] = 1
    problems = problems_of(raw)
    assert len(problems) == 3
    assert "spec 'customers_company' is invalid (3 problem(s))" in str(SpecError("customers_company", problems))


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(SpecError, match="not valid YAML"):
        parse_spec("s", "target: [unclosed")
    assert problems_of(["a", "list"])[0] == "the file: expected a mapping, got list"


@pytest.mark.parametrize("name", ["../etc/passwd", "Customers", "", "a-b"])
def test_spec_names_are_checked_before_any_file_is_read(name):
    with pytest.raises(SpecError, match="must match"):
        load_spec(name)


identifiers = st.one_of(st.text(max_size=70), st.integers(), st.none(), st.lists(st.text(max_size=5), max_size=2))


@settings(max_examples=300, deadline=None)
@given(
    section=st.sampled_from(["target", "tenant_table"]),
    key=st.sampled_from(["table", "key", "tenant_column", "soft_delete_column", "extra"]),
    value=identifiers,
)
def test_any_value_either_loads_or_raises_a_spec_error(section, key, value):
    raw = changed([section, key], value)
    try:
        spec = parse_spec("customers_company", yaml.safe_dump(raw))
    except SpecError as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
    else:  # whatever loads must be safe to quote
        for name in (spec.target.table, spec.target.key, spec.tenant_table.table):
            assert name.isidentifier() and len(name) <= 64


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text):
    with contextlib.suppress(SpecError):
        parse_spec("customers_company", text)


def test_orphans_default_to_soft_delete_with_a_soft_delete_column_and_to_review_without():
    assert load_spec("customers_company").orphans.set == (("deleted_at", "now"),)
    raw = changed(["target", "soft_delete_column"], KeyError)
    spec = parse_spec("no_soft_delete", yaml.safe_dump(raw))
    assert (spec.orphans.action, spec.written_columns) == ("review", ("company_id",))
    problems = problems_of({**raw, "orphans": {"action": "soft_delete", "set": {"is_deleted": 1}}})
    assert "orphans.action: soft_delete needs target.soft_delete_column (how a deleted row is told apart)" in problems
    touched = changed(["target", "touch_updated_at"], True)
    touched["orphans"] = {"action": "soft_delete", "set": {"deleted_at": "now", "updated_at": "now"}}
    assert problems_of(touched) == [
        "orphans.set.updated_at: touch_updated_at already sets it on every row a run writes"
    ]
