"""SQL rendering: identifiers only from the spec, always quoted; values never rendered."""

from __future__ import annotations

import re

import pytest

from tenant_integrity.checks import gates
from tenant_integrity.core.paths import SQL_DIR
from tenant_integrity.core.spec import load_spec
from tenant_integrity.store import sql

SPEC = load_spec("customers_company")


@pytest.mark.parametrize("bad", ["a;b", "a`b", "1abc", "", "x" * 65, None, "a b"])
def test_quote_refuses_anything_but_identifiers(bad):
    with pytest.raises(ValueError):
        sql.quote(bad)


def test_quote_backticks():
    assert sql.quote("customers") == "`customers`"


def test_string_values_are_never_rendered():
    with pytest.raises(ValueError, match="pass values as bound parameters"):
        sql.render("checks/active_null_outside_review.sql", SPEC, run_no="1 or 1=1")


def test_only_ints_pass_the_int_filter():
    with pytest.raises(ValueError, match="only ints are rendered"):
        sql.render("checks/active_null_outside_review.sql", SPEC, run_no=True)
    assert "where run_no = 42" in sql.render("checks/active_null_outside_review.sql", SPEC, run_no=42)


def test_every_sql_file_has_a_purpose_header_and_lowercase_keywords():
    for path in SQL_DIR.rglob("*.sql"):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("-- purpose: ") or text.startswith("-- purpose (") or text.startswith("-- (shared"), path
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        assert not re.search(r"\b(SELECT|FROM|WHERE|UPDATE|INSERT|JOIN)\b", body), path


def test_classification_renders_one_block_per_source_with_the_via_hop():
    text = sql.render("backfill/review_preview_range.sql", SPEC)
    assert "named_1 as (" in text and "named_2 as (" in text and "named_3" not in text
    # the plan counts with the write passes' one-level aggregates: same outcomes, no candidate lists
    profile = sql.render("backfill/profile_range.sql", SPEC)
    assert "source_2 as (" in profile and "named_" not in profile
    assert "left join `phone_numbers` as l on l.`number` = r.`to_number`" in text
    assert "%(lo)s" in text and "%(hi)s" in text


def test_rendered_statements_name_only_spec_identifiers():
    text = sql.render("backfill/decide_chunk.sql", SPEC, selection=sql.Ident("backfill"))
    named = set(re.findall(r"`([^`]+)`", text))
    allowed = {
        "customers",
        "id",
        "company_id",
        "deleted_at",
        "appointments",
        "customer_id",
        "calls",
        "to_number",
        "phone_numbers",
        "number",
        "companies",
    }
    assert named <= allowed


def test_suite_expansion_repeats_relation_checks_and_enforces_the_join_rule(tmp_path):
    expanded = gates.expand_suite(
        gates.load_suite_template("post_validation"),
        SPEC,
        run_no=3,
        fixed_columns=[sql.quote("id"), sql.quote("name")],
        range_size=10_000,
    )
    assert [e["check"] for e in expanded] == [
        "active_null_tenant_outside_review",
        "relation_mismatch:appointments",
        "relation_mismatch:calls",
        "row_count_unchanged",
        "tenant_exists",
        "unchanged_columns_checksum",
        "written_rows_unchanged_beyond_tenant",
        "audit_equals_changes",
    ]
    calls_check = expanded[2]["kwargs"]["unexpected_rows_query"]
    assert "straight_join `calls` as c on c.`customer_id` = p.`id`" in calls_check
    # the critical check reads only the parent rows the run wrote: it starts from the run's audit rows
    assert "from written as w" in calls_check and "where run_no = 3)" in calls_check
    assert expanded[2]["severity"] == "critical"
    # GX's {batch} rule, checked on the rendered text (nothing is written into include/sql)
    with pytest.raises(ValueError, match="must leave \\{batch\\} unaliased"):
        gates._check_batch_form("checks/x.sql", "-- purpose: test\nselect 1 from {batch} as t\n")
    with pytest.raises(ValueError, match="must alias \\{batch\\} itself"):
        gates._check_batch_form("checks/x.sql", "-- purpose: test\nselect 1 from {batch} join x on true\n")
    gates._check_batch_form("checks/x.sql", "select 1 from {batch} as t join x on true")  # the allowed forms
    gates._check_batch_form("checks/x.sql", "select 1 from {batch} where true")


def test_every_suite_query_goes_through_the_batch_rule(monkeypatch):
    checked = []
    monkeypatch.setattr(gates, "_check_batch_form", lambda name, query: checked.append(name))
    gates.expand_suite(gates.load_suite_template("post_validation"), SPEC, run_no=3, fixed_columns=[], range_size=1)
    assert "checks/relation_mismatch_created_by_run.sql" in checked and "checks/audit_matches_changes.sql" in checked
