"""Render the statements in include/sql with identifiers from a validated spec.

Identifiers reach SQL only through `quote()` (validated again, always backtick-quoted);
values never do: templates use `%(name)s` placeholders that the driver binds. The only
non-identifier tokens a template renders are Python ints (`| int`) and fixed branches.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from tenant_integrity.core.paths import SQL_DIR
from tenant_integrity.core.spec import IDENTIFIER, NOW, Spec


class Ident(str):
    """An identifier that has been validated and backtick-quoted."""


def quote(name: str) -> Ident:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValueError(f"refusing to render {name!r} as an SQL identifier")
    return Ident(f"`{name}`")


def _int_only(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"refusing to render {value!r} into SQL: only ints are rendered, other values are bound")
    return value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SQL_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["int"] = _int_only
    return env


def _deleted_predicate(column: Ident | None):
    """`deleted("t")` renders "is row t soft-deleted?": the soft-delete column set, or false without one."""

    def deleted(alias: str = "") -> str:
        if column is None:
            return "(0)"
        return f"({alias}.{column} is not null)" if alias else f"({column} is not null)"

    return deleted


# hash buckets of a text key for the range checksums (text keys have no numeric ranges)
TEXT_KEY_BUCKETS = 1024


def _key_context(spec: Spec) -> dict:
    """How templates name and compare the target's key in the bookkeeping tables.

    Integer keys live in the bigint columns (row_id, last_key, until_key, max_key_before); text keys
    in the text columns beside them (row_key, ..._text: exact bytes, utf8mb4_bin), row_id then 0.
    `bk_match(alias, expr)` is "this bookkeeping row is about key expr" in a form the bookkeeping
    index serves; `as_target_key(expr)` turns a stored text key into the target's character set and
    collation, so a comparison with the target's key column uses the target's index and order.
    """
    key = spec.target_key
    text = key.text

    def bk_match(alias: str, expr: str) -> str:
        if text:
            return f"({alias}.row_id = 0 and {alias}.row_key = {expr})"
        return f"{alias}.row_id = {expr}"

    def as_target_key(expr: str) -> str:
        if text:
            return f"convert({expr} using {quote(key.charset)}) collate {quote(key.collation)}"
        return expr

    def key_range(alias: str, range_size: int) -> str:
        column = f"{alias}.{quote(spec.target.key)}"
        if text:
            return f"(crc32({column}) % {TEXT_KEY_BUCKETS})"
        return f"floor({column} / {_int_only(range_size)})"

    return {
        "key_text": text,
        "bk_key": Ident("row_key" if text else "row_id"),
        "bk_last_key": Ident("last_key_text" if text else "last_key"),
        "bk_until_key": Ident("until_key_text" if text else "until_key"),
        "bk_max_key": Ident("max_key_before_text" if text else "max_key_before"),
        "bk_match": bk_match,
        "as_target_key": as_target_key,
        "key_range": key_range,
    }


def spec_context(spec: Spec) -> dict:
    """Quoted identifiers for every object a template may name."""
    t = spec.target
    soft_delete = quote(t.soft_delete_column) if t.soft_delete_column else None
    return {
        **_key_context(spec),
        "deleted": _deleted_predicate(soft_delete),
        # what a soft-deleting orphan write sets: column and the bound parameter that carries its value
        "orphan_set": [
            {"column": quote(column), "param": value_param, "name_param": name_param}
            for column, _, name_param, value_param in _orphan_slots(spec)
        ],
        "orphans_to_review": spec.orphans.action == "review",
        "written_columns": [quote(c) for c in spec.written_columns],
        "target": {
            "table": quote(t.table),
            "key": quote(t.key),
            "tenant": quote(t.tenant_column),
            "soft_delete": soft_delete,
            "created_at": quote(t.created_at_column) if t.created_at_column else None,
            "updated_at": quote(t.updated_at_column) if t.updated_at_column else None,
            "touched": quote(spec.touched_column) if spec.touched_column else None,
        },
        "tenant_table": {"table": quote(spec.tenant_table.table), "key": quote(spec.tenant_table.key)},
        "evidence": [
            {
                "number": number,
                "table": quote(e.table),
                "foreign_key": quote(e.foreign_key),
                "tenant": quote(e.tenant_column) if e.tenant_column else None,
                "through": {
                    "column": quote(e.through.column),
                    "table": quote(e.through.table),
                    "match_column": quote(e.through.match_column),
                    "tenant": quote(e.through.tenant_column),
                }
                if e.through
                else None,
                # the target's own column and the parent's key it matches: the parent row is the evidence
                "parent": {"foreign_key": quote(e.parent.foreign_key), "key": quote(e.parent.key)}
                if e.parent
                else None,
            }
            for number, e in enumerate(spec.evidence, start=1)
        ],
        "relations": [
            {
                "table": quote(r.table),
                "foreign_key": quote(r.foreign_key),
                "tenant": quote(r.tenant_column),
                # a direct evidence source over the same rows: its aggregate already holds what the relation says
                "served_by": next(
                    (
                        number
                        for number, e in enumerate(spec.evidence, start=1)
                        if not e.through
                        and not e.parent
                        and (e.table, e.foreign_key, e.tenant_column) == (r.table, r.foreign_key, r.tenant_column)
                    ),
                    None,
                ),
            }
            for r in spec.relations
        ],
        "review_columns": [quote(c) for c in spec.review_columns],
        "backup_table": quote(spec.backup_table),
    }


def _orphan_slots(spec: Spec):
    """Per orphans.set column: (column, value, parameter for its name, parameter for its value) — one naming for both."""
    for number, (column, value) in enumerate(spec.orphans.set, start=1):
        yield column, value, f"orphan_column_{number}", f"orphan_value_{number}"


def orphan_params(spec: Spec, now_text: str) -> dict:
    """The bound values of an orphan soft-delete: each column's name and value (`now` -> the run's timestamp)."""
    params = {}
    for column, value, name_param, value_param in _orphan_slots(spec):
        params[name_param] = column
        params[value_param] = now_text if value == NOW else value
    return params


def render(template: str, spec: Spec | None = None, **extra) -> str:
    """Render include/sql/<template> for a spec; `extra` may hold branch flags, Idents and ints."""
    for key, value in extra.items():
        if isinstance(value, str) and not isinstance(value, Ident):
            raise ValueError(f"{template}: extra {key}={value!r} is a string; pass values as bound parameters")
    context = spec_context(spec) if spec is not None else {}
    context.update(extra)
    return _environment().get_template(template).render(**context).strip()
