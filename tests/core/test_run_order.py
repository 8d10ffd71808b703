"""Which specs a multi-spec run repairs and in what order; when a spec may start."""

from __future__ import annotations

import pytest

from tenant_integrity.core import run_order
from tenant_integrity.core.errors import ParamError
from tenant_integrity.core.spec import load_spec, parse_spec

KNOWN = ["appointments_company", "calls_company", "customers_company"]


def _spec(name: str, table: str, parent_table: str | None = None) -> object:
    evidence = (
        f"""  - name: parent
    parent: {{foreign_key: owner_id, table: {parent_table}, key: id, tenant_column: company_id}}"""
        if parent_table
        else """  - name: children
    table: child_rows
    foreign_key: owner_id
    tenant_column: company_id"""
    )
    return parse_spec(
        name,
        f"""conn_id: tenant_db
target: {{table: {table}, key: id, tenant_column: company_id}}
tenant_table: {{table: companies, key: id}}
evidence:
{evidence}
review_columns: [id]
""",
    )


def test_all_is_every_spec_file_parents_first():
    order = run_order.resolve(None, ["all"])
    assert [(o.spec, o.position, o.waits_for, o.waits_for_positions) for o in order] == [
        ("customers_company", 0, (), ()),
        ("appointments_company", 1, ("customers_company",), (0,)),
        ("calls_company", 2, ("customers_company",), (0,)),
    ]


def test_one_spec_from_the_spec_param_and_a_child_alone_waits_for_nothing():
    assert [o.spec for o in run_order.resolve("calls_company", [])] == ["calls_company"]
    # customers is not in the run: calls reads it as it is (a person chose to run calls alone)
    assert run_order.resolve(None, ["calls_company"])[0].waits_for == ()


def test_a_chain_orders_grandparents_first_whatever_the_names():
    chosen = [_spec("a_leaf", "leaves", "branches"), _spec("b_branch", "branches", "roots"), _spec("z_root", "roots")]
    assert [(o.spec, o.waits_for) for o in run_order.run_order(chosen)] == [
        ("z_root", ()),
        ("b_branch", ("z_root",)),
        ("a_leaf", ("b_branch",)),
    ]


@pytest.mark.parametrize(
    ("spec", "specs", "message"),
    [
        (None, ["nope"], "specs: unknown spec(s) nope (known: appointments_company, calls_company, customers_company)"),
        (None, ["all", "calls_company"], 'specs: "all" stands alone'),
        (None, ["calls_company", "calls_company"], "specs: calls_company named more than once"),
        (None, "calls_company", "specs must be a list of spec names"),
        (None, None, "name a spec (param spec) or several"),
    ],
)
def test_bad_specs_params_are_named(spec, specs, message):
    with pytest.raises(ParamError) as raised:
        run_order.requested_names(spec, specs, KNOWN)
    assert message in str(raised.value)


def test_two_specs_on_one_table_and_cycles_are_refused():
    customers = load_spec("customers_company")
    with pytest.raises(ParamError, match="specs customers_company and other both repair table customers"):
        run_order.run_order([customers, _spec("other", "customers")])
    with pytest.raises(ParamError, match="cycle: a waits for b, b waits for a"):
        run_order.run_order([_spec("a", "t_a", "t_b"), _spec("b", "t_b", "t_a")])


CALLS = {"spec": "calls_company", "waits_for": ["customers_company"], "waits_for_positions": [0]}
DONE = "repair.post_validation"


@pytest.mark.parametrize(
    ("states", "done", "failed", "message"),
    [
        ({}, False, False, "spec calls_company waits for customers_company to pass post_validation"),
        ({"repair.backfill_0": "running", "repair.post_validation_10": "success"}, False, False, "waits for"),
        ({"repair.post_validation_0": "success"}, True, False, "customers_company passed; starting"),
        (
            {
                "repair.preflight_0": "success",
                "repair.backfill_0": "failed",
                "repair.post_validation_0": "upstream_failed",
            },
            False,
            True,
            "parent spec customers_company did not pass in this run (repair.backfill failed",
        ),
        # a sibling that failed (another map index) does not stop this spec
        ({"repair.backfill_1": "failed", "repair.post_validation_0": "success"}, True, False, "passed"),
    ],
)
def test_a_spec_starts_when_its_parents_passed_and_ends_when_one_failed(states, done, failed, message):
    wait = run_order.parents_state(CALLS, states, DONE)
    assert (wait.done, wait.failed) == (done, failed)
    assert message in wait.message


def test_passed_specs_are_the_map_indexes_whose_post_validation_succeeded():
    order = [{"spec": "customers_company"}, {"spec": "appointments_company"}, {"spec": "calls_company"}]
    states = {
        "repair.post_validation_0": "success",
        "repair.post_validation_1": "failed",
        "repair.post_validation_2": "success",
        "repair.backfill_1": "success",  # another task of spec 1: not its verdict
    }
    assert run_order.passed_specs(order, states, "repair.post_validation") == ["customers_company", "calls_company"]
    assert run_order.passed_specs(order, {"repair.post_validation_0": "skipped"}, "repair.post_validation") == []
