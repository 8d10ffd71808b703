"""The tenant key across a whole schema (issue 13): discovery, the policy check, the graph audit.

`discover` reads information_schema once: every base table carrying the tenant column, its NULL rows
(active / soft-deleted), NOT NULL, its foreign key to the tenant table, and the foreign-key edges
between tenant tables, declared or, where none is declared, by Laravel/Rails naming
(`customer_id -> customers.id`, `category_id -> categories.id`, only when that table and its `id` exist).
From the edges it proposes evidence for a backfill spec: a `parent` source per edge from the table to
another tenant table, a direct source per tenant table pointing at it (child rows); `write_proposals`
writes them as spec files for a person to review (never into include/specs).

`check_policy` is the guard (modelled on GitLab's sharding_key_spec.rb): every tenant table has no NULL
rows, NOT NULL and a declared foreign key to the tenant table, unless include/registry.yaml exempts it;
an exemption that is no longer needed, or names no tenant table, fails too (the list may only shrink).

`audit_edges` counts, per edge between two tenant tables, the child rows whose tenant differs from their
parent row's tenant (both known), for the daily validation.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from tenant_integrity.core import settings
from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.paths import INCLUDE_DIR, SPECS_DIR
from tenant_integrity.core.spec import BACKUP_PREFIX, IDENTIFIER, SPEC_NAME, Evidence, Parent, Relation
from tenant_integrity.store import sql
from tenant_integrity.store.bookkeeping import ARCHIVE_PREFIX, PROJECT_TABLES
from tenant_integrity.store.db import Database, DbTarget

REGISTRY_PATH = INCLUDE_DIR / "registry.yaml"
SOFT_DELETE_COLUMN = "deleted_at"
TEXT_KEY_TYPES = ("char", "varchar")  # the text keys a spec accepts (spec.TargetKey)
CREATED_AT_COLUMN = "created_at"
UPDATED_AT_COLUMN = "updated_at"
NAMING_KEY = "id"  # the key a Laravel/Rails `<singular>_id` column points at
MISMATCH_SAMPLE = 20
CONN_ID = settings.TENANT_CONN_ID
BOOKKEEPING_PREFIXES = (BACKUP_PREFIX, ARCHIVE_PREFIX)  # per-table backups and archives

OK, NEEDS_BACKFILL, NEEDS_REVIEW, NEEDS_ARCHIVE, NEEDS_CONSTRAINT, EXEMPT = (
    "ok",
    "needs_backfill",
    "needs_review",
    "needs_archive",
    "needs_constraint",
    "exempt",
)
_IRREGULAR_PLURALS = {"person": "people", "child": "children", "man": "men", "woman": "women"}


class DiscoveryError(TenantIntegrityError):
    """Bad input for discovery or the policy check: an unknown tenant table, a refused folder (exit 2)."""


class RegistryError(TenantIntegrityError):
    """include/registry.yaml (or --registry) is not a valid registry: names the file and each bad entry."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"registry {path} is invalid ({len(problems)} problem(s)):\n{listing}")


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignKeyEdge:
    """`table.column -> parent_table.parent_column`: declared (a foreign key constraint) or by naming."""

    table: str
    column: str
    parent_table: str
    parent_column: str
    declared: bool
    constraint: str | None = None  # the declared foreign key's name

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column} → {self.parent_table}.{self.parent_column}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class NullRows:
    active: int
    soft_deleted: int
    in_review: int = 0  # active rows among them with an open review row of a run: a person's to decide

    @property
    def total(self) -> int:
        return self.active + self.soft_deleted

    def __str__(self) -> str:
        review = f", {self.in_review} in review" if self.in_review else ""
        return f"{self.total} ({self.active}/{self.soft_deleted}{review})"


@dataclass(frozen=True)
class ProposedEvidence:
    """One evidence source discovery proposes, with the edge it comes from.

    `kind` is "parent" (the table's own column names a row of another tenant table) or "child"
    (rows of another tenant table name this table's key).
    """

    kind: str
    evidence: Evidence
    edge: ForeignKeyEdge

    def __str__(self) -> str:
        naming = "" if self.edge.declared else " (naming)"
        if self.kind == "parent":
            return f"parent {self.edge.column} → {self.edge.parent_table}.{self.edge.parent_column}{naming}"
        return f"child {self.edge.table}.{self.edge.column}{naming}"


@dataclass(frozen=True)
class DiscoveredTable:
    """A base table carrying the tenant column, as the database says it is now."""

    table: str
    key: str | None  # its single-column primary key; None: none (no spec can be proposed)
    tenant_column: str
    tenant_reference: str  # "companies.id": what the tenant column must reference
    nullable: bool
    null_rows: NullRows
    tenant_foreign_key: ForeignKeyEdge | None  # declared, or suggested by naming (declared=False)
    soft_delete_column: str | None
    created_at_column: str | None
    updated_at_column: str | None
    evidence: tuple[ProposedEvidence, ...]
    relations: tuple[Relation, ...]
    review_columns: tuple[str, ...]
    exempt: bool = False

    @property
    def fk_declared(self) -> bool:
        return self.tenant_foreign_key is not None and self.tenant_foreign_key.declared

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the table fails the policy (whether or not it is exempt); empty when it passes."""
        found = []
        if self.null_rows.total:
            found.append(
                f"{self.null_rows.total} row(s) with a NULL {self.tenant_column}"
                f" ({self.null_rows.active} active, {self.null_rows.soft_deleted} soft-deleted)"
            )
        if self.nullable:
            found.append(f"{self.tenant_column} is NULL-able (no NOT NULL constraint)")
        if not self.fk_declared:
            hint = " (the column's name suggests one: declare it)" if self.tenant_foreign_key else ""
            found.append(f"no declared foreign key {self.table}.{self.tenant_column} → {self.tenant_reference}{hint}")
        return tuple(found)

    @property
    def status(self) -> str:
        if self.exempt:
            return EXEMPT
        # the next step for the NULL rows left: a backfill, a person's decision, tenant_constraints' archive
        if self.null_rows.active > self.null_rows.in_review:
            return NEEDS_BACKFILL
        if self.null_rows.active:
            return NEEDS_REVIEW
        if self.null_rows.soft_deleted:
            return NEEDS_ARCHIVE
        if self.nullable or not self.fk_declared:
            return NEEDS_CONSTRAINT
        return OK


@dataclass(frozen=True)
class Discovery:
    database: str
    tenant_column: str
    tenant_table: str
    tenant_key: str
    tables: tuple[DiscoveredTable, ...]  # by name
    edges: tuple[ForeignKeyEdge, ...]  # between two tenant tables (self-references included), by child table
    base_tables: frozenset[str]  # every base table of the database
    unchecked: tuple[str, ...] = ()  # tables with the tenant column whose name no statement may carry

    def table(self, name: str) -> DiscoveredTable:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(f"{name!r} is not a tenant table of {self.database}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.tables)


@dataclass(frozen=True)
class EdgeMismatch:
    """Child rows of an edge whose tenant differs from their parent row's tenant (both non-NULL)."""

    edge: ForeignKeyEdge
    count: int
    child_ids: tuple  # the first MISMATCH_SAMPLE child keys, ascending

    @property
    def name(self) -> str:
        return self.edge.name

    def __str__(self) -> str:
        return f"{self.edge.name}: {self.count} row(s) (child ids: {', '.join(map(str, self.child_ids))})"


@dataclass(frozen=True)
class Exemption:
    table: str
    reason: str
    link: str


@dataclass(frozen=True)
class Registry:
    path: Path | None
    tenant_column: str | None = None
    tenant_table: str | None = None
    exemptions: tuple[Exemption, ...] = ()

    @property
    def exempt_tables(self) -> frozenset[str]:
        return frozenset(e.table for e in self.exemptions)


@dataclass(frozen=True)
class PolicyFailure:
    table: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table}: {self.reason}"


# --- discovery -------------------------------------------------------------------------------


def pluralize(word: str) -> str:
    """Laravel/Rails' table name for a model: category -> categories, address -> addresses, customer -> customers."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[last]
    if re.search(r"[^aeiou]y$", last):
        return prefix + last[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", last):
        return prefix + last + "es"
    return prefix + last + "s"


def naming_parent(column: str, columns: dict[str, dict[str, dict]]) -> str | None:
    """The table a `<singular>_id` column names by convention, if that table and its `id` exist."""
    if not column.endswith("_id") or len(column) <= 3:
        return None
    singular = column[:-3]
    for candidate in dict.fromkeys((pluralize(singular), f"{singular}s")):
        if NAMING_KEY in columns.get(candidate, {}):
            return candidate
    return None


def is_project_table(table: str) -> bool:
    """A table this project created (bookkeeping, backup, archive): never one of the application's tenant tables."""
    return table in PROJECT_TABLES or table.startswith(BOOKKEEPING_PREFIXES)


def discover(
    target: DbTarget, tenant_column: str, tenant_table: str, exempt: frozenset[str] = frozenset()
) -> Discovery:
    """Read the tenant tables, their NULL rows and the edges between them (read-only)."""
    with target.connect() as db, db.transaction(read_only=True):
        return discover_in(db, tenant_column, tenant_table, exempt)


def discover_in(db: Database, tenant_column: str, tenant_table: str, exempt: frozenset[str] = frozenset()) -> Discovery:
    for label, name in (("tenant column", tenant_column), ("tenant table", tenant_table)):
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            raise DiscoveryError(f"{label} {name!r} is not an identifier (must match {IDENTIFIER.pattern})")
    database = db.target.database
    columns: dict[str, dict[str, dict]] = {}
    for row in db.rows(sql.render("discovery/columns.sql")):
        columns.setdefault(row["table_name"], {})[row["column_name"]] = row
    primary_keys = {r["table_name"]: r["column_name"] for r in db.rows(sql.render("discovery/primary_keys.sql"))}
    if tenant_table not in columns:
        raise DiscoveryError(f"tenant table {tenant_table!r} is not a base table of database {database!r}")
    tenant_key = primary_keys.get(tenant_table)
    if tenant_key is None:
        raise DiscoveryError(f"tenant table {tenant_table!r} has no single-column primary key")
    carrying = sorted(t for t, cols in columns.items() if tenant_column in cols and t != tenant_table)
    carrying = [t for t in carrying if not is_project_table(t)]
    if not carrying:
        raise DiscoveryError(f"no base table of database {database!r} has a column {tenant_column!r}")
    names = [t for t in carrying if IDENTIFIER.match(t)]
    tenant_set = set(names)
    declared = _declared_edges(db.rows(sql.render("discovery/foreign_keys.sql")))

    edges: list[ForeignKeyEdge] = []
    tenant_fks: dict[str, ForeignKeyEdge | None] = {}
    for table in names:
        fk = next(
            (
                e
                for e in declared.get((table, tenant_column), ())
                if (e.parent_table, e.parent_column) == (tenant_table, tenant_key)
            ),
            None,
        )
        if fk is None and naming_parent(tenant_column, columns) == tenant_table and tenant_key == NAMING_KEY:
            fk = ForeignKeyEdge(table, tenant_column, tenant_table, tenant_key, declared=False)
        tenant_fks[table] = fk
        for column in columns[table]:
            if column == tenant_column or not IDENTIFIER.match(column):
                continue
            if (table, column) in declared:
                edges += [e for e in declared[(table, column)] if e.parent_table in tenant_set]
            elif (parent := naming_parent(column, columns)) in tenant_set:
                edges.append(ForeignKeyEdge(table, column, parent, NAMING_KEY, declared=False))

    tables = []
    for table in names:
        cols = columns[table]
        key = primary_keys.get(table)
        soft_delete = SOFT_DELETE_COLUMN if SOFT_DELETE_COLUMN in cols else None
        counted = db.rows(
            sql.render(
                "discovery/null_rows.sql",
                table=sql.quote(table),
                tenant=sql.quote(tenant_column),
                soft_delete=sql.quote(soft_delete) if soft_delete else None,
                review_queue="tenant_review_queue" in columns,
                key=sql.quote(key) if key else None,
                text_key=bool(key) and cols[key]["data_type"] in TEXT_KEY_TYPES,
            ),
            {"table_name": table},
        )[0]
        soft_deleted = int(counted["soft_deleted"] or 0)
        evidence, relations = _proposed_evidence(table, key, tenant_column, edges)
        tables.append(
            DiscoveredTable(
                table=table,
                key=key,
                tenant_column=tenant_column,
                tenant_reference=f"{tenant_table}.{tenant_key}",
                nullable=cols[tenant_column]["is_nullable"] == "YES",
                null_rows=NullRows(int(counted["null_rows"]) - soft_deleted, soft_deleted, int(counted["in_review"])),
                tenant_foreign_key=tenant_fks[table],
                soft_delete_column=soft_delete,
                created_at_column=CREATED_AT_COLUMN if CREATED_AT_COLUMN in cols else None,
                updated_at_column=UPDATED_AT_COLUMN if UPDATED_AT_COLUMN in cols else None,
                evidence=evidence,
                relations=relations,
                review_columns=_review_columns(cols, key, tenant_column, soft_delete),
                exempt=table in exempt,
            )
        )
    return Discovery(
        database=database,
        tenant_column=tenant_column,
        tenant_table=tenant_table,
        tenant_key=tenant_key,
        tables=tuple(tables),
        edges=tuple(edges),
        base_tables=frozenset(columns),
        unchecked=tuple(t for t in carrying if t not in tenant_set),
    )


def _declared_edges(rows: list[dict]) -> dict[tuple[str, str], list[ForeignKeyEdge]]:
    """(table, column) -> its declared foreign keys; each column of a composite key is an edge of its own."""
    found: dict[tuple[str, str], list[ForeignKeyEdge]] = {}
    for r in rows:
        if not (IDENTIFIER.match(r["referenced_table_name"]) and IDENTIFIER.match(r["referenced_column_name"])):
            continue
        edge = ForeignKeyEdge(
            table=r["table_name"],
            column=r["column_name"],
            parent_table=r["referenced_table_name"],
            parent_column=r["referenced_column_name"],
            declared=True,
            constraint=r["constraint_name"],
        )
        found.setdefault((edge.table, edge.column), []).append(edge)
    return found


def _proposed_evidence(
    table: str, key: str | None, tenant_column: str, edges: list[ForeignKeyEdge]
) -> tuple[tuple[ProposedEvidence, ...], tuple[Relation, ...]]:
    """Parent sources first (the row's own references), then child rows that name this table's key.

    A self-reference proposes nothing: its parent row is a row of the same table, which may be NULL too.
    """
    proposed: list[ProposedEvidence] = []
    used: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 2
        while candidate in used:
            candidate, n = f"{name}_{n}", n + 1
        used.add(candidate)
        return candidate

    for e in edges:
        if e.table == table and e.parent_table != table:
            parent = Parent(e.column, e.parent_table, e.parent_column, tenant_column)
            name = unique(e.column[:-3] if e.column.endswith("_id") and len(e.column) > 3 else e.column)
            evidence = Evidence(name, e.parent_table, e.column, tenant_column, parent=parent)
            proposed.append(ProposedEvidence("parent", evidence, e))
    children = sorted(
        (e for e in edges if e.parent_table == table and e.table != table and key and e.parent_column == key),
        key=lambda e: (e.table, e.column),
    )
    for e in children:
        name = unique(e.table if sum(c.table == e.table for c in children) == 1 else f"{e.table}_{e.column}")
        proposed.append(ProposedEvidence("child", Evidence(name, e.table, e.column, tenant_column), e))
    relations = tuple(Relation(e.table, e.column, tenant_column) for e in children)
    return tuple(proposed), relations


def _review_columns(cols: dict[str, dict], key: str | None, tenant: str, soft_delete: str | None) -> tuple[str, ...]:
    """What a reviewer sees: the first three other columns of the table, then created_at."""
    skip = {key, tenant, soft_delete, CREATED_AT_COLUMN, UPDATED_AT_COLUMN}
    chosen = [c for c in cols if c not in skip and IDENTIFIER.match(c)][:3]
    if CREATED_AT_COLUMN in cols:
        chosen.append(CREATED_AT_COLUMN)
    return tuple(chosen or ([key] if key else []))


# --- proposals -------------------------------------------------------------------------------


def spec_name(table: DiscoveredTable) -> str:
    """customers + company_id -> customers_company (the name include/specs uses)."""
    column = table.tenant_column
    tenant = column[:-3] if column.endswith("_id") and len(column) > 3 else column
    return f"{table.table}_{tenant}".lower()


def proposal(table: DiscoveredTable, discovery: Discovery, conn_id: str = CONN_ID) -> dict:
    """The spec (as YAML data) discovery proposes for a table with NULL rows."""
    target = {"table": table.table, "key": table.key, "tenant_column": table.tenant_column}
    for field_name, column in (
        ("soft_delete_column", table.soft_delete_column),
        ("created_at_column", table.created_at_column),
        ("updated_at_column", table.updated_at_column),
    ):
        if column:
            target[field_name] = column
    evidence = []
    for p in table.evidence:
        e = p.evidence
        if e.parent:
            evidence.append(
                {
                    "name": e.name,
                    "parent": {
                        "foreign_key": e.parent.foreign_key,
                        "table": e.parent.table,
                        "key": e.parent.key,
                        "tenant_column": e.parent.tenant_column,
                    },
                }
            )
        else:
            evidence.append(
                {"name": e.name, "table": e.table, "foreign_key": e.foreign_key, "tenant_column": e.tenant_column}
            )
    spec = {
        "conn_id": conn_id,
        "target": target,
        "tenant_table": {"table": discovery.tenant_table, "key": discovery.tenant_key},
        "evidence": evidence,
    }
    if table.relations:
        spec["relations"] = [
            {"table": r.table, "foreign_key": r.foreign_key, "tenant_column": r.tenant_column} for r in table.relations
        ]
    # a proposal never soft-deletes on its own: a person decides what an orphan is
    spec["orphans"] = {"action": "review"}
    spec["review_columns"] = list(table.review_columns)
    return spec


def _proposal_text(table: DiscoveredTable, discovery: Discovery) -> str:
    n = table.null_rows
    header = [
        f"# Proposed by `python -m tenant_integrity discover` from database {discovery.database}:",
        f"# {table.table}.{table.tenant_column} has {n.total} NULL row(s) ({n.active} active, {n.soft_deleted} soft-deleted).",
        "# A proposal, not a reviewed spec: check each evidence source and its priority (parents first, then",
        "# child rows), and the orphan policy, then copy it into include/specs yourself.",
        "# Evidence sources and the edges they come from:",
    ]
    for p in table.evidence:
        basis = f"declared foreign key {p.edge.constraint}" if p.edge.declared else "by naming, no declared foreign key"
        header.append(f"#   {p.evidence.name}: {p.edge.name} ({basis})")
    body = yaml.safe_dump(proposal(table, discovery), sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "\n".join(header) + "\n" + body


def refuse_specs_dir(directory: Path) -> None:
    """Discovery proposes; a person decides what goes into include/specs."""
    resolved = Path(directory).resolve()
    for specs in {(INCLUDE_DIR / "specs").resolve(), Path(SPECS_DIR).resolve()}:
        if resolved == specs or specs in resolved.parents:
            raise DiscoveryError(
                f"{directory}: discovery never writes into include/specs; review the proposals and copy them yourself"
            )


def write_proposals(discovery: Discovery, directory: Path) -> tuple[list[Path], list[str]]:
    """One proposed spec per table needing a backfill (exempt tables left out): (files written, tables skipped with why)."""
    directory = Path(directory)
    refuse_specs_dir(directory)
    written, skipped = [], []
    for table in discovery.tables:
        if table.status != NEEDS_BACKFILL:
            continue
        name = spec_name(table)
        if table.key is None:
            skipped.append(f"{table.table}: no single-column primary key; write its spec by hand")
        elif not table.evidence:
            skipped.append(f"{table.table}: no foreign key to or from another tenant table; no evidence to propose")
        elif not SPEC_NAME.match(name):
            skipped.append(f"{table.table}: {name!r} is not a spec name (must match {SPEC_NAME.pattern})")
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}.yaml"
            path.write_text(_proposal_text(table, discovery), encoding="utf-8")
            written.append(path)
    return written, skipped


# --- the policy check ------------------------------------------------------------------------

_REGISTRY_KEYS = {"tenant_column", "tenant_table", "exemptions"}
_EXEMPTION_KEYS = {"table", "reason", "link"}


def load_registry(path: Path = REGISTRY_PATH, required: bool = False) -> Registry:
    """Read and validate the registry; a missing default file is an empty registry."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise RegistryError(path, ["no such file"])
        return Registry(path=None)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RegistryError(path, [f"not valid YAML: {exc}"]) from exc
    if raw is None:
        return Registry(path=path)
    if not isinstance(raw, dict):
        raise RegistryError(path, [f"expected a mapping at the top, got {type(raw).__name__}"])
    problems = [
        f"{key}: unknown key (allowed: {', '.join(sorted(_REGISTRY_KEYS))})"
        for key in sorted(set(raw) - _REGISTRY_KEYS, key=str)
    ]
    defaults = {}
    for key in ("tenant_column", "tenant_table"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and IDENTIFIER.match(value)):
            problems.append(f"{key}: {value!r} is not an identifier (must match {IDENTIFIER.pattern})")
        defaults[key] = value if isinstance(value, str) else None
    raw_exemptions = raw.get("exemptions") or []
    if not isinstance(raw_exemptions, list):
        problems.append("exemptions: expected a list of {table, reason, link}")
        raw_exemptions = []
    exemptions, seen = [], set()
    for i, item in enumerate(raw_exemptions):
        where = f"exemptions[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping {{table, reason, link}}, got {item!r}")
            continue
        table = item.get("table")
        if isinstance(table, str):
            where = f"{where} ({table})"
        entry = []
        for key in sorted(set(item) - _EXEMPTION_KEYS, key=str):
            entry.append(f"{where}.{key}: unknown key (allowed: link, reason, table)")
        for key in sorted(_EXEMPTION_KEYS):
            value = item.get(key)
            if key not in item:
                entry.append(f"{where}.{key}: required key is missing")
            elif not isinstance(value, str) or not value.strip():
                entry.append(f"{where}.{key}: expected a non-empty string, got {value!r}")
        if isinstance(table, str) and not IDENTIFIER.match(table):
            entry.append(f"{where}.table: {table!r} is not a table name (must match {IDENTIFIER.pattern})")
        elif isinstance(table, str) and table in seen:
            entry.append(f"{where}.table: {table!r} is exempted more than once")
        problems += entry
        if not entry:
            seen.add(table)
            exemptions.append(Exemption(table, item["reason"].strip(), item["link"].strip()))
    if problems:
        raise RegistryError(path, problems)
    return Registry(path, defaults["tenant_column"], defaults["tenant_table"], tuple(exemptions))


def check_policy(discovery: Discovery, registry: Registry) -> list[PolicyFailure]:
    """Every failing table with why, every exemption no longer needed or naming no tenant table."""
    where = registry.path or "the registry"
    failures = []
    exempt = registry.exempt_tables
    for table in discovery.tables:
        problems = table.problems
        if table.table not in exempt:
            failures += [PolicyFailure(table.table, p) for p in problems]
        elif not problems:
            failures.append(
                PolicyFailure(
                    table.table, f"exempt in {where} but passes now: remove its exemption (the list may only shrink)"
                )
            )
    for table in discovery.unchecked:
        failures.append(PolicyFailure(table, "its name is not a plain identifier; no statement here may name it"))
    for e in registry.exemptions:
        if e.table in discovery.names:
            continue
        if e.table not in discovery.base_tables:
            reason = f"exempt in {where} but no such table exists in database {discovery.database}"
        else:
            reason = f"exempt in {where} but has no column {discovery.tenant_column} (not a tenant table)"
        failures.append(PolicyFailure(e.table, f"{reason}: remove its exemption"))
    return failures


# --- the graph audit -------------------------------------------------------------------------


def audit_edges(target: DbTarget, discovery: Discovery, sample: int = MISMATCH_SAMPLE) -> list[EdgeMismatch]:
    """Per edge between two tenant tables: the child rows whose tenant differs from their parent's (both known)."""
    keys = {t.table: t.key for t in discovery.tables}
    tenant = sql.quote(discovery.tenant_column)
    found = []
    with target.connect() as db, db.transaction(read_only=True):
        for edge in discovery.edges:
            child_key = keys.get(edge.table)
            statement = sql.render(
                "discovery/edge_mismatches.sql",
                child=sql.quote(edge.table),
                child_key=sql.quote(child_key) if child_key else None,
                child_tenant=tenant,
                foreign_key=sql.quote(edge.column),
                parent=sql.quote(edge.parent_table),
                parent_key=sql.quote(edge.parent_column),
                parent_tenant=tenant,
            )
            rows = db.rows(statement, {"sample": sample})
            if rows:
                ids = tuple(r["child_id"] for r in rows if r["child_id"] is not None)
                found.append(EdgeMismatch(edge, int(rows[0]["mismatches"]), ids))
    return found


# --- the command line ------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--tenant-column", help="default: tenant_column in the registry")
    parser.add_argument("--tenant-table", help="default: tenant_table in the registry")
    parser.add_argument("--url", help="mysql://user:pw@host:3306/db (default: $AIRFLOW_CONN_TENANT_DB)")
    parser.add_argument("--registry", type=Path, help=f"exemptions (default: {REGISTRY_PATH})")
    if command == "discover":
        parser.add_argument("--write", type=Path, metavar="DIR", help="write a proposed spec per table to backfill")


def run_cli(args: argparse.Namespace, url: str | None) -> int:
    """`discover` / `check`: 0 done (check: all pass), 1 check failed, 2 bad input."""
    import MySQLdb

    try:
        registry = load_registry(args.registry or REGISTRY_PATH, required=args.registry is not None)
        tenant_column = args.tenant_column or registry.tenant_column
        tenant_table = args.tenant_table or registry.tenant_table
        if not (tenant_column and tenant_table):
            raise DiscoveryError(
                "name --tenant-column and --tenant-table (or tenant_column/tenant_table in the registry)"
            )
        if getattr(args, "write", None) is not None:
            refuse_specs_dir(args.write)
        url = args.url or url
        if not url:
            raise DiscoveryError("give --url or set AIRFLOW_CONN_TENANT_DB (mysql://user:pw@host:3306/db)")
        try:
            target = DbTarget.from_url(url)
        except ValueError as exc:
            raise DiscoveryError(str(exc)) from exc
        found = discover(target, tenant_column, tenant_table, registry.exempt_tables)
    except (TenantIntegrityError, MySQLdb.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        failures = check_policy(found, registry)
        for f in failures:
            print(f"FAIL {f}")
        failing = sorted({f.table for f in failures})
        print(
            f"{len(found.tables)} tenant table(s) with {found.tenant_column} in {found.database}:"
            f" {len(failing)} failing{' (' + ', '.join(failing) + ')' if failing else ''},"
            f" {len(registry.exemptions)} exemption(s)"
        )
        return 1 if failures else 0
    print(format_discovery(found))
    if args.write is not None:
        written, skipped = write_proposals(found, args.write)
        for path in written:
            print(f"wrote {path}")
        for reason in skipped:
            print(f"not written: {reason}")
    return 0


def format_discovery(discovery: Discovery) -> str:
    """One row per tenant table, then the edges between tenant tables."""
    header = (
        "table",
        "nullable",
        "NULL rows (active/soft-deleted)",
        f"FK to {discovery.tenant_table}.{discovery.tenant_key}",
        "status",
        "proposed evidence",
    )
    rows = [header]
    for t in discovery.tables:
        fk = t.tenant_foreign_key
        fk_text = f"declared ({fk.constraint})" if fk and fk.declared else ("naming only" if fk else "none")
        rows.append(
            (
                t.table,
                "yes" if t.nullable else "no",
                str(t.null_rows),
                fk_text,
                t.status,
                "; ".join(str(p) for p in t.evidence) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    lines = [
        f"tenant column {discovery.tenant_column} → {discovery.tenant_table}.{discovery.tenant_key}"
        f" in {discovery.database}: {len(discovery.tables)} tenant table(s)",
        "",
    ]
    lines += ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip() for r in rows]
    lines += ["", "foreign keys between tenant tables:"]
    for e in discovery.edges:
        lines.append(f"  {e.name}  ({f'declared {e.constraint}' if e.declared else 'naming'})")
    if not discovery.edges:
        lines.append("  none")
    if discovery.unchecked:
        lines += ["", f"not checked (names no statement may carry): {', '.join(discovery.unchecked)}"]
    return "\n".join(lines)
