"""Remediation specs: one YAML file per target, validated before anything touches the database.

`load_spec` checks the file on its own (keys, types, identifier syntax); `check_live_schema`
checks it against information_schema (tables, columns, key types). Both collect every problem
and raise one `SpecError` naming each field, so a user fixes the file in one go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenant_integrity.core.errors import SpecError, TenantIntegrityError
from tenant_integrity.core.paths import SPECS_DIR

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SPEC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "bigint"}
# string keys (Laravel's HasUuids char(36), HasUlids char(26), natural varchar keys) up to the length the
# bookkeeping tables' text key columns hold
TEXT_KEY_TYPES = {"char", "varchar"}
TEXT_KEY_MAX_LENGTH = 255
BACKUP_PREFIX = "tenant_backup_"
# bookkeeping columns added to every backup table; a target column of the same name would collide
BACKUP_COLUMNS = ("backup_run_id", "backed_up_at")


@dataclass(frozen=True)
class Target:
    table: str
    key: str
    tenant_column: str
    # how the application marks a deleted row (NULL = active); None: the table has no soft delete
    soft_delete_column: str | None
    created_at_column: str | None = None
    # the application's change marker: rows it wrote during a run are reported, not judged by the gates
    updated_at_column: str | None = None
    # the run sets updated_at_column on every row it writes (apps whose clients sync by updated_at)
    touch_updated_at: bool = False


@dataclass(frozen=True)
class TargetKey:
    """What the live schema says about target.key: an integer, or text in a character set and collation.

    Text keys are kept in the bookkeeping tables' text key columns (exact bytes, utf8mb4_bin) and
    compared back to the target in the target's own collation, so the target's index serves the join.
    """

    text: bool = False
    charset: str | None = None
    collation: str | None = None

    def parse(self, value):
        """A key as the driver or a file gives it, in the form bound parameters and results use."""
        if value is None:
            return None
        if self.text:
            return value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return int(value)

    def before(self, first):
        """A bound just below `first`, the smallest key: where a keyset walk starts (`key > bound`).

        For text that is '', which sorts below every other key; a row keyed '' is refused when a walk
        starts (phases._split).
        """
        return "" if self.text else int(first) - 1

    @property
    def lowest(self):
        """A bound below every key the bookkeeping tables can hold: '' or the smallest bigint."""
        return "" if self.text else -(2**63)


INTEGER_KEY = TargetKey()


@dataclass(frozen=True)
class TenantTable:
    table: str
    key: str


@dataclass(frozen=True)
class Through:
    """A hop from the evidence row to a lookup table that carries the tenant."""

    column: str
    table: str
    match_column: str
    tenant_column: str


@dataclass(frozen=True)
class Parent:
    """The target row's own column pointing at a row of another table that carries the tenant.

    `calls.customer_id -> customers.id` (its company_id), or `calls.to_number -> phone_numbers.number`:
    `key` need not be unique; several rows naming different tenants are a conflict like any other.
    """

    foreign_key: str  # a column of the target
    table: str
    key: str
    tenant_column: str


@dataclass(frozen=True)
class Evidence:
    """One source of a NULL row's tenant: rows pointing at it (`table.foreign_key` = the target's key),
    optionally through a lookup table, or the row it points at itself (`parent`).

    For a parent source, `table` and `tenant_column` are the parent's and `foreign_key` is the target's column.
    """

    name: str
    table: str
    foreign_key: str
    tenant_column: str | None = None
    through: Through | None = None
    parent: Parent | None = None


@dataclass(frozen=True)
class Relation:
    table: str
    foreign_key: str
    tenant_column: str


NOW = "now"  # an orphans.set value: the run's own timestamp (UTC)
ORPHAN_ACTIONS = ("soft_delete", "review")


@dataclass(frozen=True)
class OrphanPolicy:
    """What a run does with an active row that no evidence or relation row points to.

    `soft_delete` sets `set` (column -> value, `now` = the run's timestamp) on it; `review` puts it
    in the review queue with reason `orphan`, for a person to decide.
    """

    action: str
    set: tuple[tuple[str, object], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.set)


@dataclass(frozen=True)
class Spec:
    name: str
    conn_id: str
    target: Target
    tenant_table: TenantTable
    evidence: tuple[Evidence, ...]
    relations: tuple[Relation, ...]
    review_columns: tuple[str, ...]
    mask_in_review: dict[str, str] = field(default_factory=dict)  # column -> "email" | "phone"
    orphans: OrphanPolicy = OrphanPolicy("review")
    path: Path | None = field(default=None, compare=False)
    # set by the live check (bookkeeping.validate_against_database): an integer key until then
    target_key: TargetKey = field(default=INTEGER_KEY, compare=False)

    @property
    def written_columns(self) -> tuple[str, ...]:
        """Every target column a run may write: backed up, audited and restored by rollback."""
        return (self.target.tenant_column, *self.orphans.columns, *self._touched)

    @property
    def tenant_write_columns(self) -> tuple[str, ...]:
        """What writing a tenant sets (one audit row each): the tenant, and the change marker with touch_updated_at."""
        return (self.target.tenant_column, *self._touched)

    @property
    def orphan_write_columns(self) -> tuple[str, ...]:
        """What soft-deleting an orphan sets (one audit row each): orphans.set, and the change marker."""
        return (*self.orphans.columns, *self._touched)

    @property
    def _touched(self) -> tuple[str, ...]:
        return (self.touched_column,) if self.touched_column else ()

    @property
    def touched_column(self) -> str | None:
        """The change marker a run sets on each row it writes, if the spec asks it to."""
        return self.target.updated_at_column if self.target.touch_updated_at else None

    @property
    def backup_table(self) -> str:
        return f"{BACKUP_PREFIX}{self.target.table}"

    def source_number(self, source_name: str) -> int:
        """1-based priority of an evidence source, as the SQL numbers them."""
        for number, source in enumerate(self.evidence, start=1):
            if source.name == source_name:
                return number
        raise KeyError(f"spec {self.name!r} has no evidence source {source_name!r}")


# --- static validation ---------------------------------------------------------------------

_SHAPES: dict[str, tuple[set[str], set[str]]] = {
    # section: (required keys, optional keys)
    "": (
        {"conn_id", "target", "tenant_table", "evidence", "review_columns"},
        {"relations", "description", "mask_in_review", "orphans"},
    ),
    "target": (
        {"table", "key", "tenant_column"},
        {"soft_delete_column", "created_at_column", "updated_at_column", "touch_updated_at"},
    ),
    "orphans": ({"action"}, {"set"}),
    "tenant_table": ({"table", "key"}, set()),
    "evidence": ({"name"}, {"table", "foreign_key", "tenant_column", "through", "parent"}),
    "through": ({"column", "table", "match_column", "tenant_column"}, set()),
    "parent": ({"foreign_key", "table", "key", "tenant_column"}, set()),
    "relations": ({"table", "foreign_key", "tenant_column"}, set()),
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def mapping(self, value: Any, where: str, shape: str) -> dict:
        if not isinstance(value, dict):
            self.problems.append(f"{where or 'the file'}: expected a mapping, got {type(value).__name__}")
            return {}
        required, optional = _SHAPES[shape]
        prefix = f"{where}." if where else ""
        for key in sorted(set(value) - required - optional, key=str):
            self.problems.append(f"{prefix}{key}: unknown key (allowed: {', '.join(sorted(required | optional))})")
        for key in sorted(required - set(value)):
            self.problems.append(f"{prefix}{key}: required key is missing")
        return value

    def identifier(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.problems.append(f"{where}: expected an identifier string, got {type(value).__name__} {value!r}")
            return ""
        if not IDENTIFIER.match(value):
            self.problems.append(f"{where}: {value!r} is not a valid identifier (must match {IDENTIFIER.pattern})")
            return ""
        return value

    def identifier_list(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not value:
            self.problems.append(f"{where}: expected a non-empty list of column names")
            return []
        return [self.identifier(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _evidence(check: _Checker, where: str, item: Any) -> Evidence:
    """One evidence source: rows pointing at the target row (table + foreign_key [+ through]) or its parent."""
    e = check.mapping(item, where, "evidence")
    name = check.identifier(e.get("name"), f"{where}.name") if "name" in e else ""
    if "parent" in e:
        for key in sorted({"table", "foreign_key", "tenant_column", "through"} & set(e)):
            check.problems.append(f"{where}.{key}: a parent source names its table and columns under parent only")
        h = check.mapping(e["parent"], f"{where}.parent", "parent")
        parent = Parent(**{k: check.identifier(h.get(k), f"{where}.parent.{k}") for k in _SHAPES["parent"][0]})
        return Evidence(
            name=name,
            table=parent.table,
            foreign_key=parent.foreign_key,
            tenant_column=parent.tenant_column,
            parent=parent,
        )
    for key in ("table", "foreign_key"):
        if key not in e and e:
            check.problems.append(f"{where}.{key}: required key is missing (or give the source a parent)")
    through = None
    if "through" in e:
        h = check.mapping(e["through"], f"{where}.through", "through")
        through = Through(**{k: check.identifier(h.get(k), f"{where}.through.{k}") for k in _SHAPES["through"][0]})
        if "tenant_column" in e:
            check.problems.append(f"{where}: give tenant_column either directly or under through, not both")
    elif "tenant_column" not in e and e:
        check.problems.append(f"{where}.tenant_column: required unless the source goes through another table")
    return Evidence(
        name=name,
        table=check.identifier(e.get("table"), f"{where}.table") if "table" in e else "",
        foreign_key=check.identifier(e.get("foreign_key"), f"{where}.foreign_key") if "foreign_key" in e else "",
        tenant_column=check.identifier(e["tenant_column"], f"{where}.tenant_column") if "tenant_column" in e else None,
        through=through,
    )


def _build(name: str, raw: Any) -> Spec:
    check = _Checker()
    root = check.mapping(raw, "", "")
    conn_id = root.get("conn_id")
    if "conn_id" in root and (not isinstance(conn_id, str) or not conn_id):
        check.problems.append(f"conn_id: expected a connection id string, got {conn_id!r}")

    t = check.mapping(root.get("target", {}), "target", "target") if "target" in root else {}
    target = Target(
        table=check.identifier(t.get("table"), "target.table") if "table" in t else "",
        key=check.identifier(t.get("key"), "target.key") if "key" in t else "",
        tenant_column=check.identifier(t.get("tenant_column"), "target.tenant_column") if "tenant_column" in t else "",
        soft_delete_column=check.identifier(t.get("soft_delete_column"), "target.soft_delete_column")
        if "soft_delete_column" in t
        else None,
        created_at_column=check.identifier(t["created_at_column"], "target.created_at_column")
        if "created_at_column" in t
        else None,
        updated_at_column=check.identifier(t["updated_at_column"], "target.updated_at_column")
        if "updated_at_column" in t
        else None,
        touch_updated_at=t.get("touch_updated_at", False) is True,
    )
    tt = check.mapping(root.get("tenant_table", {}), "tenant_table", "tenant_table") if "tenant_table" in root else {}
    tenant_table = TenantTable(
        table=check.identifier(tt.get("table"), "tenant_table.table") if "table" in tt else "",
        key=check.identifier(tt.get("key"), "tenant_table.key") if "key" in tt else "",
    )

    evidence: list[Evidence] = []
    raw_evidence = root.get("evidence", [])
    if "evidence" in root and (not isinstance(raw_evidence, list) or not raw_evidence):
        check.problems.append("evidence: expected a non-empty list of evidence sources in priority order")
        raw_evidence = []
    for i, item in enumerate(raw_evidence):
        evidence.append(_evidence(check, f"evidence[{i}]", item))
    names = [e.name for e in evidence if e.name]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        check.problems.append(f"evidence: source name {dup!r} is used more than once")

    relations: list[Relation] = []
    raw_relations = root.get("relations", [])
    if not isinstance(raw_relations, list):
        check.problems.append("relations: expected a list")
        raw_relations = []
    for i, item in enumerate(raw_relations):
        r = check.mapping(item, f"relations[{i}]", "relations")
        relations.append(
            Relation(
                **{k: check.identifier(r.get(k), f"relations[{i}].{k}") for k in _SHAPES["relations"][0] if k in r}
            )
            if set(r) >= _SHAPES["relations"][0]
            else Relation("", "", "")
        )
    review_columns = (
        check.identifier_list(root.get("review_columns"), "review_columns") if "review_columns" in root else []
    )

    mask: dict[str, str] = {}
    raw_mask = root.get("mask_in_review", {})
    if not isinstance(raw_mask, dict):
        check.problems.append("mask_in_review: expected a mapping of review column -> email | phone")
        raw_mask = {}
    for column, kind in raw_mask.items():
        name = check.identifier(column, f"mask_in_review.{column}")
        if kind not in ("email", "phone"):
            check.problems.append(f"mask_in_review.{column}: {kind!r} is not a mask (use email or phone)")
        elif name and name not in review_columns:
            check.problems.append(f"mask_in_review.{column}: not one of the review_columns")
        else:
            mask[name] = kind
    touch = t.get("touch_updated_at", False)
    if not isinstance(touch, bool):
        check.problems.append(f"target.touch_updated_at: expected true or false, got {touch!r}")
    elif touch and not target.updated_at_column:
        check.problems.append("target.touch_updated_at: needs target.updated_at_column (the column to set)")
    orphans = _orphan_policy(check, root, target)
    if target.table and len(BACKUP_PREFIX + target.table) > 64:
        check.problems.append(
            f"target.table: {target.table!r} is too long for its backup table {BACKUP_PREFIX + target.table!r} (64 max)"
        )
    if check.problems:
        raise SpecError(name, check.problems)
    return Spec(
        name=name,
        conn_id=conn_id,
        target=target,
        tenant_table=tenant_table,
        evidence=tuple(evidence),
        relations=tuple(relations),
        review_columns=tuple(review_columns),
        mask_in_review=mask,
        orphans=orphans,
    )


def _orphan_policy(check: _Checker, root: dict, target: Target) -> OrphanPolicy:
    """The spec's `orphans:` section, or the default: soft-delete when the target has a soft-delete column, else review."""
    if "orphans" not in root:
        if target.soft_delete_column:
            return OrphanPolicy("soft_delete", ((target.soft_delete_column, NOW),))
        return OrphanPolicy("review")
    o = check.mapping(root["orphans"], "orphans", "orphans")
    action = o.get("action")
    if "action" in o and action not in ORPHAN_ACTIONS:
        check.problems.append(f"orphans.action: {action!r} is not one of {', '.join(ORPHAN_ACTIONS)}")
    raw_set = o.get("set", {})
    if not isinstance(raw_set, dict):
        check.problems.append("orphans.set: expected a mapping of column -> value (`now` for the run's timestamp)")
        raw_set = {}
    values = []
    for column, value in raw_set.items():
        name = check.identifier(column, f"orphans.set.{column}")
        if isinstance(value, bool):
            value = int(value)
        if value is None or not isinstance(value, str | int | float):
            check.problems.append(f"orphans.set.{column}: {value!r} is not a value (a number, a string, or `now`)")
        elif name in (target.key, target.tenant_column):
            check.problems.append(f"orphans.set.{column}: an orphan keeps its key and its NULL tenant")
        elif target.touch_updated_at and name == target.updated_at_column:
            check.problems.append(f"orphans.set.{column}: touch_updated_at already sets it on every row a run writes")
        else:
            values.append((name, value))
    if action == "soft_delete":
        if not target.soft_delete_column:
            check.problems.append(
                "orphans.action: soft_delete needs target.soft_delete_column (how a deleted row is told apart)"
            )
        elif target.soft_delete_column not in dict(values):
            check.problems.append(
                f"orphans.set: soft_delete must set target.soft_delete_column {target.soft_delete_column!r}"
                " (`now`, for example), or the row would stay active"
            )
    elif action == "review" and raw_set:
        check.problems.append("orphans.set: only soft_delete sets columns; review leaves the row as it is")
    return OrphanPolicy(action if action in ORPHAN_ACTIONS else "review", tuple(values))


def specs_folder(specs_dir: Path = SPECS_DIR) -> Path:
    """The folder of the specs; a missing one is the installation's mistake, named with the variable that fixes it."""
    folder = Path(specs_dir)
    if not folder.is_dir():
        raise TenantIntegrityError(
            f"no spec folder {folder}: set TENANT_SPECS_DIR to the folder of your specs (one <name>.yaml per table)"
        )
    return folder


def spec_names(specs_dir: Path = SPECS_DIR) -> list[str]:
    """The specs a user can pick: the YAML files in include/specs ($TENANT_SPECS_DIR), by name."""
    return sorted(p.stem for p in specs_folder(specs_dir).glob("*.yaml"))


def load_spec(name: str, specs_dir: Path = SPECS_DIR) -> Spec:
    """Load and statically validate include/specs/<name>.yaml."""
    if not isinstance(name, str) or not SPEC_NAME.match(name):
        raise SpecError(str(name), [f"spec name {name!r} must match {SPEC_NAME.pattern}"])
    path = specs_folder(specs_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(spec_names(specs_dir)) or "none"
        raise SpecError(name, [f"no spec file {path} (known specs: {known})"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SpecError(name, [f"{path.name} is not valid YAML: {exc}"]) from exc
    spec = _build(name, raw)
    return Spec(**{**spec.__dict__, "path": path})


def parse_spec(name: str, text: str) -> Spec:
    """Validate spec text that is not (yet) a file: used by tests and the property checks."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(name, [f"not valid YAML: {exc}"]) from exc
    return _build(name, raw)


# --- live validation -------------------------------------------------------------------------


def _type_signature(col: dict) -> str:
    """The part of a column type that must agree for tenant values to compare and join exactly.

    Integers of any width and sign compare by value (Akaunting's contacts.company_id is a signed int,
    companies.id an unsigned one), so they are one family here; the foreign key that tenant_constraints
    adds needs the exact type, and checks it there.
    """
    if col["data_type"].lower() in INTEGER_TYPES:
        return "integer"
    return col["data_type"].lower()


def _key_type_problems(t: Target, key_col: dict) -> list[str]:
    data_type = key_col["data_type"].lower()
    if data_type in INTEGER_TYPES:
        return []
    where = f"target.key: {t.table}.{t.key} is {key_col['column_type']}"
    if data_type not in TEXT_KEY_TYPES:
        return [f"{where}; keyset chunking needs an integer, char or varchar key (docs/string-keys.md)"]
    length = re.search(r"\((\d+)\)", key_col["column_type"])
    if not length or int(length.group(1)) > TEXT_KEY_MAX_LENGTH:
        return [
            f"{where}; a string key may have at most {TEXT_KEY_MAX_LENGTH} characters (the bookkeeping key columns)"
        ]
    if not (IDENTIFIER.match(key_col.get("character_set") or "") and IDENTIFIER.match(key_col.get("collation") or "")):
        return [f"{where}; its character set or collation is unreadable"]
    return []


def target_key(spec: Spec, columns: dict[str, dict[str, dict]]) -> TargetKey:
    """The target key's kind as the live schema defines it (call after check_live_schema passed)."""
    col = columns[spec.target.table][spec.target.key]
    if col["data_type"].lower() in INTEGER_TYPES:
        return INTEGER_KEY
    return TargetKey(text=True, charset=col["character_set"], collation=col["collation"])


def check_live_schema(spec: Spec, columns: dict[str, dict[str, dict]], unique_keys: dict[str, set[str]]) -> None:
    """Check the spec against the database: every table and column exists, keys are usable.

    `columns` maps table -> column -> {data_type, column_type, is_nullable} as read from
    information_schema; `unique_keys` maps table -> the columns that alone form a unique index.
    Raises SpecError naming every problem.
    """
    problems: list[str] = []
    table_fields = [("target.table", spec.target.table), ("tenant_table.table", spec.tenant_table.table)]
    for i, e in enumerate(spec.evidence):
        table_fields.append((f"evidence[{i}] ({e.name}).{'parent.' if e.parent else ''}table", e.table))
        if e.through:
            table_fields.append((f"evidence[{i}] ({e.name}).through.table", e.through.table))
    table_fields += [(f"relations[{i}].table", r.table) for i, r in enumerate(spec.relations)]
    for where, table in table_fields:
        if table not in columns:
            problems.append(f"{where}: table {table!r} does not exist in the database")

    def need(table: str, column: str, where: str) -> dict | None:
        if table not in columns:
            return None  # reported once above, under the field that names the table
        if column not in columns[table]:
            problems.append(f"{where}: column {table}.{column} does not exist")
            return None
        return columns[table][column]

    t = spec.target
    key_col = need(t.table, t.key, "target.key")
    tenant_col = need(t.table, t.tenant_column, "target.tenant_column")
    if t.soft_delete_column:
        need(t.table, t.soft_delete_column, "target.soft_delete_column")
    for column in spec.orphans.columns:
        need(t.table, column, f"orphans.set.{column}")
    if t.created_at_column:
        need(t.table, t.created_at_column, "target.created_at_column")
    if t.updated_at_column:
        need(t.table, t.updated_at_column, "target.updated_at_column")
    for i, column in enumerate(spec.review_columns):
        need(t.table, column, f"review_columns[{i}]")
    if key_col:
        problems += _key_type_problems(t, key_col)
    if key_col and t.key not in unique_keys.get(t.table, set()):
        problems.append(f"target.key: {t.table}.{t.key} is not a primary key or unique index")
    for reserved in BACKUP_COLUMNS:
        if t.table in columns and reserved in columns[t.table]:
            problems.append(
                f"target.table: column {t.table}.{reserved} collides with the backup table's bookkeeping column"
            )

    tenant_key = need(spec.tenant_table.table, spec.tenant_table.key, "tenant_table.key")
    if tenant_key and spec.tenant_table.key not in unique_keys.get(spec.tenant_table.table, set()):
        problems.append(
            f"tenant_table.key: {spec.tenant_table.table}.{spec.tenant_table.key} is not a primary key or unique index"
        )
    expected = _type_signature(tenant_key) if tenant_key else None

    def same_type(col: dict | None, where: str, label: str) -> None:
        if col and expected and _type_signature(col) != expected:
            problems.append(
                f"{where}: {label} is {col['column_type']} but the tenant key "
                f"{spec.tenant_table.table}.{spec.tenant_table.key} is {tenant_key['column_type']}"
            )

    same_type(tenant_col, "target.tenant_column", f"{t.table}.{t.tenant_column}")
    for i, e in enumerate(spec.evidence):
        where = f"evidence[{i}] ({e.name})"
        if e.parent:
            need(t.table, e.parent.foreign_key, f"{where}.parent.foreign_key")
            need(e.parent.table, e.parent.key, f"{where}.parent.key")
            col = need(e.parent.table, e.parent.tenant_column, f"{where}.parent.tenant_column")
            same_type(col, f"{where}.parent.tenant_column", f"{e.parent.table}.{e.parent.tenant_column}")
            continue
        need(e.table, e.foreign_key, f"{where}.foreign_key")
        if e.through:
            need(e.table, e.through.column, f"{where}.through.column")
            need(e.through.table, e.through.match_column, f"{where}.through.match_column")
            col = need(e.through.table, e.through.tenant_column, f"{where}.through.tenant_column")
            same_type(col, f"{where}.through.tenant_column", f"{e.through.table}.{e.through.tenant_column}")
        else:
            col = need(e.table, e.tenant_column, f"{where}.tenant_column")
            same_type(col, f"{where}.tenant_column", f"{e.table}.{e.tenant_column}")
    for i, r in enumerate(spec.relations):
        need(r.table, r.foreign_key, f"relations[{i}].foreign_key")
        col = need(r.table, r.tenant_column, f"relations[{i}].tenant_column")
        same_type(col, f"relations[{i}].tenant_column", f"{r.table}.{r.tenant_column}")
    if problems:
        raise SpecError(spec.name, problems)


def referenced_tables(spec: Spec) -> list[str]:
    """Every table the spec names, target first."""
    tables = [spec.target.table, spec.tenant_table.table]
    for e in spec.evidence:
        tables.append(e.table)
        if e.through:
            tables.append(e.through.table)
    tables.extend(r.table for r in spec.relations)
    return list(dict.fromkeys(tables))
