"""Every column read from information_schema / performance_schema carries an explicit lower-case alias.

MySQL 8 names an unaliased information_schema column in UPPER case (`select c.table_name ...` gives
the key `TABLE_NAME` in a dict cursor); MariaDB names it as written. Readers use lower-case keys, so
only `c.table_name as table_name` reads the same on both servers (docs/mysql8.md).

Each statement under include/sql whose SQL (comments left out) names one of those schemas is
rendered if it is a Jinja template, split into tokens, and every item of every top-level select
list (union branches included; subqueries and CTE bodies do not name result columns) must end in
`as <alias>` with a lower-case identifier alias. A mention in a comment only (pacing/threads_running.sql
explains why it uses SHOW) reads nothing and is not checked.
"""

from __future__ import annotations

import re

import pytest

from tenant_integrity.core.paths import SQL_DIR
from tenant_integrity.core.spec import load_spec
from tenant_integrity.store import sql

SCHEMAS = re.compile(r"\b(information_schema|performance_schema)\b", re.IGNORECASE)
SPEC = load_spec("customers_company")
# extra render arguments of templates that need them (none of the current ones does)
EXTRAS: dict[str, dict] = {}

# words that end a select list at depth 0
_LIST_END = {"from", "into", "where", "group", "having", "order", "limit", "union", "window", "for", "lock", "except"}
_LIST_END |= {"intersect"}
# select modifiers that may come before the first item
_MODIFIERS = {
    "all",
    "distinct",
    "distinctrow",
    "high_priority",
    "straight_join",
    "sql_small_result",
    "sql_big_result",
    "sql_buffer_result",
    "sql_no_cache",
    "sql_cache",
    "sql_calc_found_rows",
}
_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<quoted>`(?:[^`]|``)*`)
    | (?P<word>[A-Za-z_@$][A-Za-z0-9_@$.]*|%\([A-Za-z0-9_]+\)s|[0-9][A-Za-z0-9_.]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def tokens(text: str) -> list[str]:
    """The statement's tokens, comments and whitespace dropped; strings and `quoted` names kept whole."""
    found = []
    for match in _TOKEN.finditer(text):
        if match.lastgroup not in ("space", "comment"):
            found.append(match.group())
    return found


def select_lists(text: str) -> list[list[str]]:
    """The items (as text) of every select list at parenthesis depth 0."""
    toks = tokens(text)
    lists, depth, i = [], 0, 0
    while i < len(toks):
        tok = toks[i]
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0 and tok.lower() == "select":
            i += 1
            while i < len(toks) and toks[i].lower() in _MODIFIERS:
                i += 1
            items, current, inner = [], [], 0
            while i < len(toks):
                t = toks[i]
                if inner == 0 and (t in (";", ")") or t.lower() in _LIST_END):
                    break
                if t == "(":
                    inner += 1
                elif t == ")":
                    inner -= 1
                if inner == 0 and t == ",":
                    items.append(current)
                    current = []
                else:
                    current.append(t)
                i += 1
            items.append(current)
            lists.append([" ".join(item) for item in items])
            continue
        i += 1
    return lists


def alias_problem(item: str) -> str | None:
    """Why a select item's result name would differ between MySQL 8 and MariaDB, or None."""
    toks = tokens(item)
    if len(toks) < 3 or toks[-2].lower() != "as":
        return "has no explicit `as <alias>`"
    alias = toks[-1]
    if alias.startswith("`") and alias.endswith("`"):
        alias = alias[1:-1]
    elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
        return f"alias {alias!r} is not an identifier"
    if alias != alias.lower():
        return f"alias {alias!r} is not lower case"
    return None


def statement_text(path) -> str:
    relative = path.relative_to(SQL_DIR).as_posix()
    text = path.read_text(encoding="utf-8")
    if "{{" in text or "{%" in text:
        return sql.render(relative, SPEC, **EXTRAS.get(relative, {}))
    return text


def schema_statements() -> list:
    return sorted(
        path for path in SQL_DIR.rglob("*.sql") if SCHEMAS.search(" ".join(tokens(path.read_text(encoding="utf-8"))))
    )


def problems_in(name: str, text: str) -> list[str]:
    lists = select_lists(text)
    if not lists:
        return [f"{name}: names a system schema but has no top-level select list to check"]
    return [
        f"{name}: select item `{item}` {problem}"
        for items in lists
        for item in items
        if (problem := alias_problem(item)) is not None
    ]


def test_the_system_schema_statements_are_found():
    names = {p.relative_to(SQL_DIR).as_posix() for p in schema_statements()}
    assert {"constraints/column_facts.sql", "bookkeeping/table_columns.sql", "bench/dirty_pages.sql"} <= names
    assert "pacing/threads_running.sql" not in names  # named in a comment only


@pytest.mark.parametrize("path", schema_statements(), ids=lambda p: p.relative_to(SQL_DIR).as_posix())
def test_every_selected_column_has_a_lower_case_alias(path):
    name = f"include/sql/{path.relative_to(SQL_DIR).as_posix()}"
    problems = problems_in(name, statement_text(path))
    assert not problems, "MySQL 8 upper-cases unaliased information_schema columns:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("statement", "bad"),
    [
        ("select c.table_name, c.column_name as column_name from information_schema.columns c", ["c.table_name"]),
        ("select min(s.column_name) from information_schema.statistics s", ["min ( s.column_name )"]),
        ("select count(*) as N from information_schema.tables", ["count ( * ) as N"]),
        ("select * from information_schema.tables", ["*"]),
        ("select distinct k.constraint_name from information_schema.key_column_usage k", ["k.constraint_name"]),
        ("select a as a from t union all select b from information_schema.tables", ["b"]),
        ("select variable_value as 'v' from information_schema.global_status", ["variable_value as 'v'"]),
    ],
)
def test_the_checker_names_each_unaliased_item(statement, bad):
    found = problems_in("x.sql", statement)
    assert [p.split("`")[1] for p in found] == bad
    assert all(p.startswith("x.sql: select item ") for p in found)


def test_the_checker_accepts_aliased_items_and_skips_subqueries():
    statement = """
        -- purpose: select x, y from information_schema
        select s.table_name as table_name, min(s.column_name) as `column_name`,
               (select count(*) from information_schema.tables t where t.table_name = s.table_name) as n
        from information_schema.statistics as s
        where s.table_name in (select table_name from information_schema.tables)
        group by s.table_name, s.index_name
        having count(*) = 1
    """
    assert select_lists(statement) == [
        [
            "s.table_name as table_name",
            "min ( s.column_name ) as `column_name`",
            "( select count ( * ) from information_schema.tables t where t.table_name = s.table_name ) as n",
        ]
    ]
    assert problems_in("x.sql", statement) == []
